import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Meta } from '../intent/types.js';
import type { Vpn } from './node-intent.js';
import { routeTargetsOfVrf, vrfRouteTargets } from './route-targets.js';

const meta: Meta = { version: 1, status: { state: 'active' }, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
const vpn = (id: string, extra: Partial<Vpn>): Vpn => ({
  id,
  customer: 'acme',
  topology: 'any-to-any',
  extranetImports: [],
  addressFamilies: ['ipv4'],
  labelMode: 'per-vrf',
  maxRoutesPerVrf: 1000,
  routeTargets: {},
  ...meta,
  ...extra,
});

const anyToAny = { topology: 'any-to-any' as const, routeTargets: { anyToAny: '65000:1' } };
const hubSpoke = { topology: 'hub-spoke' as const, routeTargets: { hub: '65000:10', spoke: '65000:11' } };

test('route targets: an any-to-any VRF imports and exports the VPN\'s one RT, whatever its sites\' roles', () => {
  assert.deepEqual(vrfRouteTargets(anyToAny, [], ['any-to-any']), { imports: ['65000:1'], exports: ['65000:1'] });
  assert.deepEqual(vrfRouteTargets(anyToAny, [], []), { imports: ['65000:1'], exports: ['65000:1'] });
});

test('route targets: a hub VRF exports the hub RT and imports the spoke RT; a spoke VRF the reverse (RFC 4364 §4.3.5)', () => {
  assert.deepEqual(vrfRouteTargets(hubSpoke, [], ['hub']), { imports: ['65000:11'], exports: ['65000:10'] });
  assert.deepEqual(vrfRouteTargets(hubSpoke, [], ['spoke', 'spoke']), { imports: ['65000:10'], exports: ['65000:11'] });
  // One hub site makes the PE's VRF a hub VRF.
  assert.deepEqual(vrfRouteTargets(hubSpoke, [], ['spoke', 'hub']), { imports: ['65000:11'], exports: ['65000:10'] });
});

test('route targets: an RT not allocated yet is left out rather than named empty', () => {
  assert.deepEqual(vrfRouteTargets({ topology: 'any-to-any', routeTargets: { anyToAny: null } }, [], []), { imports: [], exports: [] });
});

test('route targets: extranet imports what each exporter exports to its own hubs or any-to-any VRFs, sorted and once', () => {
  const other = { topology: 'any-to-any' as const, routeTargets: { anyToAny: '65000:2' } };
  assert.deepEqual(vrfRouteTargets(anyToAny, [hubSpoke, other, other], []), { imports: ['65000:1', '65000:10', '65000:2'], exports: ['65000:1'] });
});

test('route targets of a VRF: its VPN\'s extranet imports are looked up among the loaded VPNs; one not loaded adds nothing', () => {
  const blue = vpn('blue', { extranetImports: ['shared', 'gone'], routeTargets: { anyToAny: '65000:1' } });
  const shared = vpn('shared', { topology: 'hub-spoke', routeTargets: { hub: '65000:20', spoke: '65000:21' } });
  const vpns = new Map([
    ['blue', blue],
    ['shared', shared],
  ]);
  assert.deepEqual(routeTargetsOfVrf(blue, vpns, [{ role: 'any-to-any' }]), { imports: ['65000:1', '65000:20'], exports: ['65000:1'] });
});
