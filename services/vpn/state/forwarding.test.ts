import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LfibEntry, NodeDesiredState, VrfInstance, VrfRoute, VrfRouteSource } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { aggregate, NodeForwarding, reportMatters, type AgentReport, type ForwardingInput } from './forwarding.js';

const NOW = new Date('2026-12-07T05:00:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);

/** pe1's VRF red with site interfaces; a connected and a static route on `itf`, their label 100, and a remote route. */
function state(generation: number, itf = 'eth1', extra: { label?: number } = {}): { generation: number; state: NodeDesiredState } {
  const local = { $case: 'local' as const, value: { interface: itf, vlan: 0, address: '' } };
  return {
    generation,
    state: NodeDesiredState.fromPartial({
      node: 'pe1',
      generation,
      vrfs: [VrfInstance.fromPartial({ name: 'red', tableId: 10, vpn: 'red', interfaces: [{ name: itf, vlan: 0, addresses: ['192.168.1.1/30'] }] })],
      vrfRoutes: [
        VrfRoute.fromPartial({ vrf: 'red', prefix: '10.9.0.0/16', nextHop: { $case: 'remote', value: { labels: [16002, 200], outInterface: 'core0', nextHop: '10.0.0.1', remotePe: 'pe2', remotePeAddress: '10.255.0.2', rd: '65000:2' } }, source: VrfRouteSource.VRF_ROUTE_SOURCE_BGP_VPN }),
        VrfRoute.fromPartial({ vrf: 'red', prefix: '192.168.1.0/30', nextHop: local, source: VrfRouteSource.VRF_ROUTE_SOURCE_CONNECTED }),
      ],
      lfibEntries: [LfibEntry.fromPartial({ inLabel: extra.label ?? 100, action: { $case: 'popAndLookup', value: { vrf: 'red' } }, owner: 'vrf:red' })],
    }),
  };
}

const report = (appliedGeneration: number, extra: Partial<AgentReport> = {}): AgentReport => ({ appliedGeneration, failures: [], ports: [], lastSeenAt: ago(1), ...extra });

function view(over: Partial<ForwardingInput>): NodeForwarding {
  return new NodeForwarding({ node: 'pe1', latest: state(3), applied: state(3).state, report: report(3), now: NOW, agentTimeoutMs: 15_000, ...over });
}

test('installed, not failed, port up, agent heard from: the route is ready and the site active', () => {
  const v = view({});
  assert.deepEqual(v.route('red', '192.168.1.0/30', 100), { state: 'ready' });
  assert.deepEqual(v.statusOf(v.route('red', '192.168.1.0/30', 100)), { status: 'ACTIVE', reason: null });
  assert.deepEqual(v.nodeStatus(), { status: 'ACTIVE', reason: null });
});

test('no report yet: everything waits and says so', () => {
  const v = view({ report: undefined, applied: undefined });
  const r = v.route('red', '192.168.1.0/30', 100);
  assert.equal(r.state, 'pending');
  assert.deepEqual(v.statusOf(r), { status: 'PROVISIONING', reason: 'waiting for the agent of pe1 (it has not reported yet)' });
  assert.equal(v.nodeStatus().status, 'PROVISIONING');
});

test('a route the applied generation does not hold yet waits; one it holds unchanged stays ready though the agent is behind', () => {
  // Generation 4 moves the site to eth2 (new interface, new route contents); the agent applied 3.
  const v = view({ latest: state(4, 'eth2'), applied: state(3).state, report: report(3) });
  assert.deepEqual(v.route('red', '192.168.1.0/30', 100), { state: 'pending', reason: 'waiting for the agent of pe1 to apply generation 4 (it applied 3)' });
  // The LFIB entry alone is unchanged in 4: installed.
  assert.deepEqual(v.label(100), { state: 'ready' });
  assert.equal(v.nodeStatus().status, 'PROVISIONING');
});

test("the agent's failure of any entry the route needs makes it failed with the node and the agent's words", () => {
  const failures = [{ key: 'vrf:red', reason: 'no port eth9 on the bridge' }];
  const v = view({ report: report(3, { failures }) });
  const r = v.route('red', '192.168.1.0/30', 100);
  assert.deepEqual(r, { state: 'failed', reason: 'pe1: no port eth9 on the bridge' });
  assert.deepEqual(v.statusOf(r), { status: 'FAILED', reason: 'pe1: no port eth9 on the bridge' });
  assert.deepEqual(v.nodeStatus(), { status: 'DEGRADED', reason: 'pe1: no port eth9 on the bridge' });
  const label = view({ report: report(3, { failures: [{ key: 'label:100', reason: 'table full' }] }) });
  assert.equal(label.route('red', '192.168.1.0/30', 100).state, 'failed');
  // A failed remote route does not stop the local site, but the VRF hears of it.
  const remote = view({ report: report(3, { failures: [{ key: 'route:red 10.9.0.0/16', reason: 'no port core0 on the bridge' }] }) });
  assert.equal(remote.route('red', '192.168.1.0/30', 100).state, 'ready');
  assert.deepEqual(remote.remoteRouteFailures('red'), { state: 'failed', reason: 'pe1: no port core0 on the bridge' });
});

test('a CE-facing port reported down: the route is down, not advertised', () => {
  const v = view({ report: report(3, { ports: [{ interface: 'eth1', up: false, reason: 'link down' }] }) });
  const r = v.route('red', '192.168.1.0/30', 100);
  assert.deepEqual(r, { state: 'down', reason: 'pe1: eth1 is down: link down' });
  assert.equal(v.statusOf(r).status, 'DOWN');
  assert.equal(view({ report: report(3, { ports: [{ interface: 'eth1', up: true, reason: '' }] }) }).route('red', '192.168.1.0/30', 100).state, 'ready');
});

test('a silent agent: the node is unreachable; what it installed stays ready (headless forwarding), what is new waits and says why', () => {
  const silent = report(3, { lastSeenAt: ago(20) });
  const v = view({ report: silent });
  assert.deepEqual(v.unreachableSince, ago(20));
  assert.equal(v.nodeStatus().status, 'UNREACHABLE');
  assert.match(v.nodeStatus().reason!, /^no word from the agent of pe1 since 2026-12-07T04:59:40.000Z \(20 s\)/);
  const installed = v.route('red', '192.168.1.0/30', 100);
  assert.equal(installed.state, 'ready');
  assert.equal(v.statusOf(installed).status, 'UNREACHABLE');
  const newer = view({ latest: state(4, 'eth2'), report: silent });
  const r = newer.route('red', '192.168.1.0/30', 100);
  assert.deepEqual(newer.statusOf(r), { status: 'PROVISIONING', reason: 'waiting for the agent of pe1: unreachable since 2026-12-07T04:59:40.000Z' });
  // Within the timeout it is only quiet.
  assert.equal(view({ report: report(3, { lastSeenAt: ago(14) }) }).nodeStatus().status, 'ACTIVE');
});

test('applied generation no longer stored: an advertised label still desired stays, nothing new is admitted', () => {
  const v = view({ latest: state(20, 'eth1', { label: 101 }), applied: undefined, report: report(3), advertised: new Set([100, 101]) });
  assert.equal(v.route('red', '192.168.1.0/30', 101).state, 'ready');
  const fresh = view({ latest: state(20, 'eth1', { label: 101 }), applied: undefined, report: report(3), advertised: new Set([100]) });
  assert.equal(fresh.route('red', '192.168.1.0/30', 101).state, 'pending');
  // 100 is advertised but no longer desired: withdrawn.
  assert.equal(fresh.label(100).state, 'pending');
});

test('aggregate: agreement keeps the status; a failure among working parts degrades; otherwise waiting shows', () => {
  const a = { status: 'ACTIVE' as const, reason: null };
  const f = { status: 'FAILED' as const, reason: 'pe3: no port eth9 on the bridge' };
  const p = { status: 'PROVISIONING' as const, reason: 'waiting' };
  const u = { status: 'UNREACHABLE' as const, reason: 'silent' };
  assert.deepEqual(aggregate([]), a);
  assert.deepEqual(aggregate([a, a]), a);
  assert.deepEqual(aggregate([f, f]), f);
  assert.deepEqual(aggregate([a, f]), { status: 'DEGRADED', reason: f.reason });
  assert.deepEqual(aggregate([p, f]), { status: 'DEGRADED', reason: f.reason });
  assert.deepEqual(aggregate([a, p]), p);
  assert.deepEqual(aggregate([a, u]), { status: 'DEGRADED', reason: 'silent' });
});

test('reportMatters: another generation, failures, ports or the end of a silence wake the node; a heartbeat repeating the same does not', () => {
  const base = report(3, { lastSeenAt: ago(10) });
  assert.equal(reportMatters(undefined, base, 15_000), true);
  assert.equal(reportMatters(base, { ...base, lastSeenAt: ago(5) }, 15_000), false);
  assert.equal(reportMatters(base, { ...base, appliedGeneration: 4 }, 15_000), true);
  assert.equal(reportMatters(base, { ...base, failures: [{ key: 'vrf:red', reason: 'x' }] }, 15_000), true);
  assert.equal(reportMatters(base, { ...base, ports: [{ interface: 'eth1', up: false, reason: 'link down' }] }, 15_000), true);
  assert.equal(reportMatters({ ...base, lastSeenAt: ago(30) }, { ...base, lastSeenAt: NOW }, 15_000), true);
});

test('delivered (PE-CE export gating): the prefixes with some installed VRF route, once the VRF and the export labels are installed; unknown while the applied state is', () => {
  const v = view({});
  assert.deepEqual(v.delivered('red', ['10.9.0.0/16', '192.168.1.0/30', '10.70.0.0/24'], [100]), ['10.9.0.0/16', '192.168.1.0/30'], 'a remote route delivers too (a backup PE hands the traffic on)');
  assert.deepEqual(v.delivered('red', ['10.9.0.0/16'], [100, 555]), [], 'a label not installed: nothing is delivered with it');
  assert.deepEqual(view({ report: report(3, { failures: [{ key: 'route:red 10.9.0.0/16', reason: 'no next hop' }] }) }).delivered('red', ['10.9.0.0/16', '192.168.1.0/30'], [100]), ['192.168.1.0/30']);
  // A newer generation changes the route (eth2): the installed version still delivers meanwhile.
  assert.deepEqual(view({ latest: state(4, 'eth2', { label: 100 }), applied: state(3).state, report: report(3) }).delivered('red', ['192.168.1.0/30'], [100]), ['192.168.1.0/30']);
  assert.equal(view({ report: undefined, applied: undefined }).delivered('red', ['10.9.0.0/16'], [100]), undefined);
  assert.deepEqual(view({}).delivered('blue', ['10.9.0.0/16'], [100]), [], 'no such VRF installed');
});
