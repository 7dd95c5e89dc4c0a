// Restarts while provisioning: labels, bgp and vpn as separate processes of
// the built binary, with a soft-driver agent process for each of four PEs, on a
// database and a Redis prefix of this run's own. About 200 sites go in
// through the REST API while each service in turn is SIGKILLed and
// restarted, an agent too, and the vpn service is once SIGTERMed. Then
// everything must converge: every resource active, every node's stored
// desired state what its intent gives, every agent on the stored generation,
// no label, RD or RT given twice or left behind, no job lost.
// Addresses: 127.0.32.0/24 (one address per process, fixed ports, so a
// restarted process comes back where the others look for it). The
// processes' logs end up in $TMPDIR/l3vpn-e2e-restarts.log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import pg from 'pg';
import { AllocationState, LabelKind } from '../../services/common/gen/proto/l3vpn/v1/labels.js';
import { RECONCILE_QUEUE, redisConnection } from '../../services/vpn/reconcile/queue.js';
import { labelsClient, type LabelsClient } from '../support/labels.js';
import { createTestDatabase, testRedis, type TestDatabase } from '../support/services.js';
import { eventually } from '../support/eventually.js';
import { agentProcess, bgpProcess, labelsProcess, type ServiceProcess, vpnProcess } from '../support/service-process.js';

const NET = '127.0.32';
const LABELS = `${NET}.1:50061`;
const BGP_GRPC = `${NET}.2:50062`;
const VPN_HTTP = `${NET}.3:8080`;
const VPN_GRPC = `${NET}.3:50063`;
const PES = ['pe1', 'pe2', 'pe3', 'pe4'];
const VPNS = Array.from({ length: 10 }, (_, i) => `v${i}`);
const SITES = 200;

/** Paces the portal and the outages (the load this test makes), never a wait for a result: those use eventually(). */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Reply {
  status: number;
  body: any;
}

/** The REST API as a portal would use it: retries while the service is away, Idempotency-Key on creates. */
class Api {
  constructor(private readonly token: string) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await fetch(`http://${VPN_HTTP}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Idempotency-Keys still "in use" long after the vpn service answered again: their first request died with its process. */
  readonly stuckKeys = new Set<string>();

  /**
   * Creates `body` under `collection`, however often the vpn service goes
   * away meanwhile: the same Idempotency-Key on every retry; a key that
   * stays "in use" for ~10 s of answers is given up (noted in stuckKeys),
   * and the client-chosen id alone keeps the create from happening twice.
   */
  async create(collection: string, body: { id: string; [field: string]: unknown }): Promise<void> {
    let last = 'no answer';
    let inUse = 0;
    const key = `create-${body.id}`;
    await eventually(
      `${collection}/${body.id} to be created`,
      async () => {
        let reply: Reply;
        try {
          reply = await this.call('POST', `/v1/${collection}`, body, this.stuckKeys.has(key) ? {} : { 'idempotency-key': key });
          if (reply.status === 409 && reply.body?.type === '/problems/idempotency-key-in-use' && ++inUse >= 40) this.stuckKeys.add(key);
        } catch (err) {
          last = (err as Error).message;
          return false; // the service is down: try again
        }
        last = `${reply.status} ${JSON.stringify(reply.body)}`;
        if (reply.status === 201) return true;
        // Taken (a create that committed before the process died, or its key
        // still marked running): the resource must now exist.
        if (reply.status === 409) return (await this.call('GET', `/v1/${collection}/${body.id}`)).status === 200;
        if (reply.status >= 500) return false;
        throw new Error(`POST /v1/${collection} ${body.id}: ${last}`);
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${last}`);
    });
  }

  async list(collection: string): Promise<any[]> {
    const items: any[] = [];
    let path = `/v1/${collection}?limit=500`;
    for (;;) {
      const reply = await this.call('GET', path);
      assert.equal(reply.status, 200, `GET ${path}: ${JSON.stringify(reply.body)}`);
      items.push(...reply.body.items);
      if (!reply.body.next) return items;
      path = `/v1/${collection}?limit=500&cursor=${encodeURIComponent(reply.body.next)}`;
    }
  }
}

