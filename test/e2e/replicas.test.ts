// Two vpn replicas (processes of the built binary) on one database and one
// Redis prefix, with labels and bgp: both serve the REST API; exactly one
// owns the periodic work (its lease, metric l3vpn_vpn_periodic_work_owner)
// and queues the outbox rows a crash left unsent. SIGKILLed, the owner's
// work is taken over by the other within seconds, and a crash's row is
// queued again (once the reconcile job the dead replica was running, if
// any, is found stalled: ~15 s); restarted, the killed replica serves and
// waits its turn. An agent given both replicas' addresses moves to the
// other when its replica is killed, and applies what was changed there;
// so does the vpn service given both labels replicas.
// Addresses: 127.0.36.0/24. Logs: $TMPDIR/l3vpn-e2e-replicas.log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { RestClient } from '../../services/lab/rest-client.js';
import { createTestDatabase, testRedis, type TestDatabase } from '../support/services.js';
import { eventually } from '../support/eventually.js';
import { agentProcess, bgpProcess, labelsProcess, type ServiceProcess, vpnProcess } from '../support/service-process.js';

const NET = '127.0.36';
const LABELS = [`${NET}.1:50061`, `${NET}.5:50061`];
const BGP_GRPC = `${NET}.2:50062`;
const REPLICAS = [`${NET}.3`, `${NET}.4`];
const OWNER_METRIC = /^l3vpn_vpn_periodic_work_owner(?:\{[^}]*\})? (\d)/m;

let db: TestDatabase;
let stateDir: string;
let token: string;
/** Each replica's REST API, as an admin. */
let api: RestClient[];
let sql: pg.Client;
const processes: ServiceProcess[] = [];
let vpns: ServiceProcess[] = [];
let labelsReplicas: ServiceProcess[] = [];

/** 1 when replica i says it owns the periodic work, 0 when not, undefined when it does not answer. */
async function owner(i: number): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://${REPLICAS[i]}:9464/metrics`)).text();
    const m = OWNER_METRIC.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const owners = async () => Promise.all(REPLICAS.map((_, i) => owner(i)));

/** A row as a crash between commit and enqueue leaves it: relayed only by the owner's periodic rounds. */
async function lostRow(id: string): Promise<void> {
  await sql.query(`INSERT INTO outbox (aggregate, aggregate_id, action, nodes, payload, created_at) VALUES ('site', $1, 'create', ARRAY['pe-gone'], '{}', now() - interval '1 minute')`, [id]);
}
const relayed = async (id: string) => (await sql.query('SELECT sent_at FROM outbox WHERE aggregate_id = $1', [id])).rows[0]?.sent_at != null;

const site = (id: string, vlan: number, n: number) => ({
  id,
  vpn: 'acme',
  node: 'pe1',
  interface: 'cust0',
  vlan,
  ipv4: { peAddress: `172.16.${n}.1/30`, ceAddress: `172.16.${n}.2` },
  routing: { static: [{ prefix: `10.${n}.0.0/16` }] },
});

before(async () => {
  db = await createTestDatabase('e2e_replicas');
  const redis = await testRedis();
  stateDir = mkdtempSync(join(tmpdir(), 'l3vpn-e2e-replicas-'));
  token = randomBytes(24).toString('hex');
  writeFileSync(join(stateDir, 'bootstrap-token'), token);
  const labels = LABELS.map((address, i) => labelsProcess(`labels-${i}`, address.split(':')[0]!, db.url));
  const bgp = bgpProcess(`${NET}.2`);
  vpns = REPLICAS.map((address, i) =>
    vpnProcess(
      `vpn-${i}`,
      address,
      // Both labels replicas: the first that answers, the next when it goes.
      { databaseUrl: db.url, redis, labels: LABELS.join(','), bgp: BGP_GRPC, bootstrapTokenFile: join(stateDir, 'bootstrap-token') },
      { VPN_WORKER_CONCURRENCY: '2', VPN_OUTBOX_RELAY_MS: '300', VPN_LEASE_RETRY_MS: '500' },
    ),
  );
  api = REPLICAS.map((address) => new RestClient(`http://${address}:8080`, token));
  labelsReplicas = labels;
  processes.push(...labels, bgp, ...vpns);
  await Promise.all(labels.map((l) => l.start()));
  await bgp.start();
  await Promise.all(vpns.map((v) => v.start()));
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
});

after(async () => {
  writeFileSync(join(tmpdir(), 'l3vpn-e2e-replicas.log'), processes.flatMap((p) => p.logs).join('\n'));
  await sql?.end();
  for (const p of processes.reverse()) await p.stop('SIGTERM');
  await db?.drop();
  rmSync(stateDir, { recursive: true, force: true });
});

