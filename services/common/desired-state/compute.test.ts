import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LookupFamily, NodeDesiredState, NodeRole, type LfibEntry, type VrfRoute, VrfRouteSource } from '../gen/proto/l3vpn/v1/agent.js';
import { computeDesiredStates, computeNodeDesiredState, prepareNetwork } from './compute.js';
import { danglingReferences, stateTables } from './diff.js';
import { fixtureInput, fixtureInventory, fixtureVpns } from './fixture.js';
import { simulateSelectedRoutes } from '../../../test/support/simulated-routes.js';
import { DesiredStateError, type DesiredStateInput, type SelectedVpnRoute } from './types.js';

function computeAll(input: DesiredStateInput = fixtureInput(), extra: Record<string, SelectedVpnRoute[]> = {}) {
  const routes = simulateSelectedRoutes(input);
  for (const [node, list] of Object.entries(extra)) routes.set(node, [...(routes.get(node) ?? []), ...list]);
  return computeDesiredStates(input, routes, { generation: 7 });
}

function route(state: NodeDesiredState, vrf: string, prefix: string): VrfRoute {
  const r = state.vrfRoutes.find((x) => x.vrf === vrf && x.prefix === prefix);
  assert.ok(r, `no route ${vrf} ${prefix} on ${state.node}`);
  return r;
}

function lfib(state: NodeDesiredState, label: number): LfibEntry | undefined {
  return state.lfibEntries.find((e) => e.inLabel === label);
}

test('ingress PE pushes [transport, VPN] towards a remote PE two hops away', () => {
  const pe1 = computeAll().get('PE1')!.state;
  // PE1 -> P1 -> P2 -> PE2: P1's label of PE2 (P1 SRGB 16000 + index 2), then red's VRF label at PE2.
  assert.deepEqual(route(pe1, 'red', '10.2.0.0/16'), {
    vrf: 'red',
    prefix: '10.2.0.0/16',
    nextHop: {
      $case: 'remote',
      value: {
        labels: [16002, 200],
        outInterface: 'core0',
        nextHop: '10.0.0.1',
        remotePe: 'PE2',
        remotePeAddress: '10.255.0.2',
        externalTransport: false,
        rd: '65000:2',
        // PE1's own label of PE2: the LFIB entry whose next hops a fast-failover driver forwards through.
        localSidLabel: 16002,
      },
    },
    source: VrfRouteSource.VRF_ROUTE_SOURCE_BGP_VPN,
    multipath: [],
  });
  // The attachment subnet of the remote site is reachable too.
  assert.deepEqual((route(pe1, 'red', '192.168.2.0/30').nextHop?.value as { labels: number[] }).labels, [16002, 200]);
  // PE3 hangs off P1: P1 is the penultimate hop.
  assert.deepEqual((route(pe1, 'red', '10.3.0.0/16').nextHop?.value as { labels: number[] }).labels, [16003, 300]);
});

