import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger.js';
import type { SiteView } from '../intent/types.js';
import type { CeSessionStatus } from './bgp-ce-peers.js';
import { accessesUp, CachedCeSessions, withBgpSessions } from './ce-sessions.js';

const log = createLogger('test', 'silent');
const status = (extra: Partial<CeSessionStatus>): CeSessionStatus => ({
  vpn: 'red',
  node: 'pe1',
  site: 's1',
  access: 'a1',
  ceAddress: '10.1.1.2',
  state: 'established',
  prefixesReceived: 3,
  prefixesAccepted: 3,
  prefixesAdvertised: 9,
  prefixesStale: 0,
  everEstablished: true,
  ...extra,
});

const site = {
  id: 's1',
  vpn: 'red',
  routing: { bgp: { peerAs: 65101 } },
  accesses: [
    { id: 'a1', node: 'pe1', interface: 'ce0', priority: 100, status: { state: 'active' }, ipv4: { peAddress: '10.1.1.1/30', ceAddress: '10.1.1.2' }, ipv6: { peAddress: '2001:db8::1/64', ceAddress: '2001:DB8::2' } },
  ],
} as unknown as SiteView;

test('each access shows its sessions, one per CE address; one the speaker does not report is unknown', () => {
  const v = withBgpSessions(site, [status({}), status({ node: 'pe2' })]);
  assert.deepEqual(v.accesses[0]!.bgpSessions, [
    { ceAddress: '10.1.1.2', state: 'established', prefixesReceived: 3, prefixesAccepted: 3, prefixesAdvertised: 9 },
    { ceAddress: '2001:db8::2', state: 'unknown', prefixesReceived: 0, prefixesAccepted: 0, prefixesAdvertised: 0 },
  ]);
  assert.equal(withBgpSessions(site, undefined).accesses[0]!.bgpSessions![0]!.lastError, 'the bgp service cannot be asked');
  const noBgp = { ...site, routing: {} } as SiteView;
  assert.equal(withBgpSessions(noBgp, [status({})]), noBgp);
});

test('one ListPeers serves every read within the cache age; a failure reads as unavailable', async () => {
  let calls = 0;
  let fail = false;
  let now = 0;
  const cache = new CachedCeSessions(
    {
      sessions: async () => {
        calls++;
        if (fail) throw new Error('UNAVAILABLE');
        return [status({})];
      },
    },
    log,
    2000,
    () => now,
  );
  await Promise.all([cache.sessions(), cache.sessions()]);
  await cache.sessions();
  assert.equal(calls, 1);
  now = 2500;
  fail = true;
  assert.equal(await cache.sessions(), undefined);
  assert.equal(calls, 2);
});

test('an access is up only when every one of its sessions is established', () => {
  const up = [...accessesUp([status({}), status({ ceAddress: '2001:db8::2', state: 'active' }), status({ site: 's2', access: 'b1' })]).values()];
  assert.deepEqual(up, [
    { vpn: 'red', site: 's1', access: 'a1', up: false },
    { vpn: 'red', site: 's2', access: 'b1', up: true },
  ]);
});