test('both replicas serve the API; one owns the periodic work; SIGKILLed, the other takes it over within seconds; restarted, it waits its turn', async (t) => {
  // A VPN created through one replica is read through the other.
  assert.equal((await api[0]!.call('POST', '/v1/vpns', { id: 'acme', customer: 'Acme' })).status, 201);
  assert.equal((await api[1]!.call('GET', '/v1/vpns/acme')).status, 200);

  const { first } = await eventually('one replica to own the periodic work', async () => {
    const o = await owners();
    return o.filter((x) => x === 1).length === 1 && o.every((x) => x !== undefined) ? { first: o.indexOf(1) } : undefined;
  }, { timeoutMs: 15_000, intervalMs: 100 });
  // It stays that way (each replica tried several times meanwhile).
  for (let k = 0; k < 10; k++) {
    assert.deepEqual(await owners(), REPLICAS.map((_, i) => (i === first ? 1 : 0)));
    await new Promise((r) => setTimeout(r, 200));
  }
  await lostRow('lost-1');
  await eventually('the owner to queue the lost row', () => relayed('lost-1'), { timeoutMs: 10_000, intervalMs: 100 });

  const other = 1 - first;
  const killed = Date.now();
  await vpns[first]!.stop('SIGKILL');
  await lostRow('lost-2');
  await eventually('the other replica to own the periodic work', async () => (await owner(other)) === 1, { timeoutMs: 15_000, intervalMs: 50 });
  const handover = Date.now() - killed;
  await eventually('the new owner to queue the row left meanwhile', () => relayed('lost-2'), { timeoutMs: 30_000, intervalMs: 100 });
  const requeued = Date.now() - killed;
  assert.ok(handover < 5000, `the periodic work was taken over ${handover} ms after the kill`);
  assert.equal((await api[other]!.call('GET', '/v1/vpns/acme')).status, 200, 'the survivor serves');

  await vpns[first]!.start();
  assert.equal((await api[first]!.call('GET', '/v1/vpns/acme')).status, 200, 'the restarted replica serves');
  for (let k = 0; k < 5; k++) {
    assert.deepEqual(await owners(), REPLICAS.map((_, i) => (i === other ? 1 : 0)), 'the owner keeps its lease; the restarted replica waits');
    await new Promise((r) => setTimeout(r, 200));
  }
  t.diagnostic(`periodic work taken over ${handover} ms after the owner's SIGKILL; a lost row queued again after ${requeued} ms`);
});

test('an agent given both replicas moves to the other when its replica is killed, and applies what changed there', async (t) => {
  assert.equal((await api[0]!.call('POST', '/v1/nodes', { id: 'pe1', role: 'PE', routerId: '10.255.0.1', asNumber: 65000, nodeSidIndex: 1 })).status, 201);
  assert.equal((await api[0]!.call('POST', '/v1/sites', site('s1', 101, 1))).status, 201);
  const joinToken = (await api[0]!.call('POST', '/v1/nodes/pe1/join-tokens', {})).body.token;
  // The first that answers is used (pick-first): replica 0 while it lives.
  const agent = agentProcess('pe1', `${NET}.10`, { controller: REPLICAS.map((a) => `${a}:50063`).join(','), joinToken, stateDir }, { AGENT_RECONNECT_MAX_SECONDS: '1' });
  processes.push(agent);
  await agent.start();
  const inSync = (i: number) => async () => {
    const state = (await api[i]!.call('GET', '/v1/nodes/pe1/state')).body;
    return state?.inSync && (await api[i]!.call('GET', '/v1/sites/s1')).body?.status?.state === 'active' ? state.desired.generation : undefined;
  };
  const before = await eventually('pe1 applied through replica 0, its site active', inSync(0), { timeoutMs: 30_000, intervalMs: 200 });

  const killed = Date.now();
  await vpns[0]!.stop('SIGKILL');
  assert.equal((await api[1]!.call('POST', '/v1/sites', site('s2', 102, 2))).status, 201);
  const after = await eventually(
    'pe1 to apply the change made on replica 1',
    async () => {
      const state = (await api[1]!.call('GET', '/v1/nodes/pe1/state')).body;
      const s2 = (await api[1]!.call('GET', '/v1/sites/s2')).body;
      return state?.inSync && state.desired.generation > before && s2?.status?.state === 'active' ? state.desired.generation : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  t.diagnostic(`generation ${before} applied through replica 0; after its SIGKILL, generation ${after} (a site created on replica 1) applied and active ${Date.now() - killed} ms later`);
  assert.equal((await api[1]!.call('GET', '/v1/sites/s1')).body.status.state, 'active', 'the first site stayed active');
});

test('the vpn service given both labels replicas goes on provisioning when the one it uses is killed', async (t) => {
  // Replica 0 of vpn is gone (the test before); replica 1 and pe1's agent remain. The first labels replica answers now.
  const killed = Date.now();
  await labelsReplicas[0]!.stop('SIGKILL');
  // A new VPN on pe1: its VRF needs a route distinguisher and a label from the labels service.
  assert.equal((await api[1]!.call('POST', '/v1/vpns', { id: 'beta', customer: 'Beta' })).status, 201);
  assert.equal((await api[1]!.call('POST', '/v1/sites', { ...site('b1', 201, 21), vpn: 'beta' })).status, 201);
  await eventually('the site created after the kill active', async () => (await api[1]!.call('GET', '/v1/sites/b1')).body?.status?.state === 'active', { timeoutMs: 60_000, intervalMs: 200 });
  const resumed = Date.now() - killed;
  for (const id of ['s1', 's2', 'b1']) assert.equal((await api[1]!.call('GET', `/v1/sites/${id}`)).body.status.state, 'active', id);
  const state = (await api[1]!.call('GET', '/v1/nodes/pe1/state')).body;
  const vrfLabels = (state.desired.state.lfibEntries as { inLabel: number; owner: string }[]).filter((e) => e.owner.startsWith('vrf:'));
  assert.deepEqual(vrfLabels.map((e) => e.owner).sort(), ['vrf:acme', 'vrf:beta']);
  assert.notEqual(vrfLabels[0]!.inLabel, vrfLabels[1]!.inLabel, 'two VRFs, two labels');
  const rds = (state.desired.state.vrfs as { rd: string }[]).map((v) => v.rd);
  assert.equal(new Set(rds).size, rds.length, `distinct RDs: ${rds.join(', ')}`);
  t.diagnostic(`labels replica in use SIGKILLed: a new VPN's site on pe1 (a new RD and VRF label) active ${resumed} ms later`);
});