test('node SID swaps along the path use the next hop SRGB, and the penultimate hop pops', () => {
  const all = computeAll();
  const p1 = all.get('P1')!.state;
  const p2 = all.get('P2')!.state;
  // P1 receives 16002 (its SRGB) and swaps to P2's label of PE2: 20000 + 2.
  assert.deepEqual(lfib(p1, 16002), {
    inLabel: 16002,
    action: { $case: 'swap', value: { outLabels: [20002], outInterface: 'core1', nextHop: '10.0.1.1', destinationNode: 'PE2', backup: undefined } },
    owner: 'sid:PE2',
  });
  // P2 is PE2's neighbour: PHP.
  assert.deepEqual(lfib(p2, 20002), {
    inLabel: 20002,
    action: { $case: 'pop', value: { outInterface: 'core1', nextHop: '10.0.2.1', destinationNode: 'PE2', backup: undefined } },
    owner: 'sid:PE2',
  });
  // P1 pops for its neighbours PE1 and PE3, and P2's SID.
  assert.equal(lfib(p1, 16001)?.action?.$case, 'pop');
  assert.equal(lfib(p1, 16003)?.action?.$case, 'pop');
  assert.equal(lfib(p1, 16012)?.action?.$case, 'pop');
  // The reverse direction: PE2 -> P2 (20001 at P2) -> P1 (16001 at P1, pop) -> PE1.
  const pe2 = all.get('PE2')!.state;
  assert.deepEqual((route(pe2, 'red', '10.1.0.0/16').nextHop?.value as { labels: number[] }).labels, [20001, 100]);
  assert.deepEqual(lfib(p2, 20001)?.action, {
    $case: 'swap',
    value: { outLabels: [16001], outInterface: 'core0', nextHop: '10.0.1.0', destinationNode: 'PE1', backup: undefined },
  });
  // Nobody holds an entry for its own SID (neighbours pop it).
  for (const [id, { state }] of all) {
    assert.equal(state.lfibEntries.some((e) => e.owner === `sid:${id}`), false, id);
    // Every SR node has an entry for each of the other four SIDs.
    assert.equal(state.lfibEntries.filter((e) => e.owner.startsWith('sid:')).length, 4, id);
  }
  assert.equal(p1.transport?.penultimateHopPopping, true);
  assert.equal(p2.transport?.nodeSidLabel, 20012);
});

test('P nodes hold no VPN state', () => {
  const all = computeAll();
  for (const id of ['P1', 'P2']) {
    const s = all.get(id)!.state;
    assert.equal(s.role, NodeRole.NODE_ROLE_P);
    assert.deepEqual([s.vrfs, s.vrfRoutes, s.transportPaths], [[], [], []]);
    assert.ok(s.lfibEntries.every((e) => e.action?.$case === 'swap' || e.action?.$case === 'pop'));
  }
});

test('per-VRF labels pop and look up; per-CE labels pop and forward to the CE', () => {
  const pe1 = computeAll().get('PE1')!.state;
  assert.deepEqual(lfib(pe1, 100), { inLabel: 100, action: { $case: 'popAndLookup', value: { vrf: 'red', family: LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } }, owner: 'vrf:red' });
  assert.deepEqual(lfib(pe1, 110), {
    inLabel: 110,
    action: { $case: 'popAndForward', value: { vrf: 'blue', nextHop: { interface: 'cust0', vlan: 200, address: '192.168.1.2' } } },
    owner: 'ce:blue:blue-a',
  });
  assert.deepEqual(lfib(pe1, 111)?.action, {
    $case: 'popAndForward',
    value: { vrf: 'blue', nextHop: { interface: 'cust0', vlan: 200, address: '2001:db8:1::2' } },
  });
  // blue's VRF label serves its connected subnets.
  assert.deepEqual(lfib(pe1, 101)?.action, { $case: 'popAndLookup', value: { vrf: 'blue', family: LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } });
  // The remote per-CE label is what PE2 pushes for blue-a's prefixes.
  const pe2 = computeAll().get('PE2')!.state;
  assert.deepEqual((route(pe2, 'blue', '10.1.0.0/16').nextHop?.value as { labels: number[] }).labels, [20001, 110]);
  assert.deepEqual((route(pe2, 'blue', '2001:db8:100::/48').nextHop?.value as { labels: number[] }).labels, [20001, 111]);
});

