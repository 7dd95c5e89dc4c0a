// The linux driver's pure parts: names, the lines an entry becomes, what
// `ip -j` prints read back, and how an `ip -batch` failure is traced to its
// change. The driver against a real kernel: test/agent/linux-qemu.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeKind, type DesiredStateChange, LookupFamily, type VrfRoute } from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { batchFailures, LinuxDriver, NO_BGP_RELAY } from './driver.js';
import { interfaceDevice, labelIntent, labelReplaceLine, Refusal, routeIntent, routeReplaceLine, vrfDevice } from './intent.js';
import { parseLabelRoutes, parseLinks, parseRoutes } from './kernel.js';
import type { CommandResult, CommandRunner } from './runner.js';

test('linux names: VRF devices l3v-<name> (hashed when too long), VLAN subinterfaces <if>.<vlan>, refusals with reasons', () => {
  assert.equal(vrfDevice('red'), 'l3v-red');
  const long = vrfDevice('customer-acme-corp');
  assert.match(long, /^l3v-[0-9a-f]{11}$/);
  assert.notEqual(long, vrfDevice('customer-acme-corp2'));
  assert.equal(interfaceDevice('cust0', 100), 'cust0.100');
  assert.equal(interfaceDevice('cust0', 0), 'cust0');
  assert.throws(() => interfaceDevice('enp0s31f6-long', 4000), (e: Error) => e instanceof Refusal && /longer than 15/.test(e.message));
  assert.throws(() => vrfDevice('a b'), Refusal);
});

test('linux intents: remote routes push the whole stack over the core next hop; LFIB actions become MPLS routes', () => {
  const remote: VrfRoute = {
    vrf: 'red',
    prefix: '10.2.0.0/16',
    source: 4,
    multipath: [],
    nextHop: { $case: 'remote', value: { labels: [16002, 200], outInterface: 'core0', nextHop: '10.0.0.1', remotePe: 'PE2', remotePeAddress: '10.255.0.2', externalTransport: false, rd: '65000:2', localSidLabel: 0 } },
  };
  assert.equal(routeReplaceLine(routeIntent(remote, 1001), 76), 'route replace 10.2.0.0/16 encap mpls 16002/200 via inet 10.0.0.1 dev core0 table 1001 proto 76');
  // 6VPE: an IPv6 prefix over the IPv4 core next hop, as the IPv4-mapped gateway the MPLS encap resolves by ARP.
  const v6 = { ...remote, prefix: '2001:db8:a2::/48' };
  assert.equal(routeReplaceLine(routeIntent(v6, 1001), 76), 'route replace 2001:db8:a2::/48 encap mpls 16002/200 via inet6 ::ffff:10.0.0.1 dev core0 onlink table 1001 proto 76');
  const external = { ...remote, nextHop: { $case: 'remote' as const, value: { ...(remote.nextHop!.value as object), externalTransport: true } } } as VrfRoute;
  assert.throws(() => routeIntent(external, 1001), /external transport/);
  const dev = (v: string) => vrfDevice(v);
  const line = (action: NonNullable<Parameters<typeof labelIntent>[0]['action']>) => labelReplaceLine(labelIntent({ inLabel: 100, action, owner: '' }, dev), 76);
  assert.equal(line({ $case: 'popAndLookup', value: { vrf: 'red', family: LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } }), 'route replace 100 dev l3v-red proto 76');
  assert.equal(
    line({ $case: 'popAndForward', value: { vrf: 'blue', nextHop: { interface: 'cust0', vlan: 200, address: '2001:db8:1::2' } } }),
    'route replace 100 via inet6 2001:db8:1::2 dev cust0.200 proto 76',
  );
  assert.equal(line({ $case: 'swap', value: { outLabels: [20002], outInterface: 'core1', nextHop: '10.0.1.1', destinationNode: 'PE2' } }), 'route replace 100 as 20002 via inet 10.0.1.1 dev core1 proto 76');
  assert.equal(line({ $case: 'pop', value: { outInterface: 'core1', nextHop: '10.0.1.1', destinationNode: 'PE2' } }), 'route replace 100 via inet 10.0.1.1 dev core1 proto 76');
});

test('linux read: ip -j output (encap labels under a second "dst", host routes without a length, swap labels under "to")', () => {
  const routes = parseRoutes(
    '[{"dst":"10.2.0.0/16","encap":"mpls","dst":"16002/200","gateway":"10.0.0.1","dev":"core0","table":"1001","flags":[]},' +
      '{"dst":"10.9.9.9","via":{"family":"inet6","host":"FE80::1"},"dev":"cust0.100","table":"1001","flags":[]}]',
    4,
  );
  assert.deepEqual(routes, [
    { table: 1001, prefix: '10.2.0.0/16', dev: 'core0', via: '10.0.0.1', labels: [16002, 200] },
    { table: 1001, prefix: '10.9.9.9/32', dev: 'cust0.100', via: 'fe80::1', labels: [] },
  ]);
  // ... and read back as the IPv4 next hop it stands for.
  assert.deepEqual(
    parseRoutes('[{"dst":"2001:db8:a2::/48","encap":"mpls","dst":"16002/200","gateway":"::ffff:10.0.0.1","dev":"core0","table":"1001","flags":["onlink"]}]', 6),
    [{ table: 1001, prefix: '2001:db8:a2::/48', dev: 'core0', via: '10.0.0.1', labels: [16002, 200] }],
  );
  assert.deepEqual(parseLabelRoutes('[{"dst":"16002","to":"16003/200","via":{"family":"inet","host":"10.0.0.1"},"dev":"core0","flags":[]},{"dst":"100","dev":"l3v-red","flags":[]}]'), [
    { label: 16002, dev: 'core0', via: '10.0.0.1', labels: [16003, 200] },
    { label: 100, dev: 'l3v-red', via: undefined, labels: [] },
  ]);
  const links = parseLinks(
    '[{"ifname":"l3v-red","flags":["NOARP","MASTER","UP"],"linkinfo":{"info_kind":"vrf","info_data":{"table":1001}},"ifalias":"red"},' +
      '{"ifname":"cust0.100","link":"cust0","master":"l3v-red","flags":["UP"],"linkinfo":{"info_kind":"vlan","info_data":{"protocol":"802.1Q","id":100}}}]',
    '[{"ifname":"cust0.100","addr_info":[{"family":"inet6","local":"fe80::1","prefixlen":64},{"family":"inet","local":"192.168.1.1","prefixlen":30}]}]',
  );
  assert.deepEqual(links.get('l3v-red'), { name: 'l3v-red', kind: 'vrf', master: undefined, vrfTable: 1001, vlanId: undefined, parent: undefined, alias: 'red', up: true, addresses: [] });
  assert.deepEqual(links.get('cust0.100')?.addresses, ['192.168.1.1/30']);
  assert.equal(links.get('cust0.100')?.parent, 'cust0');
});

