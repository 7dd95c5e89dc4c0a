// Real packets through Open vSwitch: CE hosts in their own network
// namespaces, PE1 -> P -> PE2 as three netdev bridges of a private OVS joined
// by veths (MTU 1508), each bridge programmed by its own agent + ovs driver
// from the desired states services/common/desired-state computes. Two VPNs use
// the same addresses. Ping proves forwarding; the flow counters of P and
// PE2 prove the label operations (P pops the transport label by PHP, PE2
// pops the VPN label).
//
// Neighbour resolution (ARP) is not part of the pipeline yet: every CE has
// the MAC 02:00:00:00:00:01 and a static neighbour entry for its gateway
// with that MAC, so frames keep a destination MAC their receiver accepts.
// Only namespaces and veths this test creates (prefix l3t-, l1, lp, l2) are touched.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { computeDesiredStates } from '../../services/common/desired-state/index.js';
import { simulateSelectedRoutes } from '../../services/common/desired-state/simulate.js';
import type { DesiredStateInput } from '../../services/common/desired-state/types.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../services/agent/agent.js';
import { StateFile } from '../../services/agent/state-file.js';
import { OvsDriver } from '../../services/agent/drivers/ovs/driver.js';
import { ovsMissing, PrivateOvs } from './ovs-harness.js';

const SRGB = { base: 16000, size: 8000 };
const CE_MAC = '02:00:00:00:00:01';
const NODES = [
  { id: 'PE1', prefix: 'l1', bridge: 'l3pe1', ports: ['core0', 'red0', 'blu0'] },
  { id: 'P', prefix: 'lp', bridge: 'l3p', ports: ['core0', 'core1'] },
  { id: 'PE2', prefix: 'l2', bridge: 'l3pe2', ports: ['core0', 'red0', 'blu0'] },
];
const CES = [
  { ns: 'l3t-ce1r', port: 'l1red0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.1' },
  { ns: 'l3t-ce2r', port: 'l2red0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.1' },
  { ns: 'l3t-ce1b', port: 'l1blu0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.2' },
  { ns: 'l3t-ce2b', port: 'l2blu0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.2' },
];
const CORE = [
  ['l1core0', 'lpcore0'],
  ['lpcore1', 'l2core0'],
];

function input(): DesiredStateInput {
  const site = (id: string, pe: string, iface: string, n: number, extra: object = {}) => ({
    id,
    pe,
    interface: iface,
    peAddress: `192.168.${n}.1/30`,
    ceAddress: `192.168.${n}.2`,
    staticPrefixes: [`10.${n}.0.0/16`],
    ...extra,
  });
  return {
    inventory: {
      nodes: [
        { id: 'PE1', role: 'PE', routerId: '10.255.0.1', srgb: SRGB, nodeSidIndex: 1, transport: 'sr' },
        { id: 'P', role: 'P', routerId: '10.255.0.11', srgb: SRGB, nodeSidIndex: 11, transport: 'sr' },
        { id: 'PE2', role: 'PE', routerId: '10.255.0.2', srgb: SRGB, nodeSidIndex: 2, transport: 'sr' },
      ],
      links: [
        { a: { node: 'PE1', interface: 'core0', address: '10.0.0.0/31' }, b: { node: 'P', interface: 'core0', address: '10.0.0.1/31' }, metric: 10 },
        { a: { node: 'P', interface: 'core1', address: '10.0.1.0/31' }, b: { node: 'PE2', interface: 'core0', address: '10.0.1.1/31' }, metric: 10 },
      ],
    },
    vpns: [
      {
        id: 'red',
        labelMode: 'per-vrf',
        vrfs: [
          { pe: 'PE1', name: 'red', tableId: 1001, rd: '65000:1', importRouteTargets: ['65000:100'], exportRouteTargets: ['65000:100'], vrfLabel: 100 },
          { pe: 'PE2', name: 'red', tableId: 1001, rd: '65000:2', importRouteTargets: ['65000:100'], exportRouteTargets: ['65000:100'], vrfLabel: 200 },
        ],
        sites: [site('red-a', 'PE1', 'red0', 1), site('red-b', 'PE2', 'red0', 2)],
      },
      {
        id: 'blue',
        labelMode: 'per-ce',
        vrfs: [
          { pe: 'PE1', name: 'blue', tableId: 1002, rd: '65000:11', importRouteTargets: ['65000:200'], exportRouteTargets: ['65000:200'], vrfLabel: 101 },
          { pe: 'PE2', name: 'blue', tableId: 1002, rd: '65000:12', importRouteTargets: ['65000:200'], exportRouteTargets: ['65000:200'], vrfLabel: 201 },
        ],
        sites: [site('blue-a', 'PE1', 'blu0', 1, { ceLabel: 110 }), site('blue-b', 'PE2', 'blu0', 2, { ceLabel: 210 })],
      },
    ],
  };
}

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* already gone */
  }
};
const inNs = (ns: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, ...args]);

