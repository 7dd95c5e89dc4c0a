// Real packets through Open vSwitch: CE hosts in their own network
// namespaces, PE1 -> P -> PE2 as three netdev bridges of a private OVS joined
// by veths (MTU 1508), each bridge programmed by its own agent + ovs driver
// from the desired states services/common/desired-state computes. Two VPNs use
// the same addresses. Ping proves forwarding (the CEs resolve their gateways
// by ARP, answered by the PEs' flows; the PEs learn the CEs' MACs); the flow
// counters of P and PE2 prove the label operations (P pops the transport
// label by PHP, PE2 pops the VPN label). Names: l3ov-t* namespaces, l3ovt* bridges and veths.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDesiredStates } from '../../services/common/desired-state/index.js';
import { simulateSelectedRoutes } from '../support/simulated-routes.js';
import type { DesiredStateInput } from '../../services/common/desired-state/types.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../services/agent/agent.js';
import { StateFile } from '../../services/agent/state-file.js';
import { OvsDriver } from '../../services/agent/drivers/ovs/driver.js';
import { labMissing, type LabSpec, PacketLab } from './ovs-harness.js';
import { twoVpnNetwork } from './two-vpn-network.js';
import { skipOrFail } from '../support/tools.js';

const SPEC: LabSpec = {
  nodes: [
    { id: 'PE1', bridge: 'l3ovtb1', portPrefix: 'l3ovt1', interfaces: ['core0', 'red0', 'blu0'] },
    { id: 'P', bridge: 'l3ovtbp', portPrefix: 'l3ovtp', interfaces: ['core0', 'core1'] },
    { id: 'PE2', bridge: 'l3ovtb2', portPrefix: 'l3ovt2', interfaces: ['core0', 'red0', 'blu0'] },
  ],
  core: [
    ['l3ovt1core0', 'l3ovtpcore0'],
    ['l3ovtpcore1', 'l3ovt2core0'],
  ],
  ces: [
    { ns: 'l3ov-t1r', port: 'l3ovt1red0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.1' },
    { ns: 'l3ov-t2r', port: 'l3ovt2red0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.1' },
    { ns: 'l3ov-t1b', port: 'l3ovt1blu0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.2' },
    { ns: 'l3ov-t2b', port: 'l3ovt2blu0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.2' },
  ],
};

const input = (): DesiredStateInput => twoVpnNetwork();

const skip = skipOrFail(labMissing());
let lab: PacketLab;

before(async () => {
  if (!skip) lab = await PacketLab.start(SPEC);
});

after(async () => {
  await lab?.stop();
});

const target = (id: string) => lab.target(SPEC.nodes.find((n) => n.id === id)!);

test('packets: CE to CE across PE1 -> P -> PE2 over [transport, VPN] labels; two VPNs with the same addresses never leak', { skip }, async () => {
  const net = input();
  const states = computeDesiredStates(net, simulateSelectedRoutes(net), { generation: 1 });
  const drivers: OvsDriver[] = [];
  try {
    for (const n of SPEC.nodes) {
      const driver = await new OvsDriver({ target: lab.target(n), portPrefix: n.portPrefix }).connect();
      drivers.push(driver);
      const agent = new Agent({ node: n.id, driver });
      const r = await agent.applySnapshot(states.get(n.id)!.state);
      assert.deepEqual([r.failures, agent.report().failures], [0, []], n.id);
    }
    // red: CE1 reaches red's CE2 (connected subnet and a static prefix behind it) ...
    assert.ok(lab.ping('l3ov-t1r', '192.168.2.2'), 'red CE1 -> 192.168.2.2');
    assert.ok(lab.ping('l3ov-t1r', '10.2.0.1'), 'red CE1 -> 10.2.0.1 (red CE2)');
    // ... and not blue's CE2, whose address it shares.
    assert.equal(lab.ping('l3ov-t1r', '10.2.0.2'), false, 'red CE1 must not reach blue CE2');
    // blue, per-CE labels: the same in reverse.
    assert.ok(lab.ping('l3ov-t1b', '10.2.0.2'), 'blue CE1 -> 10.2.0.2 (blue CE2)');
    assert.equal(lab.ping('l3ov-t1b', '10.2.0.1'), false, 'blue CE1 must not reach red CE2');
    assert.ok(lab.ping('l3ov-t2b', '10.1.0.2'), 'blue CE2 -> blue CE1');

    // PE1 pushed [16002, VPN label]: P got 16002 over a VPN label (bos=0) and popped it (PHP) ...
    assert.ok(lab.packets('l3ovtbp', 'table=1,mpls,mpls_label=16002,mpls_bos=0') >= 6, 'P popped the transport label of PE2');
    assert.ok(lab.packets('l3ovtbp', 'table=1,mpls,mpls_label=16001,mpls_bos=0') >= 6, 'P popped the transport label of PE1');
    // ... so PE2 received the VPN label alone at the bottom of the stack: red's per-VRF label, blue's per-CE label.
    assert.ok(lab.packets('l3ovtb2', 'table=1,mpls,mpls_label=200,mpls_bos=1') >= 4, 'PE2 popped red VPN label 200 and looked up red');
    assert.ok(lab.packets('l3ovtb2', 'table=1,mpls,mpls_label=210,mpls_bos=1') >= 2, 'PE2 popped blue per-CE label 210');
    assert.ok(lab.packets('l3ovtb1', 'table=2,ip,metadata=0x3e9,nw_dst=10.2.0.0/16') >= 2, 'PE1 pushed red labels');
  } finally {
    for (const d of drivers) await d.close();
  }
});

test('packets: agents gone, traffic flows; a flow deleted by hand black-holes until an agent restarted from its state file (no controller) restores it', { skip }, async () => {
  const net = input();
  const states = computeDesiredStates(net, simulateSelectedRoutes(net), { generation: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'l3ov-agent-'));
  try {
    // PE1's agent applies and persists its state, then dies (as do the others: they already did).
    const driver = await new OvsDriver({ target: target('PE1'), portPrefix: 'l3ovt1' }).connect();
    const agent = new Agent({ node: 'PE1', driver, store: new StateFile(dir), persistDelayMs: 1 });
    await agent.applySnapshot(states.get('PE1')!.state);
    await agent.flush();
    await driver.close();
    assert.ok(lab.ping('l3ov-t1r', '10.2.0.1'), 'forwarding with no agent running');

    lab.ovs.ofctl('--strict', 'del-flows', 'l3ovtb1', 'table=2,priority=1016,ip,metadata=0x3e9,nw_dst=10.2.0.0/16');
    assert.equal(lab.ping('l3ov-t1r', '10.2.0.1'), false, 'the route flow is gone');

    // The agent starts again with its controller unreachable: it restores generation 1 from the file and repairs the switch.
    const driver2 = await new OvsDriver({ target: target('PE1'), portPrefix: 'l3ovt1' }).connect();
    try {
      const again = new Agent({ node: 'PE1', driver: driver2, store: new StateFile(dir) });
      assert.equal(await again.start(), 'restored');
      assert.equal(driver2.flowModsSent, 1);
      assert.ok(lab.ping('l3ov-t1r', '10.2.0.1'), 'forwarding restored from the persisted state');
    } finally {
      await driver2.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
