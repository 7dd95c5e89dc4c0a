// Agents driven by the real control plane: the vpn service (REST, its
// reconcile worker, a real labels service) computes every node's desired
// state; one `l3vpn agent` per node (ovs driver) watches it with the node's
// identity and programs its bridge. PE1 -> P -> PE2 are netdev bridges of a
// private Open vSwitch joined by veths, CEs sit in their own namespaces and
// resolve their gateways with ARP. Two VPNs use the same customer
// addresses. tshark on both core links proves the label stacks.
// Names: namespaces l3ov-*, bridges and veths l3ov*, gRPC on 127.0.27.1.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import pg from 'pg';
import { loadSettings } from '../../services/common/config.js';
import { createLogger } from '../../services/common/logger.js';
import type { RunningService } from '../../services/common/service.js';
import { AgentServiceClient, type NodeDesiredState } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { insecure } from '../../services/common/grpc/client.js';
import { agentSettings, startAgent } from '../../services/agent/main.js';
import { eventually, startReconcileHarness, type ReconcileHarness } from '../vpn/reconcile-support.js';
import { capture, type CapturedFrame, labMissing, type LabSpec, PacketLab } from './ovs-harness.js';
import { skipOrFail } from '../support/tools.js';

const SPEC: LabSpec = {
  nodes: [
    { id: 'PE1', bridge: 'l3ovb1', portPrefix: 'l3ov1', interfaces: ['core0', 'red0', 'blu0'] },
    { id: 'P', bridge: 'l3ovbp', portPrefix: 'l3ovp', interfaces: ['core0', 'core1'] },
    { id: 'PE2', bridge: 'l3ovb2', portPrefix: 'l3ov2', interfaces: ['core0', 'red0', 'blu0'] },
  ],
  core: [
    ['l3ov1core0', 'l3ovpcore0'],
    ['l3ovpcore1', 'l3ov2core0'],
  ],
  ces: [
    { ns: 'l3ov-ce1r', port: 'l3ov1red0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.1' },
    { ns: 'l3ov-ce2r', port: 'l3ov2red0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.1' },
    { ns: 'l3ov-ce1b', port: 'l3ov1blu0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.2' },
    { ns: 'l3ov-ce2b', port: 'l3ov2blu0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.2' },
  ],
};
const SRGB = { base: 16000, size: 8000 };
/** Each node's agent credential, enrolled once its node exists. */
const credentials = new Map<string, string>();
const identity = (node: string) => credentials.get(node)!;
const node = (id: string, role: 'PE' | 'P', n: number) => ({ id, role, routerId: `10.255.0.${n}`, asNumber: 65000, srgb: SRGB, nodeSidIndex: n });
const link = (id: string, a: string, ai: string, b: string, bi: string, n: number) => ({
  id,
  a: { node: a, interface: ai, address: `10.0.${n}.0/31` },
  b: { node: b, interface: bi, address: `10.0.${n}.1/31` },
  igpMetric: 10,
});
const site = (id: string, vpn: string, pe: string, iface: string, n: number) => ({
  id,
  vpn,
  node: pe,
  interface: iface,
  ipv4: { peAddress: `192.168.${n}.1/30`, ceAddress: `192.168.${n}.2` },
  routing: { static: [{ prefix: `10.${n}.0.0/16` }] },
});

const skip = skipOrFail(labMissing(['tshark']));

