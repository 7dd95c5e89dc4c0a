import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CeSessionStatus } from '../routes/bgp-ce-peers.js';
import type { DerivedStatus } from '../state/forwarding.js';
import type { CePeer } from './ce-peer-intent.js';
import { withCeSessions } from './ce-session-status.js';

const peer = (family: 4 | 6, ceAddress: string, peAddress: string): CePeer => ({
  vpn: 'red',
  node: 'pe1',
  site: 's1',
  access: 'a1',
  family,
  ceAddress,
  peAddress,
  peerAs: 65001,
  asOverride: false,
  allowasIn: 0,
  routeLabel: 0,
});
const v4 = peer(4, '10.0.0.2', '10.0.0.1');
const v6 = peer(6, '2001:db8::2', '2001:db8::1');

const session = (ceAddress: string, extra: Partial<CeSessionStatus>): CeSessionStatus => ({
  vpn: 'red',
  node: 'pe1',
  site: 's1',
  access: 'a1',
  ceAddress,
  state: 'established',
  prefixesReceived: 2,
  prefixesAccepted: 2,
  prefixesAdvertised: 5,
  prefixesStale: 0,
  everEstablished: true,
  ...extra,
});

const active: DerivedStatus = { status: 'ACTIVE', reason: null };

test('an installed access with its sessions established is active', () => {
  assert.deepEqual(withCeSessions(active, [v4, v6], [session('10.0.0.2', {}), session('2001:db8::2', {})]), active);
});

test('a session that was up and is not: the access is down, with the last error', () => {
  const s = session('10.0.0.2', { state: 'idle', prefixesReceived: 0, prefixesAccepted: 0, lastError: 'NOTIFICATION received: Hold Timer Expired (4/0)' });
  assert.deepEqual(withCeSessions(active, [v4], [s]), { status: 'DOWN', reason: 'the BGP session with CE 10.0.0.2 is idle: NOTIFICATION received: Hold Timer Expired (4/0)' });
});

test('one family down of two: degraded', () => {
  const st = withCeSessions(active, [v4, v6], [session('10.0.0.2', {}), session('2001:db8::2', { state: 'active', prefixesAccepted: 0 })]);
  assert.equal(st.status, 'DEGRADED');
  assert.match(st.reason ?? '', /CE 2001:db8::2 is active/);
});

test('a CE never heard from: provisioning, waiting for it', () => {
  const s = session('10.0.0.2', { state: 'active', everEstablished: false, prefixesReceived: 0, prefixesAccepted: 0 });
  assert.deepEqual(withCeSessions(active, [v4], [s]), { status: 'PROVISIONING', reason: 'waiting for CE 10.0.0.2 to open its BGP session to 10.0.0.1 (active)' });
});

test('a session down whose routes the speaker keeps (graceful restart) leaves the access active', () => {
  assert.deepEqual(withCeSessions(active, [v4], [session('10.0.0.2', { state: 'active', prefixesStale: 3 })]), active);
});

test('no peer on the speaker yet: provisioning; the speaker not asked: the install alone decides', () => {
  assert.equal(withCeSessions(active, [v4], []).status, 'PROVISIONING');
  assert.deepEqual(withCeSessions(active, [v4], undefined), active);
  const otherVpn = session('10.0.0.2', { vpn: 'blue' });
  assert.equal(withCeSessions(active, [v4], [otherVpn]).status, 'PROVISIONING', "another VPN's CE with the same address is not this one");
});

test('an access not installed keeps its own status; an access without sessions is untouched', () => {
  const down: DerivedStatus = { status: 'DOWN', reason: 'pe1: cust0 is down: link down' };
  assert.deepEqual(withCeSessions(down, [v4], [session('10.0.0.2', { state: 'idle', prefixesAccepted: 0 })]), down);
  assert.deepEqual(withCeSessions(active, [], [session('10.0.0.2', { state: 'idle' })]), active);
});
