// What the bgp speaker holds is reconciled against the intent, with the
// real bgp, labels and vpn services:
//
//     vpn (REST, worker, sweep every 1 s) --gRPC--> gate (TCP, can refuse) --> bgp service
//          |                                                                    VRFs <vpn>@<node> (owner "vpn"),
//          +--gRPC--> labels (RD pool hold-down 2 s)                            static@pe1 from its config
//
// The gate stands for a speaker that cannot be reached: it refuses
// connections while the speaker keeps what it holds, which the test reads
// directly. No BGP peers: the speaker's VRFs are what matters here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { LabelMode } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { AllocationState, LabelKind, PoolType, type RouteDistinguisher } from '../../services/common/gen/proto/l3vpn/v1/labels.js';
import { startTestBgp, type StartedBgp } from '../bgp/support.js';
import { eventually, startReconcileHarness, type ReconcileHarness } from './reconcile-support.js';

const AS = 65000;
const HOLD_DOWN_SECONDS = 2;

/** A TCP forwarder to the speaker's gRPC port that can be shut (connections refused, open ones cut) and opened again on the same port. */
class Gate {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: number) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
        s.on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async shut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

const pe = (id: string, n: number) => ({
  id,
  role: 'PE',
  routerId: `10.255.31.${n}`,
  loopback: `198.51.100.${n}`,
  asNumber: AS,
  transport: 'external',
});
const site = (id: string, vpn: string, node: string, n: number) => ({
  id,
  vpn,
  node,
  interface: 'cust0',
  vlan: 100 + n,
  ipv4: { peAddress: `172.16.${n}.1/30`, ceAddress: `172.16.${n}.2` },
  routing: { static: [{ prefix: `10.${n}.0.0/16` }] },
});

