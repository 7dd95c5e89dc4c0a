import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRd } from '../../common/vpn/rd.js';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import { routeKey, type Path } from '../rib/path.js';
import { WellKnownCommunity } from '../wire/communities.js';
import { decodeMessage } from '../wire/message.js';
import { parsePrefix } from '../wire/nlri.js';
import type { UpdateMessage } from '../wire/update.js';
import { announcementUpdates, exportAttributes, exportNextHop, mayAdvertise, overrideAs, prependAs, type ExportPeer } from './export.js';
import { VPNV4, IPV4_UNICAST } from './config.js';

const ibgp: ExportPeer = { localAs: 65000, remoteAs: 65000, localAddress: '127.0.0.1', session: { fourOctetAs: true } };
const ebgp: ExportPeer = { ...ibgp, remoteAs: 65001 };
const twoOctet: ExportPeer = { ...ebgp, localAs: 4200000001, session: { fourOctetAs: false } };

function path(over: Partial<Path> = {}, attributes: Path['attributes'] = {}): Path {
  const route = { ...parsePrefix('10.1.0.0/24'), rd: parseRd('65000:100'), labels: [100] };
  return {
    family: VPNV4,
    key: routeKey(VPNV4, route),
    route,
    nextHop: { address: '198.51.100.1' },
    attributes: { origin: 0, med: 5, localPref: 200, extendedCommunities: [{ kind: 'route-target', value: parseRouteTarget('65000:1') }], ...attributes },
    source: 'local',
    since: 0,
    stale: false,
    ...over,
  };
}

test('iBGP: AS_PATH and next hop unchanged, LOCAL_PREF kept (100 when unset)', () => {
  const a = exportAttributes(path(), ibgp);
  assert.deepEqual(a.asPath, []);
  assert.equal(a.localPref, 200);
  assert.equal(a.med, 5);
  assert.equal(exportNextHop(path(), ibgp).address, '198.51.100.1');
  assert.equal(exportAttributes(path({}, { localPref: undefined }), ibgp).localPref, 100);
  assert.equal(exportNextHop(path({ nextHop: undefined }), ibgp).address, '127.0.0.1', 'no next hop: ours');
});

test('eBGP: our AS prepended, next hop self, no LOCAL_PREF, MED only when ours (RFC 4271 §5.1)', () => {
  const received = path({ source: '192.0.2.9' }, { asPath: [{ type: 2, asns: [65002] }], originatorId: '1.1.1.1', clusterList: ['2.2.2.2'] });
  const a = exportAttributes(received, ebgp);
  assert.deepEqual(a.asPath, [{ type: 2, asns: [65000, 65002] }]);
  assert.equal(a.localPref, undefined);
  assert.equal(a.med, undefined);
  assert.equal(a.originatorId, undefined);
  assert.equal(a.clusterList, undefined);
  assert.equal(exportAttributes(path(), ebgp).med, 5);
  assert.equal(exportNextHop(received, ebgp).address, '127.0.0.1');
  assert.deepEqual(prependAs([{ type: 1, asns: [1, 2] }], 7), [{ type: 2, asns: [7] }, { type: 1, asns: [1, 2] }]);
});

test('well-known communities limit where a path goes (RFC 1997)', () => {
  assert.equal(mayAdvertise(path({}, { communities: [WellKnownCommunity.NO_EXPORT] }), ibgp), true);
  assert.equal(mayAdvertise(path({}, { communities: [WellKnownCommunity.NO_EXPORT] }), ebgp), false);
  assert.equal(mayAdvertise(path({}, { communities: [WellKnownCommunity.NO_ADVERTISE] }), ibgp), false);
});

test('UPDATEs decode back to the route, and a 2-octet peer gets AS_TRANS plus AS4_PATH (RFC 6793 §4.2.2)', () => {
  const [msg, ...rest] = announcementUpdates(VPNV4, [path()], twoOctet);
  assert.equal(rest.length, 0);
  const d = decodeMessage(msg!, { fourOctetAs: false });
  assert.ok(d.ok && d.message.type === 'update');
  const u = d.message as UpdateMessage;
  assert.deepEqual(u.attributes.asPath, [{ type: 2, asns: [4200000001] }], 'merged back from AS4_PATH');
  const raw = Buffer.from(msg!).toString('hex');
  assert.ok(raw.includes('40020402015ba0'), 'AS_PATH carries AS_TRANS (23456 = 0x5ba0)');
  assert.ok(raw.includes('c011060201fa56ea01'), 'AS4_PATH carries the real AS');
  assert.deepEqual(u.mpReach?.nlri.toRoutes(), [{ rd: parseRd('65000:100'), prefix: '10.1.0.0/24', labels: [100] }]);
  assert.equal(u.mpReach?.nextHop?.address, '127.0.0.1');
});

test('paths sharing an attribute set are packed into one UPDATE; IPv4 unicast uses NEXT_HOP', () => {
  const attributes = { origin: 0 as const };
  const paths = Array.from({ length: 50 }, (_, i) => {
    const route = parsePrefix(`10.${i}.0.0/16`);
    return path({ family: IPV4_UNICAST, route, key: routeKey(IPV4_UNICAST, route), attributes }, attributes);
  }).map((p) => ({ ...p, attributes }));
  const msgs = announcementUpdates(IPV4_UNICAST, paths, ibgp);
  assert.equal(msgs.length, 1);
  const d = decodeMessage(msgs[0]!, { fourOctetAs: true });
  assert.ok(d.ok && d.message.type === 'update');
  assert.equal(d.message.nlri.count, 50);
  assert.equal(d.message.attributes.nextHop, '198.51.100.1');
});

test('as-override: every occurrence of the CE\'s AS becomes ours after our prepend; length and segments kept', () => {
  // A route from a sister site (AS 65001, like the CE we send to) through another PE (AS 65000).
  const fromSister = path({ source: '192.0.2.9' }, { asPath: [{ type: 2, asns: [65000, 65001] }, { type: 1, asns: [65001, 65007] }] });
  const plain = exportAttributes(fromSister, ebgp);
  assert.deepEqual(plain.asPath, [{ type: 2, asns: [65000, 65000, 65001] }, { type: 1, asns: [65001, 65007] }], 'without it the CE sees its own AS');
  const overridden = exportAttributes(fromSister, { ...ebgp, asOverride: true });
  assert.deepEqual(overridden.asPath, [{ type: 2, asns: [65000, 65000, 65000] }, { type: 1, asns: [65000, 65007] }]);
  // Only towards eBGP: an iBGP peer's AS is ours anyway, nothing to replace.
  assert.deepEqual(exportAttributes(fromSister, { ...ibgp, asOverride: true }).asPath, fromSister.attributes.asPath);
  // A path without the CE's AS is returned as is (no copy).
  const other = [{ type: 2 as const, asns: [65000, 65002] }];
  assert.equal(overrideAs(other, 65001, 65000), other);
  // Encoded for the CE: the override survives the wire (4-octet session).
  const [u] = announcementUpdates(IPV4_UNICAST, [{ ...fromSister, family: IPV4_UNICAST, key: routeKey(IPV4_UNICAST, parsePrefix('10.9.0.0/16')), route: parsePrefix('10.9.0.0/16') }], { ...ebgp, asOverride: true });
  const decoded = decodeMessage(u!, { fourOctetAs: true });
  assert.ok(decoded.ok && decoded.message.type === 'update');
  assert.deepEqual((decoded.message as UpdateMessage).attributes.asPath, [{ type: 2, asns: [65000, 65000, 65000] }, { type: 1, asns: [65000, 65007] }]);
});
