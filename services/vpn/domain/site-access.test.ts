import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessesOf, activeAccess, attachedTo, byPreference, localPreference } from './site-access.js';
import type { SiteAccessView, SiteView } from '../intent/types.js';

const status = { state: 'active' as const };
const acc = (id: string, node: string, priority: number): SiteAccessView => ({ id, node, interface: 'ce0', ipv4: { peAddress: '10.0.0.1/30', ceAddress: '10.0.0.2' }, priority, status });
const siteOf = (multihoming: SiteView['multihoming'], accesses: SiteAccessView[]): SiteView => ({
  id: 's',
  vpn: 'v',
  role: 'any-to-any',
  multihoming,
  accesses,
  version: 1,
  status,
  createdAt: '',
  updatedAt: '',
});

test('the flat form is one access named like the site; accesses win when given', () => {
  assert.deepEqual(accessesOf({ id: 's', vpn: 'v', node: 'pe1', interface: 'ce0', vlan: 7 }), [{ id: 's', node: 'pe1', interface: 'ce0', vlan: 7 }]);
  assert.deepEqual(accessesOf({ id: 's', vpn: 'v', accesses: [{ id: 'a', node: 'pe2', interface: 'x' }] }), [{ id: 'a', node: 'pe2', interface: 'x' }]);
});

test('preference: the highest priority first, ties by the lowest id', () => {
  assert.deepEqual(byPreference([acc('b', 'pe1', 100), acc('c', 'pe2', 300), acc('a', 'pe3', 100)]).map((a) => a.id), ['c', 'a', 'b']);
});

test('LOCAL_PREF: single-active 200 for the primary, 100 for backups; all-active equal; one access leaves the default', () => {
  const two = [acc('a', 'pe1', 100), acc('b', 'pe2', 200)];
  assert.deepEqual([localPreference(siteOf('single-active', two), 'b'), localPreference(siteOf('single-active', two), 'a')], [200, 100]);
  assert.deepEqual([localPreference(siteOf('all-active', two), 'a'), localPreference(siteOf('all-active', two), 'b')], [100, 100]);
  assert.equal(localPreference(siteOf('single-active', [acc('a', 'pe1', 100)]), 'a'), undefined);
});

test('a PE sees the site through its access there', () => {
  const s = siteOf('single-active', [acc('a', 'pe1', 100), { ...acc('b', 'pe2', 200), interface: 'ge-0/0/1', vlan: 30 }]);
  const at2 = attachedTo(s, 'pe2')!;
  assert.deepEqual([at2.node, at2.interface, at2.vlan, at2.access.id], ['pe2', 'ge-0/0/1', 30, 'b']);
  assert.equal(attachedTo(s, 'pe3'), undefined);
});

// The decision the reconcile makes each run, with what it stored the run before as `current`.
function run(site: SiteView, failures: string[][]): string[] {
  let current: string | undefined;
  return failures.map((f) => (current = activeAccess(site, new Set(f), current)!));
}

test('active access, revertive: the primary fails, the backup takes over; the primary returns, so does the traffic', () => {
  const site = { ...siteOf('single-active', [acc('p', 'pe1', 200), acc('b', 'pe2', 100)]), revertive: true };
  assert.deepEqual(run(site, [[], ['p'], [], ['b'], []]), ['p', 'b', 'p', 'p', 'p']);
  assert.deepEqual(run({ ...site, revertive: undefined }, [[], ['p'], []]), ['p', 'b', 'p'], 'revertive by default');
});

test('active access, non-revertive: the backup that took over stays when the primary returns; its own failure hands the traffic back', () => {
  const site = { ...siteOf('single-active', [acc('p', 'pe1', 200), acc('b', 'pe2', 100)]), revertive: false };
  assert.deepEqual(run(site, [[], ['p'], [], [], ['b'], []]), ['p', 'b', 'b', 'b', 'p', 'p']);
});

test('active access, non-revertive, three accesses: the active one failing goes to the best remaining by priority, not back to a failed primary', () => {
  const site = { ...siteOf('single-active', [acc('p', 'pe1', 300), acc('m', 'pe2', 200), acc('l', 'pe3', 100)]), revertive: false };
  assert.deepEqual(run(site, [[], ['p'], ['p', 'm'], ['p'], []]), ['p', 'm', 'l', 'l', 'l']);
  assert.deepEqual(run(site, [['p'], ['m'], []]), ['m', 'p', 'p'], 'the active backup failing with the primary back: the primary');
});

test('active access: everything failed keeps the current one; an unknown stored access (removed since) counts as none; no backups, no decision', () => {
  const site = { ...siteOf('single-active', [acc('p', 'pe1', 200), acc('b', 'pe2', 100)]), revertive: false };
  assert.equal(activeAccess(site, new Set(['p', 'b']), 'b'), 'b');
  assert.equal(activeAccess(site, new Set(['p', 'b']), undefined), 'p');
  assert.equal(activeAccess(site, new Set(), 'gone'), 'p');
  assert.equal(activeAccess(siteOf('all-active', site.accesses), new Set(), undefined), undefined);
  assert.equal(activeAccess(siteOf('single-active', [acc('p', 'pe1', 1)]), new Set(), undefined), undefined);
});

test('operator revert: storing the primary as current puts the traffic back on it, and it stays there', () => {
  const site = { ...siteOf('single-active', [acc('p', 'pe1', 200), acc('b', 'pe2', 100)]), revertive: false };
  assert.equal(activeAccess(site, new Set(), 'b'), 'b', 'before the revert');
  assert.equal(activeAccess(site, new Set(), 'p'), 'p', 'after it (revertSite stores the primary)');
});

test('LOCAL_PREF follows the stored active access on a non-revertive site only', () => {
  const two = [acc('p', 'pe1', 200), acc('b', 'pe2', 100)];
  const lp = (s: SiteView) => [localPreference(s, 'p'), localPreference(s, 'b')];
  assert.deepEqual(lp({ ...siteOf('single-active', two), revertive: false, activeAccess: 'b' }), [100, 200]);
  assert.deepEqual(lp({ ...siteOf('single-active', two), revertive: false }), [200, 100], 'undecided yet: the primary');
  assert.deepEqual(lp({ ...siteOf('single-active', two), revertive: true, activeAccess: 'b' }), [200, 100], 'revertive: the primary whenever it is advertised');
  assert.deepEqual(lp({ ...siteOf('all-active', two), revertive: false, activeAccess: 'b' }), [100, 100]);
});