describe('the bgp speaker holds only what the intent names', { timeout: 180_000 }, () => {
  let bgp: StartedBgp | undefined;
  let gate: Gate | undefined;
  let h: ReconcileHarness | undefined;
  let sql: pg.Client | undefined;
  /** RDs given back to the pool by the tests before the last one. */
  const released: string[] = [];

  const H = () => h!;
  const speaker = () => bgp!.client;
  const held = async (owner = '') => (await speaker().listVrfs({ name: '', owner, nameSuffix: '' })).vrfs.map((v) => v.config!.name).sort();
  const rdOf = async (owner: string): Promise<RouteDistinguisher | undefined> =>
    (await H().labels.listRouteDistinguishers({ administrator: String(AS), ownerPrefix: owner, pageSize: 100, pageToken: '' })).routeDistinguishers.find((r) => r.owner === owner);
  const create = async (path: string, body: object) => assert.equal((await H().call('POST', path, { body })).status, 201, `POST ${path}`);
  const remove = async (path: string) => assert.equal((await H().call('DELETE', path)).status, 204, `DELETE ${path}`);
  const onSpeaker = (name: string) => eventually(`the speaker to hold ${name}`, async () => (await held('vpn')).includes(name), 30_000);
  const active = (path: string) =>
    eventually(`${path} active`, async () => {
      const st = (await H().call('GET', path)).body.status;
      if (st.state === 'failed') throw new Error(`${path} failed: ${st.reason}`);
      return st.state === 'active' && st;
    }, 30_000);

  before(async () => {
    bgp = await startTestBgp({
      BGP_AS: String(AS),
      BGP_ROUTER_ID: '10.255.31.100',
      BGP_LISTEN_ADDRESS: '127.0.0.1',
      BGP_PORT: '0',
      // A VRF of the config file with a controller-like name: nobody's, never swept.
      BGP_VRFS: JSON.stringify([{ name: 'static@pe1', rd: '192.0.2.1:1', 'import-rts': ['192.0.2.1:1'], label: 400 }]),
    });
    gate = new Gate(bgp.svc.grpcPort!);
    await gate.open();
    h = await startReconcileHarness({ VPN_BGP_ADDRESS: `127.0.0.1:${gate.port}`, VPN_ORIGINATE_AFTER_INSTALL: 'false', VPN_SPEAKER_SWEEP_SECONDS: '1' });
    await H().labels.configurePool({ type: PoolType.POOL_TYPE_ROUTE_DISTINGUISHER, administrator: String(AS), min: 0, max: 0, holdDownSeconds: HOLD_DOWN_SECONDS });
    sql = new pg.Client({ connectionString: H().db.url });
    await sql.connect();
    for (const [id, n] of [['pe1', 1], ['pe2', 2]] as const) await create('/v1/nodes', pe(id, n));
  });
  after(async () => {
    await sql?.end();
    await h?.stop();
    await gate?.shut();
    await bgp?.stop();
  });

  test('a VPN and its node deleted while the speaker is unreachable: nothing is released until the speaker has removed the VRF', async () => {
    await create('/v1/vpns', { id: 'blue', customer: 'portal' });
    await create('/v1/sites', site('blue-pe1', 'blue', 'pe1', 1));
    await onSpeaker('blue@pe1');
    await active('/v1/vrfs/blue:pe1');
    const rd = (await H().call('GET', '/v1/vrfs/blue:pe1')).body.routeDistinguisher as string;
    assert.equal((await rdOf('vrf:blue:pe1'))?.value, rd);

    await gate!.shut();
    await remove('/v1/sites/blue-pe1');
    await remove('/v1/vpns/blue');
    await remove('/v1/nodes/pe1');
    // pe1's job runs and fails: it cannot make the speaker let go of blue@pe1. Two more finished attempts: at least one began after the node was gone (forget).
    const attempts = (await H().vpn.queue.queue.getJob('pe1'))?.attemptsMade ?? 0;
    const failure = await eventually(
      "pe1's reconcile, node gone, to fail on the unreachable speaker",
      async () => {
        const job = await H().vpn.queue.queue.getJob('pe1');
        return job && job.attemptsMade >= attempts + 2 && job.failedReason;
      },
      30_000,
    );
    assert.match(failure, /UNAVAILABLE/);
    assert.ok((await held()).includes('blue@pe1'), 'the speaker still holds the VRF');
    assert.equal((await rdOf('vrf:blue:pe1'))?.state, AllocationState.ALLOCATION_STATE_ALLOCATED, 'so its RD is not released');
    const labels = await H().labels.listLabels({ node: 'pe1', kind: LabelKind.LABEL_KIND_UNSPECIFIED, state: AllocationState.ALLOCATION_STATE_ALLOCATED, ownerPrefix: 'vrf:', pageSize: 100, pageToken: '' });
    assert.equal(labels.labels.length, 1, 'nor its label');

    await gate!.open();
    await eventually('the speaker to let go of blue@pe1', async () => !(await held()).includes('blue@pe1'), 30_000);
    const heldDown = await eventually('the RD in hold-down', async () => {
      const r = await rdOf('vrf:blue:pe1');
      return r?.state === AllocationState.ALLOCATION_STATE_HELD && r;
    });
    assert.equal(heldDown.value, rd);
    assert.ok((await held()).includes('static@pe1'), "the bgp config file's VRF stays");
    released.push(rd);
  });

  test('VRFs left on the speaker by a crash are swept: intent rows deleted by hand, VRFs of this controller the intent never named; nobody else\'s', async () => {
    await create('/v1/vpns', { id: 'green', customer: 'portal' });
    await create('/v1/sites', site('green-pe2', 'green', 'pe2', 2));
    await onSpeaker('green@pe2');
    await active('/v1/vrfs/green:pe2');
    const rd = (await H().call('GET', '/v1/vrfs/green:pe2')).body.routeDistinguisher as string;
    // The intent rows go, as if the process died after committing the delete and before the speaker heard of it: no job is queued.
    await sql!.query(`DELETE FROM site WHERE id = 'green-pe2'`);
    await sql!.query(`DELETE FROM vrf WHERE vpn_id = 'green'`);
    // VRFs with this controller's owner that no intent ever named (a node that is gone, a VPN never there), and another controller's.
    const vrf = (name: string, rd: string, owner: string) => ({
      vrf: { name, rd, importRouteTargets: ['65000:999'], exportRouteTargets: ['65000:999'], labelMode: LabelMode.LABEL_MODE_PER_VRF, label: 900, ipv6Label: 0, owner },
    });
    await speaker().addVrf(vrf('ghost@pe2', '65000:60001', 'vpn'));
    await speaker().addVrf(vrf('ghost@pe9', '65000:60002', 'vpn'));
    await speaker().addVrf(vrf('theirs@pe2', '65000:60003', 'another-vpn'));
    assert.deepEqual(await held('vpn'), ['ghost@pe2', 'ghost@pe9', 'green@pe2']);

    await eventually('the sweep to empty the speaker of what no intent names', async () => (await held('vpn')).length === 0, 30_000);
    assert.deepEqual(await held(), ['static@pe1', 'theirs@pe2']);
    // The RD of the VRF whose rows went by hand goes back to the pool too, after the speaker let go of it.
    const r = await eventually('the RD of green@pe2 in hold-down', async () => {
      const x = await rdOf('vrf:green:pe2');
      return x?.state === AllocationState.ALLOCATION_STATE_HELD && x;
    });
    assert.equal(r.value, rd);
    released.push(rd);
  });

  test("an RD handed out again after its hold-down works for a new node's VRF", async () => {
    assert.equal(released.length, 2, 'the tests before released two RDs');
    // Both past their hold-down: the pool hands out the lowest again.
    for (const owner of ['vrf:blue:pe1', 'vrf:green:pe2']) {
      const reusable = (await rdOf(owner))!.reusableAt!.getTime();
      await eventually(`${owner}'s RD past its hold-down`, async () => Date.now() > reusable + 200, (HOLD_DOWN_SECONDS + 10) * 1000);
    }
    const lowest = released.sort((a, b) => Number(a.split(':')[1]) - Number(b.split(':')[1]))[0];
    await create('/v1/nodes', pe('pe3', 3));
    await create('/v1/vpns', { id: 'red', customer: 'portal' });
    await create('/v1/sites', site('red-pe3', 'red', 'pe3', 3));
    await onSpeaker('red@pe3');
    await active('/v1/vrfs/red:pe3');
    const body = (await H().call('GET', '/v1/vrfs/red:pe3')).body;
    assert.equal(body.routeDistinguisher, lowest, JSON.stringify(body));
    const [red] = (await speaker().listVrfs({ name: 'red@pe3', owner: '', nameSuffix: '' })).vrfs;
    assert.equal(red!.config!.rd, lowest);
    assert.equal(red!.config!.owner, 'vpn');
  });
});