const node = (id: string, n: number, role: 'PE' | 'P') => ({
  id,
  role,
  routerId: `10.255.0.${n}`,
  asNumber: 65000,
  nodeSidIndex: n,
});
const link = (pe: string, n: number) => ({
  id: `${pe}-p1`,
  a: { node: pe, interface: 'core0', address: `10.254.${n}.0/31` },
  b: { node: 'p1', interface: `core-${pe}`, address: `10.254.${n}.1/31` },
  igpMetric: 10,
});
/** Site i: on PE i mod 4, in VPN i mod 10, its own VLAN on that PE and its own subnet. */
const site = (i: number) => ({
  id: `s${i}`,
  vpn: VPNS[i % VPNS.length]!,
  node: PES[i % PES.length]!,
  interface: 'cust0',
  vlan: 100 + Math.floor(i / PES.length),
  ipv4: { peAddress: `172.16.${i}.1/30`, ceAddress: `172.16.${i}.2` },
  routing: { static: [{ prefix: `10.${i}.0.0/16` }] },
});

let db: TestDatabase;
let redis: { url: string; prefix: string };
let stateDir: string;
let labels: ServiceProcess;
let bgp: ServiceProcess;
let vpn: ServiceProcess;
const agents = new Map<string, ServiceProcess>();
let api: Api;
let labelsApi: LabelsClient;
let sql: pg.Client;
let queue: Queue;
let queueConnection: ReturnType<typeof redisConnection> | undefined;
const nodes = [...PES.map((id, i) => node(id, i + 1, 'PE')), node('p1', 11, 'P')];

const allProcesses = () => [vpn, bgp, labels, ...agents.values()].filter(Boolean);

before(async () => {
  db = await createTestDatabase('e2e_restarts');
  redis = await testRedis();
  stateDir = mkdtempSync(join(tmpdir(), 'l3vpn-e2e-restarts-'));
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(stateDir, 'bootstrap-token'), token);
  labels = labelsProcess('labels', `${NET}.1`, db.url, { LABELS_HOLD_DOWN_SECONDS: '600' });
  bgp = bgpProcess(`${NET}.2`);
  vpn = vpnProcess(
    'vpn',
    `${NET}.3`,
    { databaseUrl: db.url, redis, labels: LABELS, bgp: BGP_GRPC, bootstrapTokenFile: join(stateDir, 'bootstrap-token') },
    { VPN_WORKER_CONCURRENCY: '4', VPN_OUTBOX_RELAY_MS: '500' },
  );
  await labels.start();
  await bgp.start();
  await vpn.start();
  api = new Api(token);
  labelsApi = labelsClient(LABELS);
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  queueConnection = redisConnection(redis.url);
  queue = new Queue(RECONCILE_QUEUE, { connection: queueConnection, prefix: redis.prefix });

  for (const n of nodes) await api.create('nodes', n);
  for (const [i, pe] of PES.entries()) await api.create('links', link(pe, i));
  for (const id of VPNS) await api.create('vpns', { id, customer: `customer-${id}` });
  // Every managed node runs its agent, the P router too: without one, nothing forwards and nothing on it is active.
  for (const [i, pe] of [...PES, 'p1'].entries()) {
    // Enrolled with a one-time join token; a restart (pe1 is killed below) goes on with the saved credential.
    const joinToken = (await api.call('POST', `/v1/nodes/${pe}/join-tokens`, {})).body.token;
    assert.match(joinToken, /^l3vpn_join_/);
    const agent = agentProcess(pe, `${NET}.${10 + i}`, { controller: VPN_GRPC, joinToken, stateDir }, { AGENT_RESYNC_SECONDS: '5', AGENT_RECONNECT_MAX_SECONDS: '2' });
    agents.set(pe, agent);
    await agent.start();
  }
});

after(async () => {
  writeFileSync(join(tmpdir(), 'l3vpn-e2e-restarts.log'), allProcesses().flatMap((p) => p.logs).join('\n'));
  labelsApi?.close();
  for (const p of allProcesses()) await p.stop('SIGKILL');
  await sql?.end();
  if (queue) {
    await queue.obliterate({ force: true });
    await queue.close();
  }
  queueConnection?.disconnect(); // a Queue does not close a connection it was handed
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  await db?.drop();
});