test('per-prefix labels: pop and forward for a static prefix, pop and look up for the connected subnet', () => {
  const vpns = fixtureVpns();
  const green = {
    id: 'green',
    labelMode: 'per-prefix' as const,
    vrfs: [{ pe: 'PE3', name: 'green', tableId: 1003, rd: '65000:31', importRouteTargets: [], exportRouteTargets: [] }],
    sites: [
      {
        id: 'g1',
        pe: 'PE3',
        interface: 'cust1',
        peAddress: '172.16.0.1/29',
        ceAddress: '172.16.0.2',
        staticPrefixes: ['10.9.0.0/16', '10.8.0.0/16'],
        prefixLabels: { '10.9.0.0/16': 500, '172.16.0.0/29': 501 },
      },
    ],
  };
  const result = computeAll({ inventory: fixtureInventory(), vpns: [...vpns, green] }).get('PE3')!;
  assert.deepEqual(lfib(result.state, 500)?.action, {
    $case: 'popAndForward',
    value: { vrf: 'green', nextHop: { interface: 'cust1', vlan: 0, address: '172.16.0.2' } },
  });
  assert.deepEqual(lfib(result.state, 501)?.action, { $case: 'popAndLookup', value: { vrf: 'green', family: LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } });
  assert.deepEqual(result.warnings, [
    { code: 'missing-label', message: "site 'g1' has no per-prefix label", vrf: 'green', prefix: '10.8.0.0/16' },
  ]);
});

test('a VRF\u2019s IPv6 label pops to an IPv6 lookup beside its VRF label; an IPv6 connected subnet\u2019s per-prefix label too', () => {
  const vpns = fixtureVpns().map((v) => (v.id !== 'blue' ? v : { ...v, vrfs: v.vrfs.map((x) => (x.pe === 'PE1' ? { ...x, vrfLabelIpv6: 102 } : x)) }));
  const pe1 = computeAll({ inventory: fixtureInventory(), vpns }).get('PE1')!;
  assert.deepEqual(lfib(pe1.state, 101)?.action, { $case: 'popAndLookup', value: { vrf: 'blue', family: LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } });
  assert.deepEqual(lfib(pe1.state, 102), { inLabel: 102, action: { $case: 'popAndLookup', value: { vrf: 'blue', family: LookupFamily.LOOKUP_FAMILY_IPV6 } }, owner: 'vrf:blue:ipv6' });
  assert.deepEqual(pe1.warnings, []);
  // The same label twice on the node is refused, as for any other label.
  const clash = fixtureVpns().map((v) => (v.id !== 'blue' ? v : { ...v, vrfs: v.vrfs.map((x) => (x.pe === 'PE1' ? { ...x, vrfLabelIpv6: 110 } : x)) }));
  assert.throws(() => computeAll({ inventory: fixtureInventory(), vpns: clash }), /label 110 on 'PE1' is both/);
  const green = {
    id: 'green',
    labelMode: 'per-prefix' as const,
    vrfs: [{ pe: 'PE3', name: 'green', tableId: 1003, rd: '65000:31', importRouteTargets: [], exportRouteTargets: [] }],
    sites: [{ id: 'g6', pe: 'PE3', interface: 'cust1', peAddress: '2001:db8:9::1/64', ceAddress: '2001:db8:9::2', prefixLabels: { '2001:db8:9::/64': 601 } }],
  };
  const pe3 = computeAll({ inventory: fixtureInventory(), vpns: [...fixtureVpns(), green] }).get('PE3')!;
  assert.deepEqual(lfib(pe3.state, 601)?.action, { $case: 'popAndLookup', value: { vrf: 'green', family: LookupFamily.LOOKUP_FAMILY_IPV6 } });
});

