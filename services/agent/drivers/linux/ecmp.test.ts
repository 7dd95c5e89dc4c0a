// ECMP on the linux driver, unit level (the real kernel: the QEMU case in
// test/agent/linux-qemu.test.ts): a route with ECMP members (VrfRoute.multipath) is one
// kernel multipath route, "nexthop encap mpls ... via ... dev ..." per
// remote PE in order; the kernel's `ip -j` form of it reads back as the
// same route (no drift), a different set as a differing route; the layer-4
// multipath hash policy is set once ECMP routes are installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeKind, type RemotePeNextHop, type VrfRoute } from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { LinuxDriver } from './driver.js';
import { routeIntent, routeReplaceLine } from './intent.js';
import { hopText, parseRoutes } from './kernel.js';
import type { CommandResult, CommandRunner } from './runner.js';

const pe = (labels: number[], outInterface: string, nextHop: string, remotePe: string): RemotePeNextHop => ({
  labels,
  outInterface,
  nextHop,
  remotePe,
  remotePeAddress: `10.255.0.${remotePe.slice(2)}`,
  externalTransport: false,
  rd: `65000:${remotePe.slice(2)}`,
  localSidLabel: 0,
});

const ecmp: VrfRoute = {
  vrf: 'red',
  prefix: '10.9.0.0/16',
  source: 4,
  nextHop: { $case: 'remote', value: pe([16002, 200], 'core0', '10.0.0.1', 'PE2') },
  multipath: [pe([300], 'core1', '10.0.1.1', 'PE3')],
};

/** What `ip -N -j -4 route show table all proto 76` prints for that route (iproute2 6.1, as seen in the QEMU VM's kernel). */
const KERNEL_JSON =
  '[{"dst":"10.9.0.0/16","table":"1001","protocol":"76","flags":[],"nexthops":[' +
  '{"encap":"mpls","dst":"16002/200","gateway":"10.0.0.1","dev":"core0","weight":1,"flags":[]},' +
  '{"encap":"mpls","dst":"300","gateway":"10.0.1.1","dev":"core1","weight":1,"flags":[]}]}]';

test('linux ECMP: one multipath route, a nexthop with its own label stack per remote PE, in order; IPv6 over the IPv4 core too', () => {
  assert.equal(
    routeReplaceLine(routeIntent(ecmp, 1001), 76),
    'route replace 10.9.0.0/16 table 1001 proto 76 nexthop encap mpls 16002/200 via inet 10.0.0.1 dev core0 nexthop encap mpls 300 via inet 10.0.1.1 dev core1',
  );
  assert.equal(
    routeReplaceLine(routeIntent({ ...ecmp, prefix: '2001:db8:9::/48' }, 1001), 76),
    'route replace 2001:db8:9::/48 table 1001 proto 76 nexthop encap mpls 16002/200 via inet6 ::ffff:10.0.0.1 dev core0 onlink nexthop encap mpls 300 via inet6 ::ffff:10.0.1.1 dev core1 onlink',
  );
  // Without members: the single-path line, unchanged.
  assert.equal(routeReplaceLine(routeIntent({ ...ecmp, multipath: [] }, 1001), 76), 'route replace 10.9.0.0/16 encap mpls 16002/200 via inet 10.0.0.1 dev core0 table 1001 proto 76');
  // A member the kernel could not push is refused with the route.
  assert.throws(() => routeIntent({ ...ecmp, multipath: [{ ...ecmp.multipath[0]!, labels: [] }] }, 1001), /without a label stack/);
});

test('linux ECMP: the kernel\u2019s multipath route reads back as the intent; another set or order is a different route', () => {
  const [k] = parseRoutes(KERNEL_JSON, 4);
  assert.deepEqual(k, {
    table: 1001,
    prefix: '10.9.0.0/16',
    labels: [],
    nexthops: [
      { dev: 'core0', via: '10.0.0.1', labels: [16002, 200] },
      { dev: 'core1', via: '10.0.1.1', labels: [300] },
    ],
  });
  assert.equal(hopText(k!), hopText(routeIntent(ecmp, 1001)));
  assert.notEqual(hopText(k!), hopText(routeIntent({ ...ecmp, multipath: [] }, 1001)));
  assert.notEqual(hopText(k!), hopText(routeIntent({ ...ecmp, multipath: [pe([301], 'core1', '10.0.1.1', 'PE3')] }, 1001)));
});

function fakeKernel(routesJson: () => string) {
  const batches: string[] = [];
  const sysctls: string[][] = [];
  const runner: CommandRunner = {
    async run(argv, input): Promise<CommandResult> {
      const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
      if (argv[0] === 'sysctl') {
        sysctls.push(argv.slice(2));
        return ok();
      }
      if (argv.includes('link') && argv.includes('show')) return ok('[{"ifname":"l3v-red","flags":["UP"],"linkinfo":{"info_kind":"vrf","info_data":{"table":1001}},"ifalias":"red"}]');
      if (argv.includes('addr')) return ok('[]');
      if (argv.includes('-batch')) {
        batches.push(...(input ?? '').trim().split('\n'));
        return ok();
      }
      if (argv.includes('route') && argv.includes('-4')) return ok(routesJson());
      return ok('[]');
    },
  };
  return { runner, batches, sysctls };
}

test('linux ECMP driver: installs the multipath route and the layer-4 hash policy; reads it back as desired, a single-path kernel route as drift', async () => {
  let installed = KERNEL_JSON;
  const k = fakeKernel(() => installed);
  const driver = new LinuxDriver({ runner: k.runner });
  const red = { name: 'red', tableId: 1001, rd: '65000:1', importRouteTargets: [], exportRouteTargets: [], interfaces: [], vpn: 'red' };
  await driver.read({ vrfs: [red], vrfRoutes: [], lfibEntries: [], transportPaths: [] });
  const failures = await driver.apply([{ kind: ChangeKind.CHANGE_KIND_ADD, entry: { entry: { $case: 'vrfRoute', value: ecmp } }, previous: undefined }]);
  assert.deepEqual(failures, []);
  assert.ok(k.batches.includes('route replace 10.9.0.0/16 table 1001 proto 76 nexthop encap mpls 16002/200 via inet 10.0.0.1 dev core0 nexthop encap mpls 300 via inet 10.0.1.1 dev core1'), k.batches.join('\n'));
  const flat = k.sysctls.flat();
  assert.ok(flat.includes('net.ipv4.fib_multipath_hash_policy=1') && flat.includes('net.ipv6.fib_multipath_hash_policy=1'), flat.join(' '));
  assert.ok(flat.includes('net/mpls/conf/core0/input=1') && flat.includes('net/mpls/conf/core1/input=1'), 'MPLS input on both members\u2019 interfaces');
  const expected = { vrfs: [red], vrfRoutes: [ecmp], lfibEntries: [], transportPaths: [] };
  assert.deepEqual((await driver.read(expected)).vrfRoutes, [ecmp]);
  // Someone replaced it with one path: read as a different route (one remote next hop, no members), which the agent re-installs.
  installed = '[{"dst":"10.9.0.0/16","encap":"mpls","dst":"16002/200","gateway":"10.0.0.1","dev":"core0","table":"1001","flags":[]}]';
  const drifted = (await driver.read(expected)).vrfRoutes[0]!;
  assert.notDeepEqual(drifted, ecmp);
  assert.deepEqual(drifted.multipath, []);
});