describe('ovs agents driven by the vpn service', { skip }, () => {
  let lab: PacketLab;
  let h: ReconcileHarness;
  let sql: pg.Client;
  let dir: string;
  const agents: RunningService[] = [];
  const grpcHost = '127.0.27.1';

  const latest = async (id: string): Promise<NodeDesiredState> => (await h.vpn.store.latest(id))!.state;
  const complete = (id: string, s: NodeDesiredState): boolean => {
    if (id === 'P') return ['PE1', 'PE2'].every((pe) => s.lfibEntries.some((e) => e.owner === `sid:${pe}`));
    const [local, remote] = id === 'PE1' ? ['a', 2] : ['b', 1];
    const vpnLabel = { red: 'vrf:red', blue: `ce:blue:blue-${local}` };
    return (['red', 'blue'] as const).every(
      (vrf) =>
        s.vrfs.some((v) => v.name === vrf) &&
        s.lfibEntries.some((e) => e.owner === vpnLabel[vrf]) &&
        [`10.${remote}.0.0/16`, `192.168.${remote}.0/30`].every((prefix) => s.vrfRoutes.some((r) => r.vrf === vrf && r.prefix === prefix && r.nextHop?.$case === 'remote')),
    );
  };

  before(async () => {
    lab = await PacketLab.start(SPEC);
    dir = await mkdtemp(join(tmpdir(), 'l3ov-'));
    // No VPN_BGP_ADDRESS: the harness injects SimulatedVpnRouting; the bgp service is not under test here.
    h = await startReconcileHarness({ VPN_GRPC_LISTEN: `${grpcHost}:0` });
    sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
    const post = async (path: string, body: object) => assert.equal((await h.call('POST', path, { body })).status, 201, `${path} ${JSON.stringify(body)}`);
    await post('/v1/nodes', node('PE1', 'PE', 1));
    await post('/v1/nodes', node('P', 'P', 11));
    await post('/v1/nodes', node('PE2', 'PE', 2));
    for (const id of ['PE1', 'P', 'PE2']) credentials.set(id, await h.enrol(id));
    await post('/v1/links', link('pe1-p', 'PE1', 'core0', 'P', 'core0', 0));
    await post('/v1/links', link('p-pe2', 'P', 'core1', 'PE2', 'core0', 1));
    await post('/v1/vpns', { id: 'red', customer: 'red' });
    await post('/v1/vpns', { id: 'blue', customer: 'blue', labelMode: 'per-ce' });
    await post('/v1/sites', site('red-a', 'red', 'PE1', 'red0', 1));
    await post('/v1/sites', site('red-b', 'red', 'PE2', 'red0', 2));
    await post('/v1/sites', site('blue-a', 'blue', 'PE1', 'blu0', 1));
    await post('/v1/sites', site('blue-b', 'blue', 'PE2', 'blu0', 2));

    const log = createLogger('agent', process.env.TEST_LOG_LEVEL ?? 'silent');
    for (const n of SPEC.nodes) {
      const settings = loadSettings(agentSettings, {
        env: {
          ...lab.agentEnv(n, { controller: `${grpcHost}:${h.vpn.grpcPort}`, token: identity(n.id), stateDir: join(dir, n.id) }),
          // This test pings and captures with synchronous child processes, which stall the event loop the agents'
          // BFD timers share with it (past the 900 ms detection time); link liveness is link-failover.test.ts's.
          AGENT_BFD: 'false',
        },
      });
      agents.push(await startAgent(settings, log.child({ node: n.id })));
    }
    // Converged: every site active, every node's newest stored state complete (both VRFs with the remote
    // site's routes and their VPN labels on the PEs, both node SIDs on P), and every agent in sync with it.
    for (const id of ['red-a', 'red-b', 'blue-a', 'blue-b']) {
      await eventually(`site ${id} active`, async () => (await h.call('GET', `/v1/sites/${id}`)).body.status.state === 'active', 60_000);
    }
    for (const n of SPEC.nodes) await eventually(`${n.id}'s desired state to be complete`, async () => complete(n.id, await latest(n.id)), 60_000);
    const inSync = async (id: string) => (await h.call('GET', `/v1/nodes/${id}/state`)).body.inSync === true;
    await eventually('every agent to apply its node\'s newest generation', async () => (await Promise.all(SPEC.nodes.map((n) => inSync(n.id)))).every(Boolean), 60_000);
  });

  after(async () => {
    for (const a of agents) await a.stop(1000);
    await sql?.end();
    await h?.stop();
    await lab?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('CE to CE across PE1 -> P -> PE2 in two VPNs with the same addresses: each reaches its own sites only', () => {
    // red: CE1 reaches red's CE2 (its address on the attachment and a static prefix behind it) ...
    assert.ok(lab.ping('l3ov-ce1r', '192.168.2.2'), 'red CE1 -> red CE2 192.168.2.2');
    assert.ok(lab.ping('l3ov-ce1r', '10.2.0.1'), 'red CE1 -> 10.2.0.1 behind red CE2');
    assert.ok(lab.ping('l3ov-ce2r', '10.1.0.1'), 'red CE2 -> 10.1.0.1 behind red CE1');
    // ... never blue's, whose site uses the same addresses.
    assert.equal(lab.ping('l3ov-ce1r', '10.2.0.2'), false, 'red CE1 must not reach blue CE2');
    // blue (per-CE labels): the same, the other way round.
    assert.ok(lab.ping('l3ov-ce1b', '10.2.0.2'), 'blue CE1 -> 10.2.0.2 behind blue CE2');
    assert.ok(lab.ping('l3ov-ce2b', '10.1.0.2'), 'blue CE2 -> 10.1.0.2 behind blue CE1');
    assert.equal(lab.ping('l3ov-ce1b', '10.2.0.1'), false, 'blue CE1 must not reach red CE2');
    assert.equal(lab.ping('l3ov-ce2b', '10.1.0.1'), false, 'blue CE2 must not reach red CE1');
    // No neighbour was configured by hand: the CEs learnt their gateways' MACs by ARP.
    const neigh = lab.inNs('l3ov-ce1r', 'ip', 'neigh', 'show', '192.168.1.1');
    assert.match(neigh, /lladdr [0-9a-f:]{17} (REACHABLE|STALE|DELAY|PROBE)/, neigh);
    assert.doesNotMatch(neigh, /PERMANENT/);
  });

  test('the core links carry [transport, VPN] labels from PE1, only the VPN label after P (PHP)', async () => {
    const nodeRes = async (id: string) => (await h.call('GET', `/v1/nodes/${id}`)).body as { srgb: { base: number }; nodeSidIndex: number };
    const [p, pe1, pe2] = [await nodeRes('P'), await nodeRes('PE1'), await nodeRes('PE2')];
    // What P expects for PE2 (and PE1): its own SRGB base + the destination's node SID index (RFC 8402 §3.2).
    const sidOfPe2AtP = p.srgb.base + pe2.nodeSidIndex;
    const sidOfPe1AtP = p.srgb.base + pe1.nodeSidIndex;
    // The VPN labels PE2 (PE1) advertised: red's per-VRF label, blue's per-CE label of the site (RFC 4364 §4.3.2).
    const vpnLabel = (s: NodeDesiredState, owner: string) => s.lfibEntries.find((e) => e.owner === owner)?.inLabel ?? assert.fail(`${s.node} has no LFIB entry ${owner}`);
    const [pe1State, pe2State] = [await latest('PE1'), await latest('PE2')];
    const red2 = vpnLabel(pe2State, 'vrf:red');
    const blue2 = vpnLabel(pe2State, 'ce:blue:blue-b');
    const red1 = vpnLabel(pe1State, 'vrf:red');
    assert.notEqual(red2, blue2);

    const frames = await capture(lab.netns, ['l3ov1core0', 'l3ovpcore1'], dir, () => {
      assert.ok(lab.ping('l3ov-ce1r', '10.2.0.1', 3));
      assert.ok(lab.ping('l3ov-ce1b', '10.2.0.2', 3));
    });
    const flow = (iface: string, src: string, dst: string, icmpType: number): CapturedFrame[] =>
      frames.get(iface)!.filter((f) => f.src === src && f.dst === dst && f.icmpType === icmpType);
    const stack = (f: CapturedFrame) => f.labels.map((l) => [l.label, l.bos]);
    const sane = (f: CapturedFrame) => f.labels.every((l) => l.ttl > 0 && l.ttl <= 255) && f.ipTtl > 0;

    // PE1 -> P: [node SID of PE2 at P, PE2's VPN label], bottom-of-stack only on the VPN label.
    const redOut = flow('l3ov1core0', '192.168.1.2', '10.2.0.1', 8);
    assert.ok(redOut.length >= 3, `red echo requests on PE1-P: ${redOut.length}`);
    for (const f of redOut) assert.deepEqual(stack(f), [[sidOfPe2AtP, 0], [red2, 1]]);
    const blueOut = flow('l3ov1core0', '192.168.1.2', '10.2.0.2', 8);
    assert.ok(blueOut.length >= 3, `blue echo requests on PE1-P: ${blueOut.length}`);
    for (const f of blueOut) assert.deepEqual(stack(f), [[sidOfPe2AtP, 0], [blue2, 1]]);
    // P -> PE2: P popped the transport label (penultimate hop), the VPN label is alone and at the bottom.
    const redIn = flow('l3ovpcore1', '192.168.1.2', '10.2.0.1', 8);
    assert.equal(redIn.length, redOut.length, 'every red request crossed P');
    for (const f of redIn) assert.deepEqual(stack(f), [[red2, 1]]);
    for (const f of flow('l3ovpcore1', '192.168.1.2', '10.2.0.2', 8)) assert.deepEqual(stack(f), [[blue2, 1]]);
    // The replies come back the same way: PE2 -> P carries [node SID of PE1 at P, PE1's red label].
    const redBack = flow('l3ovpcore1', '10.2.0.1', '192.168.1.2', 0);
    assert.ok(redBack.length >= 3);
    for (const f of redBack) assert.deepEqual(stack(f), [[sidOfPe1AtP, 0], [red1, 1]]);
    // TTLs: every label and the IP header keep a live TTL; the pipe model leaves the VPN label's as PE1 set it.
    for (const f of [...redOut, ...blueOut, ...redIn, ...redBack]) assert.ok(sane(f), JSON.stringify(f));
    assert.deepEqual(
      redIn.map((f) => f.labels[0]!.ttl),
      redOut.map((f) => f.labels[1]!.ttl),
    );
  });

  test("an agent is served only its own node's state: another node's identity gets PERMISSION_DENIED", async () => {
    const client = new AgentServiceClient(`${grpcHost}:${h.vpn.grpcPort}`, insecure());
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${identity('PE1')}`);
    const code = await new Promise<number>((resolve) => {
      const call = client.watchDesiredState({ node: 'PE2', appliedGeneration: 0 }, metadata);
      call.on('data', () => resolve(-1));
      call.on('error', (err: ServiceError) => resolve(err.code));
    });
    assert.equal(code, status.PERMISSION_DENIED);
    const report = await new Promise<ServiceError | null>((resolve) => client.reportStatus({ node: 'PE2', appliedGeneration: 99, failures: [], drift: [], driver: 'ovs', appliedAt: undefined, installedVrfs: 0, installedVrfRoutes: 0, installedLfibEntries: 0, ports: [], links: [], heartbeat: false }, metadata, (err) => resolve(err)));
    assert.equal(report?.code, status.PERMISSION_DENIED);
    // The real PE2's status is untouched.
    const r = await sql.query('SELECT applied_generation::int AS g FROM agent_status WHERE node_id = $1', ['PE2']);
    assert.equal(r.rows[0].g, (await h.vpn.store.latest('PE2'))!.generation);
    // Its own node works with the same identity.
    const own = await new Promise<number>((resolve) => {
      const call = client.watchDesiredState({ node: 'PE1', appliedGeneration: 0 }, metadata);
      call.on('data', () => {
        resolve(status.OK);
        call.cancel();
      });
      call.on('error', (err: ServiceError) => (err.code === status.CANCELLED ? undefined : resolve(err.code)));
    });
    assert.equal(own, status.OK);
    client.close();
  });
});