test('provisioning 200 sites while each service is killed and restarted converges with nothing lost or given twice', { timeout: 600_000 }, async (t) => {
  let created = 0;
  const provisioning = (async () => {
    const todo = Array.from({ length: SITES }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        for (let i = todo.shift(); i !== undefined; i = todo.shift()) {
          await api.create('sites', site(i));
          created++;
          // A portal's pace (~7 sites/s), so the restarts fall inside the provisioning.
          await sleep(400);
        }
      }),
    );
  })();

  // Each service in turn, at a different point of the provisioning.
  const disruptions: Array<[number, ServiceProcess, NodeJS.Signals]> = [
    [20, labels, 'SIGKILL'],
    [60, bgp, 'SIGKILL'],
    [100, vpn, 'SIGKILL'],
    [130, agents.get('pe1')!, 'SIGKILL'],
    [160, vpn, 'SIGTERM'],
  ];
  for (const [after, proc, signal] of disruptions) {
    await eventually(`${after} sites created`, async () => created >= after, 120_000);
    const code = await proc.stop(signal);
    if (signal === 'SIGTERM') assert.equal(code, 0, `${proc.name} exits cleanly on SIGTERM:\n${proc.logs.slice(-20).join('\n')}`);
    t.diagnostic(`${signal} ${proc.name} at ${created} sites (exit ${code})`);
    await sleep(1000);
    await proc.start();
  }
  await provisioning;
  const startedConverging = Date.now();

  // Converged: every resource active, every agent on its node's latest
  // generation, nothing queued, running or failed, every change handed to
  // the queue; twice in a row with nothing happening in between (the same
  // newest outbox row, queue event and generations), so no job finished
  // into a new change between the two looks.
  const quiescent = async (): Promise<string> => {
    const mark: string[] = [];
    for (const collection of ['nodes', 'links', 'sites', 'vrfs', 'vpns']) {
      const pending = (await api.list(collection)).filter((x) => x.status?.state !== 'active');
      if (pending.length) throw new Error(`${collection}: ${pending.slice(0, 4).map((x) => `${x.id} ${JSON.stringify(x.status)}`).join(', ')} (${pending.length} not active)`);
    }
    for (const pe of PES) {
      const state = (await api.call('GET', `/v1/nodes/${pe}/state`)).body;
      if (!state.inSync) throw new Error(`${pe}: desired ${state.desired?.generation}, applied ${state.installed?.appliedGeneration}, failures ${JSON.stringify(state.installed?.failures)}`);
      mark.push(`${pe}@${state.desired?.generation}`);
    }
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
    if (Object.values(counts).some((n) => n > 0)) throw new Error(`reconcile queue: ${JSON.stringify(counts)}`);
    const unsent = await sql.query('SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL');
    if (unsent.rows[0].n > 0) throw new Error(`${unsent.rows[0].n} outbox rows not queued`);
    const newestRow = (await sql.query('SELECT max(id)::text AS id FROM outbox')).rows[0].id;
    const [newestEvent] = await queueConnection!.xrevrange(queue.keys.events!, '+', '-', 'COUNT', 1);
    return [...mark, `outbox ${newestRow}`, `queue event ${newestEvent?.[0]}`].join(', ');
  };
  await eventually('the system to converge', async () => (await quiescent()) === (await quiescent()), { timeoutMs: 180_000, intervalMs: 250 });
  t.diagnostic(`converged ${((Date.now() - startedConverging) / 1000).toFixed(1)} s after the last site was accepted`);

  const sites = await api.list('sites');
  assert.equal(sites.length, SITES, 'every site is there, once');
  const vrfs = await api.list('vrfs');
  assert.deepEqual(new Set(vrfs.map((v) => v.id)), new Set(sites.map((s) => `${s.vpn}:${s.node}`)), 'one VRF per VPN per PE with a site of it');

  // The stored desired states are what the intent gives: a dry run of a
  // change that reconciles every node (a link's metric set to what it is)
  // finds nothing to change and nothing left to allocate on any node.
  const dry = await api.call('PATCH', '/v1/links/pe1-p1?dryRun=true', { igpMetric: 10 }, { 'content-type': 'application/merge-patch+json' });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  assert.deepEqual(new Set(dry.body.plan.map((p: any) => p.node)), new Set(nodes.map((n) => n.id)), 'the plan covers every node');
  for (const p of dry.body.plan) {
    assert.equal(p.changed, false, `${p.node}'s stored desired state differs from its intent: ${JSON.stringify(p)}`);
    assert.deepEqual(p.newAllocations, [], `${p.node} has values still to allocate`);
  }

  // Labels: per PE exactly one per-VRF label per VRF, the one its desired state uses.
  for (const pe of PES) {
    const allocated = await labelsApi.listLabels({
      node: pe,
      kind: LabelKind.LABEL_KIND_VRF,
      state: AllocationState.ALLOCATION_STATE_ALLOCATED,
      ownerPrefix: '',
      pageSize: 10000,
      pageToken: '',
    });
    const byOwner = new Map(allocated.labels.map((l) => [l.owner, l.label]));
    const vrfsHere = vrfs.filter((v) => v.node === pe);
    assert.deepEqual(new Set(byOwner.keys()), new Set(vrfsHere.map((v) => `vrf:${v.vpn}:${pe}`)), `${pe}: one VRF label per VRF, no other`);
    assert.equal(new Set(byOwner.values()).size, byOwner.size, `${pe}: no label twice`);
    const state = (await api.call('GET', `/v1/nodes/${pe}/state`)).body.desired.state;
    for (const v of vrfsHere) {
      const entry = state.lfibEntries.find((e: any) => e.owner === `vrf:${v.vpn}`);
      assert.equal(entry?.inLabel, byOwner.get(`vrf:${v.vpn}:${pe}`), `${pe}: VRF ${v.vpn} pops the label it was given`);
    }
  }

  // RDs: one per VRF, all different, the ones the VRFs show.
  const rds = await labelsApi.listRouteDistinguishers({ administrator: '65000', ownerPrefix: '', pageSize: 10000, pageToken: '' });
  const liveRds = rds.routeDistinguishers.filter((r) => r.state === AllocationState.ALLOCATION_STATE_ALLOCATED);
  assert.equal(liveRds.length, vrfs.length, 'one RD per VRF, none left over');
  assert.equal(new Set(liveRds.map((r) => r.value)).size, liveRds.length, 'no RD twice');
  const rdOf = new Map(liveRds.map((r) => [r.owner, r.value]));
  for (const v of vrfs) assert.equal(v.routeDistinguisher, rdOf.get(`vrf:${v.vpn}:${v.node}`), `${v.id} exports with its allocated RD`);

  // RTs: one per VPN, all different, the ones the VPNs show.
  const rts = await labelsApi.listRouteTargets({ administrator: '65000', ownerPrefix: '', pageSize: 10000, pageToken: '' });
  const liveRts = rts.routeTargets.filter((r) => r.state === AllocationState.ALLOCATION_STATE_ALLOCATED);
  const vpns = await api.list('vpns');
  assert.equal(liveRts.length, VPNS.length, 'one RT per VPN, none left over');
  assert.deepEqual(new Set(liveRts.map((r) => r.value)), new Set(vpns.map((v) => v.routeTargets.anyToAny)));

  t.diagnostic(`restarts: ${allProcesses().map((p) => `${p.name} ${p.starts}`).join(', ')}`);
  if (api.stuckKeys.size) t.diagnostic(`Idempotency-Keys left in use by a killed request (retried without): ${[...api.stuckKeys].join(', ')}`);
});