test('linux batches: each failed line is traced to its change with the kernel’s words; deleting what is gone is no failure', async () => {
  assert.deepEqual(
    [...batchFailures('Error: Nexthop device is not up.\nCommand failed -:2\nRTNETLINK answers: No such process\nCommand failed -:3\n')],
    [
      [2, 'Error: Nexthop device is not up.'],
      [3, 'RTNETLINK answers: No such process'],
    ],
  );
  const batches: string[][] = [];
  const runner: CommandRunner = {
    async run(argv, input): Promise<CommandResult> {
      if (argv.includes('link') && argv.includes('show')) return { code: 0, stdout: '[{"ifname":"l3v-red","flags":["UP"],"linkinfo":{"info_kind":"vrf","info_data":{"table":1001}},"ifalias":"red"}]', stderr: '' };
      if (argv.includes('addr')) return { code: 0, stdout: '[]', stderr: '' };
      if (argv.includes('-batch')) {
        batches.push([argv.slice(1, -2).join(' '), ...(input ?? '').trim().split('\n')]);
        return { code: 1, stdout: '', stderr: 'Error: Nexthop device is not up.\nCommand failed -:1\nRTNETLINK answers: No such process\nCommand failed -:2\n' };
      }
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  const driver = new LinuxDriver({ runner });
  const route = (prefix: string): VrfRoute => ({ vrf: 'red', prefix, source: 2, multipath: [], nextHop: { $case: 'local', value: { interface: 'cust0', vlan: 0, address: '192.168.1.2' } } });
  const changes: DesiredStateChange[] = [
    { kind: ChangeKind.CHANGE_KIND_ADD, entry: { entry: { $case: 'vrfRoute', value: route('10.1.0.0/16') } }, previous: undefined },
    { kind: ChangeKind.CHANGE_KIND_DELETE, entry: undefined, previous: { entry: { $case: 'vrfRoute', value: route('10.5.0.0/16') } } },
    { kind: ChangeKind.CHANGE_KIND_ADD, entry: { entry: { $case: 'vrfRoute', value: { ...route('10.6.0.0/16'), vrf: 'green' } } }, previous: undefined },
  ];
  const failures = await driver.apply(changes);
  assert.deepEqual(batches, [['-force -4', 'route replace 10.1.0.0/16 via inet 192.168.1.2 dev cust0 table 1001 proto 76', 'route del 10.5.0.0/16 table 1001 proto 76']]);
  assert.deepEqual(failures, [
    { index: 0, reason: 'Error: Nexthop device is not up. (route replace 10.1.0.0/16 via inet 192.168.1.2 dev cust0 table 1001 proto 76)' },
    { index: 2, reason: 'no VRF green' },
  ]);
});

test('linux: a VRF interface with PE-CE BGP sessions is refused with the reason (never ignored); the VRF itself still goes in', async () => {
  const lines: string[] = [];
  const runner: CommandRunner = {
    async run(argv, input): Promise<CommandResult> {
      if (argv.includes('link') && argv.includes('show')) return { code: 0, stdout: '[{"ifname":"cust0","flags":["UP"]}]', stderr: '' };
      if (argv.includes('addr') && argv.includes('show')) return { code: 0, stdout: '[]', stderr: '' };
      if (argv.includes('-batch')) lines.push(...(input ?? '').trim().split('\n'));
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  const driver = new LinuxDriver({ runner });
  const vrf = (bgpSessions: { ceAddress: string; peAddress: string }[]) => ({
    name: 'red',
    tableId: 1001,
    rd: '65000:1',
    importRouteTargets: [],
    exportRouteTargets: [],
    vpn: 'red',
    interfaces: [{ name: 'cust0', vlan: 0, addresses: ['192.168.1.1/30'], bgpSessions }],
  });
  const add = (v: ReturnType<typeof vrf>): DesiredStateChange => ({ kind: ChangeKind.CHANGE_KIND_ADD, entry: { entry: { $case: 'vrf', value: v } }, previous: undefined });
  assert.deepEqual(await driver.apply([add(vrf([{ ceAddress: '192.168.1.2', peAddress: '192.168.1.1' }]))]), [{ index: 0, reason: NO_BGP_RELAY }]);
  assert.equal(NO_BGP_RELAY, 'PE-CE BGP relay is not supported by the linux driver');
  assert.ok(lines.some((l) => l.includes('l3v-red')), `the VRF device is still created: ${lines.join(' | ')}`);
  assert.deepEqual(await driver.apply([add(vrf([]))]), [], 'without sessions: no refusal');
});