test('overlapping customer prefixes stay in their own VRFs', () => {
  const pe1 = computeAll().get('PE1')!.state;
  assert.deepEqual(
    pe1.vrfs.map((v) => [v.name, v.tableId, v.interfaces]),
    [
      ['blue', 1002, [{ name: 'cust0', vlan: 200, addresses: ['192.168.1.1/30', '2001:db8:1::1/64'], bgpSessions: [] }]],
      ['red', 1001, [{ name: 'cust0', vlan: 100, addresses: ['192.168.1.1/30'], bgpSessions: [] }]],
    ],
  );
  // Local: the same prefix through the same CE address, on different VLANs.
  assert.deepEqual(route(pe1, 'red', '10.1.0.0/16').nextHop, { $case: 'local', value: { interface: 'cust0', vlan: 100, address: '192.168.1.2' } });
  assert.deepEqual(route(pe1, 'blue', '10.1.0.0/16').nextHop, { $case: 'local', value: { interface: 'cust0', vlan: 200, address: '192.168.1.2' } });
  assert.deepEqual(route(pe1, 'red', '192.168.1.0/30').nextHop, { $case: 'local', value: { interface: 'cust0', vlan: 100, address: '' } });
  assert.equal(route(pe1, 'red', '192.168.1.0/30').source, VrfRouteSource.VRF_ROUTE_SOURCE_CONNECTED);
  // Remote: the same prefix with each VPN's label.
  assert.deepEqual((route(pe1, 'red', '10.2.0.0/16').nextHop?.value as { labels: number[] }).labels, [16002, 200]);
  assert.deepEqual((route(pe1, 'blue', '10.2.0.0/16').nextHop?.value as { labels: number[] }).labels, [16002, 210]);
  // Routes are sorted by VRF, then IPv4 before IPv6, numerically.
  assert.deepEqual(
    pe1.vrfRoutes.map((r) => `${r.vrf} ${r.prefix}`),
    [
      'blue 10.1.0.0/16',
      'blue 10.2.0.0/16',
      'blue 192.168.1.0/30',
      'blue 192.168.2.0/30',
      'blue 2001:db8:1::/64',
      'blue 2001:db8:100::/48',
      'red 10.1.0.0/16',
      'red 10.2.0.0/16',
      'red 10.3.0.0/16',
      'red 192.168.1.0/30',
      'red 192.168.2.0/30',
      'red 192.168.3.0/30',
    ],
  );
});

test('a remote PE that is a neighbour gets no transport label (PHP at the ingress PE)', () => {
  const inventory = fixtureInventory();
  const input: DesiredStateInput = {
    inventory: {
      ...inventory,
      links: [...inventory.links, { a: { node: 'PE1', interface: 'core9', address: '10.0.9.0/31' }, b: { node: 'PE3', interface: 'core9', address: '10.0.9.1/31' }, metric: 5 }],
    },
    vpns: fixtureVpns(),
  };
  const pe1 = computeAll(input).get('PE1')!.state;
  assert.deepEqual(route(pe1, 'red', '10.3.0.0/16').nextHop?.value, {
    labels: [300],
    outInterface: 'core9',
    nextHop: '10.0.9.1',
    remotePe: 'PE3',
    remotePeAddress: '10.255.0.3',
    externalTransport: false,
    rd: '65000:3',
    localSidLabel: 16003,
  });
  // The tree of the fixture has no alternates; the direct link adds one: the old path over P1 is loop-free
  // (D(P1,PE3) 10 < D(P1,PE1) 10 + D(PE1,PE3) 5), under P1's label of PE3. PE3 is the primary neighbour: link protection.
  const backup = { outInterface: 'core0', nextHop: '10.0.0.1', outLabels: [16003], viaNode: 'P1', repairNode: '', nodeProtecting: false };
  assert.deepEqual(pe1.transportPaths.find((p) => p.remoteNode === 'PE3'), {
    remoteNode: 'PE3',
    remoteAddress: '10.255.0.3',
    labels: [],
    outInterface: 'core9',
    nextHop: '10.0.9.1',
    metric: 5,
    backup,
  });
  assert.deepEqual(lfib(pe1, 16003)?.action, { $case: 'pop', value: { outInterface: 'core9', nextHop: '10.0.9.1', destinationNode: 'PE3', backup } });
  // Without the direct link there is none.
  assert.equal(computeAll().get('PE1')!.state.transportPaths.find((p) => p.remoteNode === 'PE3')!.backup, undefined);
});

