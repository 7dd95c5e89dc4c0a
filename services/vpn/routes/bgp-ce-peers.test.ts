import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { Family, MaxPrefixAction, SessionState, type Peer, type PeerConfig } from '../../common/gen/proto/l3vpn/v1/bgp.js';
import { createLogger } from '../../common/logger.js';
import type { CePeer } from '../reconcile/ce-peer-intent.js';
import type { BgpApi } from './bgp-client.js';
import { BgpCePeers, peerConfigOf, samePeer, sessionStatusOf } from './bgp-ce-peers.js';

const log = createLogger('test', 'silent');

const peer = (extra: Partial<CePeer> = {}): CePeer => ({
  vpn: 'red',
  node: 'pe1',
  site: 's1',
  access: 'a1',
  family: 4,
  ceAddress: '10.1.1.2',
  peAddress: '10.1.1.1',
  peerAs: 65101,
  siteOfOrigin: '65000:7',
  asOverride: false,
  allowasIn: 0,
  routeLabel: 30001,
  ...extra,
});

test('the relayed peer of a session: the CE in the VRF of its VPN on the node, marked as ours', () => {
  const c = peerConfigOf(peer({ family: 6, ceAddress: '2001:db8::2', peAddress: '2001:db8::1', asOverride: true, allowasIn: 3, maxPrefix: { limit: 50, warningPercent: 80, action: 'warning-only', restartInterval: 30 } }), 'l3vpn');
  assert.equal(c.address, '2001:db8::2');
  assert.equal(c.vrf, 'red@pe1');
  assert.equal(c.remoteAs, 65101);
  assert.equal(c.localAddress, '2001:db8::1');
  assert.deepEqual(c.families, [Family.FAMILY_IPV6_UNICAST]);
  assert.equal(c.relayed, true);
  assert.equal(c.passive, true);
  assert.equal(c.routeLabel, 30001);
  assert.equal(c.siteOfOrigin, '65000:7');
  assert.equal(c.asOverride, true);
  assert.equal(c.allowasIn, 3);
  assert.deepEqual(c.maxPrefix, { limit: 50, warningPercent: 80, action: MaxPrefixAction.MAX_PREFIX_ACTION_WARNING_ONLY, restartInterval: 30 });
  assert.equal(c.description, 'l3vpn: site s1 access a1 of VPN red');
  assert.deepEqual(peerConfigOf(peer(), 'l3vpn').families, [Family.FAMILY_IPV4_UNICAST]);
});

test("samePeer: the speaker's defaults (warning 75, limit action) are the same as unset; a changed AS is not", () => {
  const want = peerConfigOf(peer({ maxPrefix: { limit: 10 } }), 'o');
  const shown = { ...want, maxPrefix: { ...want.maxPrefix!, warningPercent: 75 } };
  assert.ok(samePeer(shown, want));
  assert.ok(!samePeer({ ...shown, remoteAs: 65102 }, want));
  assert.ok(!samePeer({ ...shown, routeLabel: 0 }, want));
});

/** A speaker keeping peers by name ("<ce>%<vrf>" for relayed ones), recording calls. */
function fakeSpeaker(initial: PeerConfig[] = []) {
  const peers = new Map<string, PeerConfig>();
  const name = (c: PeerConfig) => (c.relayed ? `${c.address}%${c.vrf}` : c.address);
  for (const c of initial) peers.set(name(c), c);
  const calls: string[] = [];
  const api = {
    listPeers: async () => ({ peers: [...peers.values()].map((config): Peer => ({ config, status: undefined })) }),
    addPeer: async ({ peer: c }: { peer: PeerConfig }) => {
      calls.push(`add ${name(c)}`);
      if (peers.has(name(c))) throw Object.assign(new Error('exists'), { code: status.ALREADY_EXISTS });
      peers.set(name(c), c);
      return {};
    },
    updatePeer: async ({ peer: c }: { peer: PeerConfig }) => {
      calls.push(`update ${name(c)}`);
      if (!peers.has(name(c))) throw Object.assign(new Error('no'), { code: status.NOT_FOUND });
      peers.set(name(c), c);
      return {};
    },
    deletePeer: async ({ address }: { address: string }) => {
      calls.push(`delete ${address}`);
      if (!peers.delete(address)) throw Object.assign(new Error('no'), { code: status.NOT_FOUND });
      return {};
    },
  };
  return { api: api as unknown as BgpApi, peers, calls };
}

test('reconcile adds missing peers, updates changed ones, deletes stale ones of the node, and touches nobody else', async () => {
  const foreign: PeerConfig = { ...peerConfigOf(peer({ ceAddress: '10.9.9.9' }), 'other-controller') };
  const otherNode = peerConfigOf(peer({ node: 'pe2', ceAddress: '10.2.2.2' }), 'l3vpn');
  const stale = peerConfigOf(peer({ site: 'gone', ceAddress: '10.1.1.6' }), 'l3vpn');
  const { api, peers, calls } = fakeSpeaker([foreign, otherNode, stale]);
  const cePeers = new BgpCePeers(api, 'l3vpn', log);

  await cePeers.reconcile('pe1', [peer()]);
  assert.deepEqual(calls, ['delete 10.1.1.6%red@pe1', 'add 10.1.1.2%red@pe1']);
  assert.deepEqual([...peers.keys()].sort(), ['10.1.1.2%red@pe1', '10.2.2.2%red@pe2', '10.9.9.9%red@pe1']);

  calls.length = 0;
  await cePeers.reconcile('pe1', [peer()]);
  assert.deepEqual(calls, [], 'nothing changed: no call');

  await cePeers.reconcile('pe1', [peer({ peerAs: 65199 })]);
  assert.deepEqual(calls, ['update 10.1.1.2%red@pe1']);
  assert.equal(peers.get('10.1.1.2%red@pe1')!.remoteAs, 65199);

  calls.length = 0;
  await cePeers.reconcile('pe1', []);
  assert.deepEqual(calls, ['delete 10.1.1.2%red@pe1']);
  assert.deepEqual([...peers.keys()].sort(), ['10.2.2.2%red@pe2', '10.9.9.9%red@pe1']);
});

test("a speaker that does not know relayed peers lists them unzoned and not relayed: they are updated, and deleted by their address", async () => {
  const shown = { ...peerConfigOf(peer(), 'l3vpn'), relayed: false };
  const { api, calls } = fakeSpeaker([shown]);
  await new BgpCePeers(api, 'l3vpn', log).reconcile('pe1', []);
  assert.deepEqual(calls, ['delete 10.1.1.2']);
});

test('session status from the listed peer: state, prefix counts summed over families, last error', () => {
  const config = peerConfigOf(peer(), 'l3vpn');
  const s = sessionStatusOf({
    config: { ...config, address: '10.1.1.2%red@pe1' },
    status: {
      sessionState: SessionState.SESSION_STATE_ESTABLISHED,
      prefixes: [{ family: Family.FAMILY_IPV4_UNICAST, received: 5, stale: 0, advertised: 7, accepted: 4 }],
      lastError: '',
      lastNotificationReceived: { code: 6, subcode: 2, data: Buffer.alloc(0), communication: 'maintenance', time: undefined },
    } as never,
  });
  assert.deepEqual(s, {
    vpn: 'red',
    node: 'pe1',
    site: 's1',
    access: 'a1',
    ceAddress: '10.1.1.2',
    state: 'established',
    prefixesReceived: 5,
    prefixesAccepted: 4,
    prefixesAdvertised: 7,
    prefixesStale: 0,
    everEstablished: true,
    lastError: 'NOTIFICATION received: Cease / Administrative Shutdown (6/2): maintenance',
  });
});
