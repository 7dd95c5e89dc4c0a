import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkLivenessState, NodeDesiredState, NodeTransport } from '../common/gen/proto/l3vpn/v1/agent.js';
import { SoftDriver } from './drivers/soft.js';
import { LinkMonitor } from './liveness.js';

const state = NodeDesiredState.fromPartial({
  node: 'PE1',
  generation: 3,
  transport: NodeTransport.fromPartial({
    coreLinks: [{ link: 'pe1-p', interface: 'core0', address: '10.0.0.0/31', neighborNode: 'P', neighborInterface: 'core0', neighborAddress: '10.0.0.1' }],
  }),
  vrfs: [{ name: 'red', tableId: 1001, rd: '65000:1', importRouteTargets: [], exportRouteTargets: [], vpn: 'red', interfaces: [{ name: 'red0', vlan: 0, addresses: ['192.168.1.1/30'] }] }],
});

test('link monitor: reports every port the desired state names and the core links; a port change is reported at once', async () => {
  const driver = new SoftDriver();
  let changes = 0;
  // The soft driver carries no datagrams: links are judged by their ports alone.
  const monitor = new LinkMonitor({ driver, bfd: { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 }, onChange: () => changes++ });
  await monitor.watch(state);
  assert.deepEqual(monitor.report().ports, [
    { interface: 'core0', up: true, reason: '' },
    { interface: 'red0', up: true, reason: '' },
  ]);
  assert.deepEqual(monitor.report().links, [{ interface: 'core0', state: LinkLivenessState.LINK_LIVENESS_STATE_UP, reason: '', bfd: false }]);
  const before = changes;
  driver.setPort('core0', false);
  await monitor.refresh();
  assert.equal(changes, before + 1, 'one change, told at once');
  assert.deepEqual(monitor.report().links, [{ interface: 'core0', state: LinkLivenessState.LINK_LIVENESS_STATE_DOWN, reason: 'port down: link down', bfd: false }]);
  driver.setPort('red0', false, 'no carrier');
  await monitor.refresh();
  assert.deepEqual(monitor.report().ports[1], { interface: 'red0', up: false, reason: 'no carrier' });
  // The same state again: nothing new to tell.
  const after = changes;
  await monitor.watch(state);
  assert.equal(changes, after);
  monitor.close();
});