test('external transport: only the VPN label, the node supplies the transport label', () => {
  const inventory = fixtureInventory();
  const input: DesiredStateInput = {
    inventory: { ...inventory, nodes: inventory.nodes.map((n) => (n.id === 'PE3' ? { ...n, transport: 'external' as const } : n)) },
    vpns: fixtureVpns(),
  };
  const all = computeAll(input);
  const pe3 = all.get('PE3')!;
  assert.deepEqual(route(pe3.state, 'red', '10.2.0.0/16').nextHop?.value, {
    labels: [200],
    outInterface: '',
    nextHop: '',
    remotePe: 'PE2',
    remotePeAddress: '10.255.0.2',
    externalTransport: true,
    rd: '65000:2',
    localSidLabel: 0,
  });
  assert.equal(pe3.state.transport?.mode, 2);
  assert.equal(pe3.state.transport?.srgb, undefined);
  assert.deepEqual(pe3.state.transportPaths, []);
  // Only its VPN label: no SR entries.
  assert.deepEqual(pe3.state.lfibEntries.map((e) => e.owner), ['vrf:red']);
  // PE3 has left the SR domain: P1 has no entry for its SID, and SR PEs cannot reach it.
  assert.equal(all.get('P1')!.state.lfibEntries.some((e) => e.owner === 'sid:PE3'), false);
  const pe1 = all.get('PE1')!;
  assert.equal(pe1.state.vrfRoutes.some((r) => r.prefix === '10.3.0.0/16'), false);
  assert.deepEqual(pe1.warnings.map((w) => w.code), ['unresolved-next-hop']);
});

test('routes from BGP: CE next hops are local, unknown PEs and VRFs are warnings, own routes are skipped', () => {
  const extra: SelectedVpnRoute[] = [
    { vrf: 'red', prefix: '10.50.0.0/16', nextHop: '192.168.1.2', label: 0, rd: '' },
    { vrf: 'red', prefix: '10.60.0.0/16', nextHop: '192.0.2.99', label: 999, rd: '65001:1' },
    { vrf: 'green', prefix: '10.70.0.0/16', nextHop: '10.255.0.2', label: 999, rd: '65000:2' },
    { vrf: 'red', prefix: '10.80.0.0/16', nextHop: '10.255.0.1', label: 100, rd: '65000:1' },
    { vrf: 'red', prefix: '10.1.0.0/16', nextHop: '10.255.0.2', label: 200, rd: '65000:2' },
    { vrf: 'red', prefix: '10.2.0.1/16', nextHop: '10.255.0.2', label: 200, rd: '65000:2' },
  ];
  const pe1 = computeAll(fixtureInput(), { PE1: extra }).get('PE1')!;
  assert.deepEqual(route(pe1.state, 'red', '10.50.0.0/16'), {
    vrf: 'red',
    prefix: '10.50.0.0/16',
    nextHop: { $case: 'local', value: { interface: 'cust0', vlan: 100, address: '192.168.1.2' } },
    source: VrfRouteSource.VRF_ROUTE_SOURCE_BGP_CE,
    multipath: [],
  });
  assert.equal(pe1.state.vrfRoutes.some((r) => r.prefix === '10.60.0.0/16' || r.prefix === '10.80.0.0/16'), false);
  // The static route beats the remote route for the same prefix.
  assert.equal(route(pe1.state, 'red', '10.1.0.0/16').source, VrfRouteSource.VRF_ROUTE_SOURCE_STATIC);
  assert.deepEqual(
    pe1.warnings.map((w) => [w.code, w.vrf ?? '', w.prefix ?? '']),
    [
      ['unresolved-next-hop', '', ''],
      ['unknown-vrf', 'green', '10.70.0.0/16'],
      ['invalid-route', 'red', '10.2.0.1/16'],
    ],
  );
});

