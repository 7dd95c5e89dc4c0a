import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessesOf, attachedTo, byPreference, localPreference } from './site-access.js';
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