function missingTools(): string | undefined {
  const ovs = ovsMissing();
  if (ovs) return ovs;
  if (process.getuid?.() !== 0) return 'needs root for network namespaces and veths';
  for (const bin of ['ip', 'ping', 'ethtool']) {
    try {
      sh('sh', ['-c', `command -v ${bin}`]);
    } catch {
      return `${bin} is not installed (apt-get install -y iproute2 iputils-ping ethtool)`;
    }
  }
  return undefined;
}

function cleanup(): void {
  for (const c of CES) quiet('ip', ['netns', 'del', c.ns]);
  for (const c of CES) quiet('ip', ['link', 'del', c.port]);
  for (const [a] of CORE) quiet('ip', ['link', 'del', a!]);
}

function noIpv6(dev: string, ns?: string): void {
  const path = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  const cmd = ['sh', '-c', `[ -e ${path} ] && echo 1 > ${path} || true`];
  if (ns) inNs(ns, ...cmd);
  else sh(cmd[0]!, cmd.slice(1));
}

const skip = missingTools();
let ovs: PrivateOvs | undefined;

before(async () => {
  if (skip) return;
  cleanup();
  ovs = await PrivateOvs.start();
  for (const [a, b] of CORE) {
    sh('ip', ['link', 'add', a!, 'type', 'veth', 'peer', 'name', b!]);
    for (const d of [a!, b!]) {
      noIpv6(d);
      // 1,500-byte customer packets plus two labels need 1,508 on both ends (DATAPLANE.md).
      sh('ip', ['link', 'set', d, 'mtu', '1508', 'up']);
    }
  }
  for (const c of CES) {
    sh('ip', ['netns', 'add', c.ns]);
    sh('ip', ['link', 'add', c.port, 'type', 'veth', 'peer', 'name', 'l3t-tmp']);
    sh('ip', ['link', 'set', 'l3t-tmp', 'netns', c.ns]);
    inNs(c.ns, 'ip', 'link', 'set', 'l3t-tmp', 'name', 'eth0');
    noIpv6('all', c.ns);
    noIpv6('eth0', c.ns);
    noIpv6(c.port);
    inNs(c.ns, 'ip', 'link', 'set', 'eth0', 'address', CE_MAC);
    inNs(c.ns, 'ip', 'link', 'set', 'lo', 'up');
    inNs(c.ns, 'ip', 'link', 'set', 'eth0', 'up');
    inNs(c.ns, 'ethtool', '-K', 'eth0', 'tx', 'off');
    inNs(c.ns, 'ip', 'addr', 'add', c.address, 'dev', 'eth0');
    inNs(c.ns, 'ip', 'addr', 'add', `${c.loopback}/32`, 'dev', 'lo');
    inNs(c.ns, 'ip', 'route', 'add', 'default', 'via', c.gateway, 'src', c.address.split('/')[0]!);
    inNs(c.ns, 'ip', 'neigh', 'replace', c.gateway, 'lladdr', CE_MAC, 'dev', 'eth0', 'nud', 'permanent');
    sh('ip', ['link', 'set', c.port, 'up']);
  }
  for (const n of NODES) {
    ovs.vsctl('add-br', n.bridge, '--', 'set', 'bridge', n.bridge, 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow13');
    for (const p of n.ports) ovs.vsctl('add-port', n.bridge, `${n.prefix}${p}`);
  }
});

after(async () => {
  if (skip) return;
  await ovs?.stop();
  cleanup();
});

function ping(ns: string, to: string): boolean {
  try {
    inNs(ns, 'ping', '-c', '2', '-i', '0.2', '-W', '1', to);
    return true;
  } catch {
    return false;
  }
}

/** Packets counted by the first flow of a bridge that matches `filter`. */
function packets(bridge: string, filter: string): number {
  const line = ovs!.ofctl('dump-flows', bridge, filter).split('\n').find((l) => l.includes('n_packets='));
  return Number(/n_packets=(\d+)/.exec(line ?? '')?.[1] ?? 0);
}

test('packets: CE to CE across PE1 -> P -> PE2 over [transport, VPN] labels; two VPNs with the same addresses never leak', { skip }, async () => {
  const net = input();
  const states = computeDesiredStates(net, simulateSelectedRoutes(net), { generation: 1 });
  const drivers: OvsDriver[] = [];
  try {
    for (const n of NODES) {
      const driver = await new OvsDriver({ target: `unix:${ovs!.dir}/${n.bridge}.mgmt`, portPrefix: n.prefix }).connect();
      drivers.push(driver);
      const agent = new Agent({ node: n.id, driver });
      const r = await agent.applySnapshot(states.get(n.id)!.state);
      assert.deepEqual([r.failures, agent.report().failures], [0, []], n.id);
    }
    // red: CE1 reaches red's CE2 (connected subnet and a static prefix behind it) ...
    assert.ok(ping('l3t-ce1r', '192.168.2.2'), 'red CE1 -> 192.168.2.2');
    assert.ok(ping('l3t-ce1r', '10.2.0.1'), 'red CE1 -> 10.2.0.1 (red CE2)');
    // ... and not blue's CE2, whose address it shares.
    assert.equal(ping('l3t-ce1r', '10.2.0.2'), false, 'red CE1 must not reach blue CE2');
    // blue, per-CE labels: the same in reverse.
    assert.ok(ping('l3t-ce1b', '10.2.0.2'), 'blue CE1 -> 10.2.0.2 (blue CE2)');
    assert.equal(ping('l3t-ce1b', '10.2.0.1'), false, 'blue CE1 must not reach red CE2');
    assert.ok(ping('l3t-ce2b', '10.1.0.2'), 'blue CE2 -> blue CE1');

    // PE1 pushed [16002, VPN label]: P got 16002 over a VPN label (bos=0) and popped it (PHP) ...
    assert.ok(packets('l3p', 'table=1,mpls,mpls_label=16002,mpls_bos=0') >= 6, 'P popped the transport label of PE2');
    assert.ok(packets('l3p', 'table=1,mpls,mpls_label=16001,mpls_bos=0') >= 6, 'P popped the transport label of PE1');
    // ... so PE2 received the VPN label alone at the bottom of the stack: red's per-VRF label, blue's per-CE label.
    assert.ok(packets('l3pe2', 'table=1,mpls,mpls_label=200,mpls_bos=1') >= 4, 'PE2 popped red VPN label 200 and looked up red');
    assert.ok(packets('l3pe2', 'table=1,mpls,mpls_label=210,mpls_bos=1') >= 2, 'PE2 popped blue per-CE label 210');
    assert.ok(packets('l3pe1', 'table=2,ip,metadata=0x3e9,nw_dst=10.2.0.0/16') >= 2, 'PE1 pushed red labels');
  } finally {
    for (const d of drivers) await d.close();
  }
});

test('packets: agents gone, traffic flows; a flow deleted by hand black-holes until an agent restarted from its state file (no controller) restores it', { skip }, async () => {
  const net = input();
  const states = computeDesiredStates(net, simulateSelectedRoutes(net), { generation: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'l3t-agent-'));
  try {
    // PE1's agent applies and persists its state, then dies (as do the others: they already did).
    const driver = await new OvsDriver({ target: `unix:${ovs!.dir}/l3pe1.mgmt`, portPrefix: 'l1' }).connect();
    const agent = new Agent({ node: 'PE1', driver, store: new StateFile(dir), persistDelayMs: 1 });
    await agent.applySnapshot(states.get('PE1')!.state);
    await agent.flush();
    await driver.close();
    assert.ok(ping('l3t-ce1r', '10.2.0.1'), 'forwarding with no agent running');

    ovs!.ofctl('--strict', 'del-flows', 'l3pe1', 'table=2,priority=1016,ip,metadata=0x3e9,nw_dst=10.2.0.0/16');
    assert.equal(ping('l3t-ce1r', '10.2.0.1'), false, 'the route flow is gone');

    // The agent starts again with its controller unreachable: it restores generation 1 from the file and repairs the switch.
    const driver2 = await new OvsDriver({ target: `unix:${ovs!.dir}/l3pe1.mgmt`, portPrefix: 'l1' }).connect();
    try {
      const again = new Agent({ node: 'PE1', driver: driver2, store: new StateFile(dir) });
      assert.equal(await again.start(), 'restored');
      assert.equal(driver2.flowModsSent, 1);
      assert.ok(ping('l3t-ce1r', '10.2.0.1'), 'forwarding restored from the persisted state');
    } finally {
      await driver2.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
