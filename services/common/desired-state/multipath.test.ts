// VRF multipath in the desired state: the paths BGP uses with a prefix's
// best (SelectedVpnRoute.multipath) become the other members of its ECMP
// set (VrfRoute.multipath), each with its own PE's transport and VPN labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RemotePeNextHop } from '../gen/proto/l3vpn/v1/agent.js';
import { computeDesiredStates } from './compute.js';
import { fixtureInput } from './fixture.js';
import type { SelectedVpnRoute } from './types.js';

const best: SelectedVpnRoute = { vrf: 'red', prefix: '10.9.0.0/16', nextHop: '10.255.0.2', label: 200, rd: '65000:2' };
const viaPe3: SelectedVpnRoute = { vrf: 'red', prefix: '10.9.0.0/16', nextHop: '10.255.0.3', label: 300, rd: '65000:3', multipath: true };

function pe1(routes: SelectedVpnRoute[]) {
  const r = computeDesiredStates(fixtureInput(), new Map([['PE1', routes]]), { generation: 1 }).get('PE1')!;
  return { route: r.state.vrfRoutes.find((x) => x.vrf === 'red' && x.prefix === '10.9.0.0/16'), warnings: r.warnings };
}

const PE3: RemotePeNextHop = {
  // PE1 -> P1 -> PE3: P1's label of PE3, then PE3's VPN label.
  labels: [16003, 300],
  outInterface: 'core0',
  nextHop: '10.0.0.1',
  remotePe: 'PE3',
  remotePeAddress: '10.255.0.3',
  externalTransport: false,
  rd: '65000:3',
  localSidLabel: 16003,
};

test('multipath: the best is the route\u2019s remote next hop, the other PE its ECMP member with its own labels; in any input order', () => {
  for (const routes of [[best, viaPe3], [viaPe3, best]]) {
    const { route, warnings } = pe1(routes);
    assert.equal(route?.nextHop?.$case, 'remote');
    assert.equal(route?.nextHop?.$case === 'remote' && route.nextHop.value.remotePe, 'PE2');
    assert.deepEqual(route?.multipath, [PE3]);
    assert.deepEqual(warnings.filter((w) => w.prefix === '10.9.0.0/16'), [], 'an ECMP member is not a duplicate route');
  }
});

test('multipath: without it, or with only members, or members via the best\u2019s own PE, the route has no ECMP set', () => {
  assert.deepEqual(pe1([best]).route?.multipath, []);
  // A member whose best is missing forwards nowhere on its own.
  assert.equal(pe1([viaPe3]).route, undefined);
  // Another RD through the same PE adds nothing.
  assert.deepEqual(pe1([best, { ...viaPe3, nextHop: '10.255.0.2', label: 201, rd: '65000:22' }]).route?.multipath, []);
});

test('multipath: a local route of the prefix wins over the remote one and its members', () => {
  // 10.1.0.0/16 is red-a's static prefix on PE1 itself.
  const r = computeDesiredStates(fixtureInput(), new Map([['PE1', [{ ...best, prefix: '10.1.0.0/16' }, { ...viaPe3, prefix: '10.1.0.0/16' }]]]), { generation: 1 }).get('PE1')!;
  const route = r.state.vrfRoutes.find((x) => x.vrf === 'red' && x.prefix === '10.1.0.0/16');
  assert.equal(route?.nextHop?.$case, 'local');
  assert.deepEqual(route?.multipath, []);
});