test('same input gives byte-identical output, whatever the order of the input lists', () => {
  const encodeAll = (input: DesiredStateInput, reverseRoutes: boolean) => {
    const routes = simulateSelectedRoutes(input);
    if (reverseRoutes) for (const list of routes.values()) list.reverse();
    const all = computeDesiredStates(input, routes, { generation: 7 });
    return [...all.keys()].sort().map((id) => Buffer.from(NodeDesiredState.encode(all.get(id)!.state).finish()).toString('hex'));
  };
  const a = encodeAll(fixtureInput(), false);
  assert.deepEqual(encodeAll(fixtureInput(), false), a);
  const inv = fixtureInventory();
  const shuffled: DesiredStateInput = {
    inventory: { nodes: [...inv.nodes].reverse(), links: [...inv.links].reverse() },
    vpns: fixtureVpns()
      .reverse()
      .map((v) => ({ ...v, vrfs: [...v.vrfs].reverse(), sites: [...v.sites].reverse() })),
  };
  assert.deepEqual(encodeAll(shuffled, true), a);
  // And JSON too (what the store may keep).
  const json = (input: DesiredStateInput) =>
    JSON.stringify([...computeDesiredStates(input, simulateSelectedRoutes(input), { generation: 1 }).values()].map((r) => r.state));
  assert.equal(json(shuffled), json(fixtureInput()));
});

test('every computed state is self-consistent', () => {
  for (const [id, { state, warnings }] of computeAll()) {
    assert.deepEqual(danglingReferences(stateTables(state)), [], id);
    assert.deepEqual(warnings, [], id);
    // Round trip through the wire format.
    assert.deepEqual(NodeDesiredState.decode(NodeDesiredState.encode(state).finish()), state, id);
  }
});

test('input errors are refused with the field named', () => {
  const bad = (mutate: (input: DesiredStateInput) => DesiredStateInput, field: RegExp) => {
    assert.throws(() => prepareNetwork(mutate(fixtureInput())), (err: unknown) => err instanceof DesiredStateError && field.test(err.message));
  };
  const withVpn = (f: (v: ReturnType<typeof fixtureVpns>[number]) => ReturnType<typeof fixtureVpns>[number]) => (input: DesiredStateInput) => ({
    ...input,
    vpns: input.vpns.map((v) => (v.id === 'red' ? f(v) : v)),
  });
  bad(withVpn((v) => ({ ...v, sites: v.sites.map((s) => ({ ...s, ceAddress: '192.168.9.9' })) })), /sites\[0\]\.ceAddress/);
  bad(withVpn((v) => ({ ...v, sites: v.sites.map((s) => ({ ...s, vlan: 200 })) })), /in VRFs 'blue' and 'red'/);
  bad(withVpn((v) => ({ ...v, vrfs: v.vrfs.map((x) => ({ ...x, tableId: 1002 })) })), /table id 1002/);
  bad(withVpn((v) => ({ ...v, vrfs: v.vrfs.map((x) => ({ ...x, tableId: 254 })) })), /tableId/);
  bad(withVpn((v) => ({ ...v, sites: v.sites.map((s) => ({ ...s, interface: 'core0' })) })), /is a core link/);
  bad(withVpn((v) => ({ ...v, sites: v.sites.map((s) => ({ ...s, staticPrefixes: ['10.1.0.1/16'] })) })), /host bits/);
  bad(withVpn((v) => ({ ...v, vrfs: v.vrfs.map((x) => ({ ...x, pe: 'P1' })) })), /not a PE/);
  bad((input) => ({ ...input, inventory: { ...input.inventory, nodes: input.inventory.nodes.map((n) => ({ ...n, nodeSidIndex: 1 })) } }), /node SID index 1/);
  bad(
    (input) => ({ ...input, inventory: { ...input.inventory, nodes: input.inventory.nodes.map((n) => (n.id === 'P2' ? { ...n, srgb: { base: 20000, size: 10 } } : n)) } }),
    /outside the SRGB of 'P2'/,
  );
  // A label used twice on one node.
  const net = prepareNetwork(withVpn((v) => ({ ...v, vrfs: v.vrfs.map((x) => (x.pe === 'PE1' ? { ...x, vrfLabel: 110 } : x)) }))(fixtureInput()));
  assert.throws(() => computeNodeDesiredState(net, 'PE1', [], { generation: 1 }), /label 110 on 'PE1' is both/);
});

