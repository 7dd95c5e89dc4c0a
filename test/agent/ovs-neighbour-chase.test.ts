// A CE that is not up when its PE installs the route towards it (no address
// yet: the PE's ARP request goes unanswered) is learnt by the PE as soon as
// it is up, without sending anything itself and without waiting for the
// agent's periodic read: the driver keeps asking the CE next hops of a batch
// that the switch has not learnt. Real Open vSwitch, real ARP.
// Names: l3ov-c* namespaces, l3ovc* bridges and veths.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDesiredStates } from '../../services/common/desired-state/index.js';
import { simulateSelectedRoutes } from '../support/simulated-routes.js';
import { Agent } from '../../services/agent/agent.js';
import { OvsDriver } from '../../services/agent/drivers/ovs/driver.js';
import { waitUntil } from '../../services/lab/processes.js';
import { labMissing, type LabSpec, PacketLab } from './ovs-harness.js';
import { twoVpnNetwork } from './two-vpn-network.js';

const SPEC: LabSpec = {
  nodes: [
    { id: 'PE1', bridge: 'l3ovcb1', portPrefix: 'l3ovc1', interfaces: ['core0', 'red0', 'blu0'] },
    { id: 'P', bridge: 'l3ovcbp', portPrefix: 'l3ovcp', interfaces: ['core0', 'core1'] },
    { id: 'PE2', bridge: 'l3ovcb2', portPrefix: 'l3ovc2', interfaces: ['core0', 'red0', 'blu0'] },
  ],
  core: [
    ['l3ovc1core0', 'l3ovcpcore0'],
    ['l3ovcpcore1', 'l3ovc2core0'],
  ],
  ces: [
    { ns: 'l3ov-c1r', port: 'l3ovc1red0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.1' },
    { ns: 'l3ov-c2r', port: 'l3ovc2red0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.1' },
    { ns: 'l3ov-c1b', port: 'l3ovc1blu0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.2' },
    { ns: 'l3ov-c2b', port: 'l3ovc2blu0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.2' },
  ],
};

const inCi = () => !['', 'false', '0'].includes((process.env.CI ?? '').toLowerCase());
const missing = labMissing();
const skip = missing && !inCi() ? missing : false;
let lab: PacketLab;

before(async () => {
  if (skip) return;
  if (missing) assert.fail(`this test needs: ${missing}`);
  lab = await PacketLab.start(SPEC);
});

after(async () => {
  await lab?.stop();
});

/** PE2's neighbour flows learnt in red's VRF (table 3, cookie "LN" + table id 1001), as ovs-ofctl prints them. */
const learnt = () => lab.ovs.dumpFlows('l3ovcb2', 'table=3').filter((f) => f.includes('cookie=0x4c4e0000000003e9'));

test('a CE that comes up after its route was installed is learnt by the PE at once, not on the next read', { skip }, async () => {
  const net = twoVpnNetwork();
  const states = computeDesiredStates(net, simulateSelectedRoutes(net), { generation: 1 });
  // red's CE on PE2 is down: no address, so it answers no ARP.
  lab.inNs('l3ov-c2r', 'ip', 'addr', 'flush', 'dev', 'eth0');
  const driver = await new OvsDriver({ target: lab.target(SPEC.nodes[2]!), portPrefix: 'l3ovc2' }).connect();
  try {
    const agent = new Agent({ node: 'PE2', driver });
    const r = await agent.applySnapshot(states.get('PE2')!.state);
    assert.equal(r.failures, 0);
    const asked = driver.neighbours.requests;
    assert.ok(asked >= 1, 'the route install asked the CE next hop');
    assert.deepEqual(learnt(), [], 'nobody answered');

    // The CE comes up. It sends nothing (no gratuitous ARP, no traffic): only an ARP request from the PE finds it.
    lab.inNs('l3ov-c2r', 'ip', 'addr', 'add', '192.168.2.2/30', 'dev', 'eth0');
    await waitUntil('PE2 learning its red CE', () => learnt().length > 0, 30_000, 100);
    assert.ok(driver.neighbours.requests > asked, 'learnt from a request the driver sent again by itself');
  } finally {
    await driver.close();
    lab.inNs('l3ov-c2r', 'ip', 'addr', 'replace', '192.168.2.2/30', 'dev', 'eth0');
  }
});
