import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIRST_TABLE_ID, owners } from '../reconcile/owners.js';
import { automaticSidIndex, claimWanted, freeTableId, type VpnIdentifiers } from './allocation.js';

const blue = (extra: Partial<VpnIdentifiers> = {}): VpnIdentifiers => ({
  id: 'blue',
  routeDistinguisher: null,
  routeTargets: [
    { role: 'hub', value: '65000:1', given: false },
    { role: 'spoke', value: null, given: false },
  ],
  ...extra,
});

test('claimWanted: a route target is wanted while its VPN has a slot of that role holding it (or not filled yet)', () => {
  const hub = { owner: owners.routeTarget('blue', 'hub'), kind: 'rt' as const };
  assert.equal(claimWanted(blue(), { ...hub, value: '65000:1' }), true);
  assert.equal(claimWanted(blue(), { ...hub, value: null }), true, 'claimed, the labels service has not answered yet');
  assert.equal(claimWanted(blue(), { ...hub, value: '65000:9' }), false, 'the slot holds another value now');
  assert.equal(claimWanted(blue(), { owner: owners.routeTarget('blue', 'spoke'), kind: 'rt', value: '65000:2' }), true, 'an empty slot still wants the value claimed for it');
  assert.equal(claimWanted(blue(), { owner: owners.routeTarget('blue', 'any-to-any'), kind: 'rt', value: '65000:3' }), false, 'no slot of that role (topology changed)');
  assert.equal(claimWanted(null, { ...hub, value: '65000:1' }), false, 'the VPN is gone');
});

test('claimWanted: a given RD is wanted while the VPN gives that RD', () => {
  const rd = { owner: owners.vpnRd('blue'), kind: 'rd' as const };
  assert.equal(claimWanted(blue({ routeDistinguisher: '64999:1' }), { ...rd, value: '64999:1' }), true);
  assert.equal(claimWanted(blue({ routeDistinguisher: '64999:1' }), { ...rd, value: null }), true);
  assert.equal(claimWanted(blue({ routeDistinguisher: '64999:2' }), { ...rd, value: '64999:1' }), false);
  assert.equal(claimWanted(blue(), { ...rd, value: '64999:1' }), false, 'each VRF takes one from the pool now');
});

test('freeTableId: the lowest id from FIRST_TABLE_ID the node does not use', () => {
  assert.equal(freeTableId(new Set()), FIRST_TABLE_ID);
  assert.equal(freeTableId(new Set([FIRST_TABLE_ID, FIRST_TABLE_ID + 2])), FIRST_TABLE_ID + 1);
  assert.equal(freeTableId(new Set([1, 2])), FIRST_TABLE_ID);
});

test('automaticSidIndex: skips named and held (allocated or held down) indexes; takes back its own unless named', () => {
  const named = [
    { node: 'pe1', sidIndex: null },
    { node: 'pe2', sidIndex: 0 },
  ];
  const held = new Map([
    [1, { owner: owners.sid('pe3'), inHoldDown: true }],
    [2, { owner: owners.sid('pe4'), inHoldDown: false }],
  ]);
  assert.equal(automaticSidIndex('pe1', named, held), 3);
  assert.equal(automaticSidIndex('pe1', named, new Map([...held, [7, { owner: owners.sid('pe1'), inHoldDown: false }]])), 7);
  assert.equal(automaticSidIndex('pe1', named, new Map([...held, [7, { owner: owners.sid('pe1'), inHoldDown: true }]])), 3, 'its own index in hold-down was given back');
  assert.equal(automaticSidIndex('pe1', [...named, { node: 'pe5', sidIndex: 7 }], new Map([...held, [7, { owner: owners.sid('pe1'), inHoldDown: false }]])), 3);
});