test('a site peering eBGP gets one relayed session per CE address family on its interface, sorted by CE address', () => {
  const input = fixtureInput();
  const vpns = input.vpns.map((v) =>
    v.id === 'blue' ? { ...v, sites: v.sites.map((s) => (s.pe === 'PE1' ? { ...s, bgp: true } : s)) } : v,
  );
  const pe1 = computeAll({ ...input, vpns }).get('PE1')!.state;
  const blue = pe1.vrfs.find((v) => v.name === 'blue')!;
  // Dual-stack: the IPv6 attachment is a second site on the same interface and VLAN; "192..." sorts after "2001:...".
  assert.deepEqual(blue.interfaces, [
    {
      name: 'cust0',
      vlan: 200,
      addresses: ['192.168.1.1/30', '2001:db8:1::1/64'],
      bgpSessions: [
        { ceAddress: '192.168.1.2', peAddress: '192.168.1.1' },
        { ceAddress: '2001:db8:1::2', peAddress: '2001:db8:1::1' },
      ].sort((a, b) => (a.ceAddress < b.ceAddress ? -1 : 1)),
    },
  ]);
  // Only the peering site's interface: red on PE1 and blue on PE2 peer with nobody.
  assert.deepEqual(pe1.vrfs.find((v) => v.name === 'red')!.interfaces[0]!.bgpSessions, []);
  assert.deepEqual(computeAll({ ...input, vpns }).get('PE2')!.state.vrfs.find((v) => v.name === 'blue')!.interfaces[0]!.bgpSessions, []);
});

test('only the attachment of the family that peers gets a session', () => {
  const input = fixtureInput();
  const vpns = input.vpns.map((v) => (v.id === 'blue' ? { ...v, sites: v.sites.map((s) => (s.id === 'blue-a6' ? { ...s, bgp: true } : s)) } : v));
  const blue = computeAll({ ...input, vpns }).get('PE1')!.state.vrfs.find((v) => v.name === 'blue')!;
  assert.deepEqual(blue.interfaces[0]!.bgpSessions, [{ ceAddress: '2001:db8:1::2', peAddress: '2001:db8:1::1' }]);
});

test('routes from BGP: a selected path whose next hop does not resolve gives way to the first fallback that does (RFC 4271 §9.1.2.1)', () => {
  const backup = { nextHop: '10.255.0.2', label: 200, rd: '65000:2' };
  const extra: SelectedVpnRoute[] = [
    // The preferred PE is cut off (not reachable over segment routing): its backup carries the prefix.
    { vrf: 'red', prefix: '10.60.0.0/16', nextHop: '192.0.2.99', label: 999, rd: '65001:1', fallbacks: [{ nextHop: '192.0.2.98', label: 998, rd: '65001:2' }, backup] },
    // No candidate resolves: no route.
    { vrf: 'red', prefix: '10.61.0.0/16', nextHop: '192.0.2.99', label: 999, rd: '65001:1', fallbacks: [{ nextHop: '192.0.2.98', label: 998, rd: '65001:2' }] },
    // The selected path resolves: its fallbacks are not used.
    { vrf: 'red', prefix: '10.62.0.0/16', nextHop: '10.255.0.3', label: 300, rd: '65000:3', fallbacks: [backup] },
  ];
  const pe1 = computeAll(fixtureInput(), { PE1: extra }).get('PE1')!;
  const via = (prefix: string) => {
    const nh = route(pe1.state, 'red', prefix).nextHop;
    return nh?.$case === 'remote' ? [nh.value.remotePe, nh.value.labels.at(-1), nh.value.rd] : undefined;
  };
  assert.deepEqual(via('10.60.0.0/16'), ['PE2', 200, '65000:2']);
  assert.equal(pe1.state.vrfRoutes.some((r) => r.prefix === '10.61.0.0/16'), false);
  assert.deepEqual(via('10.62.0.0/16'), ['PE3', 300, '65000:3']);
  assert.deepEqual(pe1.warnings.map((w) => w.code), ['unresolved-next-hop', 'unresolved-next-hop']);
});