// A create whose process was SIGKILLed between taking its Idempotency-Key
// and answering: the portal never got an answer and retries with the same
// key, which must not stay "in use" (409) for the whole idempotency period.
// Made certain by holding the PE's row lock, so the create waits inside
// the vpn service, holding its key, when the process is killed.
test('an Idempotency-Key whose request died with the vpn process can be used again', { timeout: 120_000 }, async () => {
  const body = site(SITES); // on pe1, with a VLAN and subnets of its own
  const key = `late-${body.id}`;
  const lock = new pg.Client({ connectionString: db.url });
  await lock.connect();
  try {
    await lock.query('BEGIN');
    await lock.query(`SELECT id FROM node WHERE id = $1 FOR UPDATE`, [body.node]);
    const first = api.call('POST', '/v1/sites', body, { 'idempotency-key': key }).catch((err: Error) => err);
    await eventually('the create to hold its key', async () => (await sql.query('SELECT 1 FROM idempotency_key WHERE key = $1 AND status IS NULL', [key])).rowCount === 1, 20_000);
    await vpn.stop('SIGKILL');
    assert.ok((await first) instanceof Error, 'the first request got no answer');
  } finally {
    await lock.query('ROLLBACK');
    await lock.end();
  }
  await vpn.start();
  let last: Reply | undefined;
  await eventually(
    'the retry with the same key to create the site',
    async () => {
      last = await api.call('POST', '/v1/sites', body, { 'idempotency-key': key });
      return last.status === 201;
    },
    60_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last answer: ${last?.status} ${JSON.stringify(last?.body)}`);
  });
  assert.equal((await api.call('GET', `/v1/sites/${body.id}`)).status, 200);
});
