import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRd } from '../../common/vpn/rd.js';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import { forwardableUnknown } from './attributes.js';
import { AttrType, UpdateSubcode } from './constants.js';
import { decodeMessage } from './message.js';
import { parsePrefix } from './nlri.js';
import { AttributeSetCache, decodeUpdate, encodeEndOfRib, encodeUpdate } from './update.js';
import { attr, concat, hex, message, toHex, updateBody } from './test-helpers.js';

const S4 = { fourOctetAs: true };
const S2 = { fourOctetAs: false };

// RFC 4760 §3 / RFC 4364 §4.3.4 / RFC 8277 §2, laid out by hand:
// MP_REACH_NLRI AFI 1 SAFI 128, next hop RD 0 + 198.51.100.1, one NLRI
// 10.1.1.0/24 with label 16 (BoS) and RD 65000:100; ORIGIN IGP; AS_PATH
// 65001 (4-octet); LOCAL_PREF 100; route target 65000:100.
const VPN_UPDATE = hex(`
  ffffffffffffffffffffffffffffffff 0059 02
  0000
  0042
  80 0e 20  0001 80 0c 0000000000000000 c6336401 00
            70 000101 0000fde800000064 0a0101
  40 01 01 00
  40 02 06 02 01 0000fde9
  40 05 04 00000064
  c0 10 08 0002fde800000064
`);

const vpnRoute = { ...parsePrefix('10.1.1.0/24'), rd: parseRd('65000:100'), labels: [16] };
const vpnSpec = {
  mpReach: { afi: 1, safi: 128, nextHop: { address: '198.51.100.1' }, routes: [vpnRoute] },
  attributes: {
    origin: 0 as const,
    asPath: [{ type: 2 as const, asns: [65001] }],
    localPref: 100,
    extendedCommunities: [{ kind: 'route-target' as const, value: parseRouteTarget('65000:100') }],
  },
};

test('VPN-IPv4 UPDATE decodes from a hand-built vector', () => {
  const r = decodeMessage(VPN_UPDATE, S4);
  assert.ok(r.ok);
  const u = r.message;
  assert.equal(u.type, 'update');
  if (u.type !== 'update') return;
  assert.equal(u.action, 'ok');
  assert.deepEqual(u.problems, []);
  assert.equal(u.mpReach?.afi, 1);
  assert.equal(u.mpReach?.safi, 128);
  assert.deepEqual(u.mpReach?.nextHop, { address: '198.51.100.1' });
  const nlri = u.mpReach!.nlri;
  assert.equal(nlri.count, 1);
  assert.equal(nlri.prefix(0), '10.1.1.0/24');
  assert.equal(nlri.rdText(0), '65000:100');
  assert.deepEqual(nlri.labels(0), [16]);
  assert.equal(nlri.ipv4(0), 0x0a010100);
  assert.deepEqual(u.announce, [nlri]);
  assert.deepEqual(u.withdraw, []);
  assert.deepEqual(u.attributes, vpnSpec.attributes);
});

test('VPN-IPv4 UPDATE encodes byte-identical to the vector', () => {
  assert.equal(toHex(encodeUpdate(vpnSpec, S4)), toHex(VPN_UPDATE));
});

test('VPN-IPv6 with link-local next hop round-trips', () => {
  const spec = {
    mpReach: {
      afi: 2,
      safi: 128,
      nextHop: { address: '2001:db8::1', linkLocal: 'fe80::1' },
      routes: [
        { ...parsePrefix('2001:db8:1::/48'), rd: parseRd('192.0.2.1:7'), labels: [100, 200] },
        { ...parsePrefix('::/0'), rd: parseRd('4200000000:7'), labels: [3] },
      ],
    },
    attributes: { origin: 2 as const, asPath: [], med: 5, clusterList: ['10.0.0.1'], originatorId: '10.0.0.2' },
  };
  const bytes = encodeUpdate(spec, S4);
  const u = decodeUpdate(bytes.subarray(19), { fourOctetAs: true, multipleLabels: 2 });
  assert.equal(u.action, 'ok');
  assert.equal(bytes[23 + 3 + 3], 48, 'next hop length 48 (RFC 4659 §3.2.1.1)');
  assert.deepEqual(u.mpReach?.nextHop, { address: '2001:db8::1', linkLocal: 'fe80::1' });
  assert.deepEqual(u.mpReach?.nlri.toRoutes(), [
    { rd: parseRd('192.0.2.1:7'), prefix: '2001:db8:1::/48', labels: [100, 200] },
    { rd: parseRd('4200000000:7'), prefix: '::/0', labels: [3] },
  ]);
  assert.deepEqual(u.attributes, spec.attributes);
});

test('IPv4 unicast with classic fields, communities, aggregator', () => {
  const spec = {
    withdrawn: [parsePrefix('192.168.0.0/16')],
    nlri: [parsePrefix('10.0.0.0/8'), parsePrefix('10.1.2.3/32'), parsePrefix('0.0.0.0/0')],
    attributes: {
      origin: 1 as const,
      asPath: [
        { type: 3 as const, asns: [64512] },
        { type: 2 as const, asns: [65001, 65002] },
        { type: 1 as const, asns: [65003, 65004] },
      ],
      nextHop: '198.51.100.7',
      atomicAggregate: true,
      aggregator: { as: 65001, address: '198.51.100.9' },
      communities: [0xfde80064, 0xffffff01],
    },
  };
  const u = decodeUpdate(encodeUpdate(spec, S4).subarray(19), S4);
  assert.equal(u.action, 'ok');
  assert.deepEqual(u.attributes, spec.attributes);
  assert.deepEqual(u.nlri.toRoutes().map((r) => r.prefix), ['10.0.0.0/8', '10.1.2.3/32', '0.0.0.0/0']);
  assert.deepEqual(u.withdrawn.toRoutes().map((r) => r.prefix), ['192.168.0.0/16']);
});

test('2-octet session: AS_TRANS + AS4_PATH out, RFC 6793 §4.2.3 merge in', () => {
  const attributes = {
    origin: 0 as const,
    asPath: [{ type: 2 as const, asns: [65001, 4200000001, 4200000002] }],
    nextHop: '198.51.100.1',
    aggregator: { as: 4200000001, address: '198.51.100.2' },
  };
  const bytes = encodeUpdate({ attributes, nlri: [parsePrefix('10.0.0.0/8')] }, S2);
  // AS_PATH in 2 octets: 65001 AS_TRANS AS_TRANS.
  assert.ok(toHex(bytes).includes('4002080203fde95ba05ba0'));
  // AGGREGATOR carries AS_TRANS; AS4_AGGREGATOR the real AS.
  assert.ok(toHex(bytes).includes('c007065ba0c6336402'));
  assert.ok(toHex(bytes).includes('c01208fa56ea01c6336402'));
  const u = decodeUpdate(bytes.subarray(19), S2);
  assert.equal(u.action, 'ok');
  assert.deepEqual(u.attributes, attributes);
});

test('AS4_PATH longer than AS_PATH is ignored; AGGREGATOR with a real AS voids AS4_*', () => {
  const body = updateBody(
    new Uint8Array(0),
    concat(
      attr(0x40, 1, '00'),
      attr(0x40, 2, '0201fde9'),
      attr(0x40, 3, 'c6336401'),
      attr(0xc0, 7, 'fde9c6336402'),
      attr(0xc0, 17, '0202fa56ea01fa56ea02'),
      attr(0xc0, 18, 'fa56ea01c6336402'),
    ),
    hex('080a'),
  );
  const u = decodeUpdate(body, S2);
  assert.equal(u.action, 'ok');
  assert.deepEqual(u.attributes.asPath, [{ type: 2, asns: [65001] }]);
  assert.deepEqual(u.attributes.aggregator, { as: 65001, address: '198.51.100.2' });
});

test('AS4_PATH on a 4-octet session is discarded (RFC 6793 §6)', () => {
  const body = updateBody(new Uint8Array(0), concat(attr(0x40, 1, '00'), attr(0x40, 2, ''), attr(0xc0, 17, '0201fa56ea01')), new Uint8Array(0));
  const u = decodeUpdate(body, S4);
  assert.equal(u.action, 'attribute-discard');
  assert.deepEqual(u.attributes.asPath, []);
});

test('End-of-RIB markers (RFC 4724 §2)', () => {
  assert.deepEqual(decodeUpdate(encodeEndOfRib(1, 1).subarray(19), S4).endOfRib, { afi: 1, safi: 1 });
  const eor = encodeEndOfRib(1, 128);
  assert.equal(toHex(eor.subarray(19)), '0000' + '0006' + '800f03000180');
  assert.deepEqual(decodeUpdate(eor.subarray(19), S4).endOfRib, { afi: 1, safi: 128 });
});

test('VPN withdrawal: label 0x800000 sent, 0x800000 and 0x000000 accepted (RFC 8277 §2.4)', () => {
  const bytes = encodeUpdate({ mpUnreach: { afi: 1, safi: 128, routes: [vpnRoute] } }, S4);
  assert.ok(toHex(bytes).endsWith('70800000' + '0000fde800000064' + '0a0101'));
  for (const label of ['800000', '000000']) {
    const body = updateBody(new Uint8Array(0), attr(0x80, 15, `000180 70${label} 0000fde800000064 0a0101`), new Uint8Array(0));
    const u = decodeUpdate(body, S4);
    assert.equal(u.action, 'ok');
    assert.equal(u.withdraw.length, 1);
    assert.equal(u.withdraw[0]!.prefix(0), '10.1.1.0/24');
    assert.equal(u.withdraw[0]!.rdText(0), '65000:100');
  }
});

test('unknown optional transitive attribute is kept and forwarded with Partial set', () => {
  const body = updateBody(new Uint8Array(0), concat(attr(0x40, 1, '00'), attr(0x40, 2, ''), attr(0xc0, 99, 'aabb'), attr(0x80, 98, 'cc')), new Uint8Array(0));
  const u = decodeUpdate(body, S4);
  assert.equal(u.action, 'ok');
  assert.deepEqual(u.attributes.unknown, [
    { flags: 0xc0, type: 99, value: hex('aabb') },
    { flags: 0x80, type: 98, value: hex('cc') },
  ]);
  const fwd = forwardableUnknown(u.attributes.unknown);
  assert.deepEqual(fwd, [{ flags: 0xe0, type: 99, value: hex('aabb') }]);
  const out = encodeUpdate({ attributes: { origin: 0, asPath: [], unknown: fwd } }, S4);
  assert.ok(toHex(out).endsWith('e06302aabb'));
});

test('extended-length flag is accepted on input and used on output only above 255 octets', () => {
  const body = updateBody(new Uint8Array(0), concat(hex('50 01 0001 00'), hex('50 02 0000')), new Uint8Array(0));
  assert.equal(decodeUpdate(body, S4).action, 'ok');
  const communities = Array.from({ length: 70 }, (_, i) => i);
  const out = encodeUpdate({ attributes: { origin: 0, asPath: [], communities } }, S4);
  assert.ok(toHex(out).includes('d0080118'));
  assert.deepEqual(decodeUpdate(out.subarray(19), S4).attributes.communities, communities);
});

// ---- RFC 7606 outcomes, one per subcode ----

const ORIGIN = attr(0x40, 1, '00');
const AS_PATH = attr(0x40, 2, '0201 0000fde9');
const NEXT_HOP = attr(0x40, 3, 'c6336401');
const NLRI = hex('18 0a0101');

function withAttrs(...extra: Uint8Array[]): Uint8Array {
  return updateBody(hex('10 c0a8'), concat(...extra), NLRI);
}

function only(u: ReturnType<typeof decodeUpdate>) {
  assert.equal(u.problems.length, 1, JSON.stringify(u.problems.map((p) => p.reason)));
  return u.problems[0]!;
}

test('treat-as-withdraw withdraws the NLRI field and MP_REACH routes too', () => {
  const mp = attr(0x80, 14, '0001800c0000000000000000c633640100 70000101 0000fde800000064 0a0202');
  const u = decodeUpdate(withAttrs(mp, attr(0x40, 1, '07'), AS_PATH, NEXT_HOP), S4);
  assert.equal(u.action, 'treat-as-withdraw');
  const p = only(u);
  assert.equal(p.subcode, UpdateSubcode.INVALID_ORIGIN_ATTRIBUTE);
  assert.equal(toHex(p.data), '40010107');
  assert.deepEqual(u.announce, []);
  assert.deepEqual(
    u.withdraw.map((l) => l.prefix(0)),
    ['192.168.0.0/16', '10.1.1.0/24', '10.2.2.0/24'],
  );
});

const cases: [string, Uint8Array, string, number, string?][] = [
  ['ORIGIN length', withAttrs(attr(0x40, 1, '0000'), AS_PATH, NEXT_HOP), 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, '4001020000'],
  ['ORIGIN flags', withAttrs(attr(0xc0, 1, '00'), AS_PATH, NEXT_HOP), 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, 'c0010100'],
  ['AS_PATH bad segment type', withAttrs(ORIGIN, attr(0x40, 2, '0501 0000fde9'), NEXT_HOP), 'treat-as-withdraw', UpdateSubcode.MALFORMED_AS_PATH, ''],
  ['AS_PATH zero-length segment', withAttrs(ORIGIN, attr(0x40, 2, '0200'), NEXT_HOP), 'treat-as-withdraw', UpdateSubcode.MALFORMED_AS_PATH, ''],
  ['AS_PATH overrun', withAttrs(ORIGIN, attr(0x40, 2, '0202 0000fde9'), NEXT_HOP), 'treat-as-withdraw', UpdateSubcode.MALFORMED_AS_PATH, ''],
  ['missing AS_PATH', withAttrs(ORIGIN, NEXT_HOP), 'treat-as-withdraw', UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, '02'],
  ['missing NEXT_HOP', withAttrs(ORIGIN, AS_PATH), 'treat-as-withdraw', UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, '03'],
  ['NEXT_HOP length', withAttrs(ORIGIN, AS_PATH, attr(0x40, 3, 'c633640101')), 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, '400305c633640101'],
  ['NEXT_HOP 0.0.0.0', withAttrs(ORIGIN, AS_PATH, attr(0x40, 3, '00000000')), 'treat-as-withdraw', UpdateSubcode.INVALID_NEXT_HOP_ATTRIBUTE, '40030400000000'],
  ['NEXT_HOP multicast', withAttrs(ORIGIN, AS_PATH, attr(0x40, 3, 'e0000001')), 'treat-as-withdraw', UpdateSubcode.INVALID_NEXT_HOP_ATTRIBUTE, '400304e0000001'],
  ['MED length', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0x80, 4, '000001')), 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, '800403000001'],
  ['LOCAL_PREF flags', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0x80, 5, '00000064')), 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, '80050400000064'],
  ['ATOMIC_AGGREGATE length', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0x40, 6, '00')), 'attribute-discard', UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, '40060100'],
  ['AGGREGATOR length', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0xc0, 7, 'fde9c63364')), 'attribute-discard', UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, 'c00705fde9c63364'],
  ['COMMUNITIES length', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0xc0, 8, '0000000001')), 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, 'c008050000000001'],
  ['ORIGINATOR_ID length', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0x80, 9, '0a00')), 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, '8009020a00'],
  ['CLUSTER_LIST empty', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0x80, 10, '')), 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, '800a00'],
  ['EXTENDED_COMMUNITIES length', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0xc0, 16, '0002fde80000006400')), 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH_ERROR],
  ['duplicate LOCAL_PREF', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0x40, 5, '00000064'), attr(0x40, 5, '000000c8')), 'attribute-discard', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST],
  ['attribute overruns the attribute field', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, hex('400504000000')), 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH_ERROR],
  ['trailing octets too short for an attribute', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, hex('4005')), 'treat-as-withdraw', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST],
  ['unrecognized well-known', withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0x40, 99, 'ab')), 'session-reset', UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, '406301ab'],
  ['duplicate MP_REACH_NLRI', withAttrs(attr(0x80, 14, '0001010401020304 00'), attr(0x80, 14, '0001010401020304 00'), ORIGIN, AS_PATH, NEXT_HOP), 'session-reset', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, ''],
  ['duplicate MP_UNREACH_NLRI', withAttrs(attr(0x80, 15, '000101'), attr(0x80, 15, '000101'), ORIGIN, AS_PATH, NEXT_HOP), 'session-reset', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, ''],
  ['MP_REACH next hop length', withAttrs(attr(0x80, 14, '00018004c6336401 00'), ORIGIN, AS_PATH, NEXT_HOP), 'session-reset', UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, '800e09' + '00018004c633640100'],
  ['MP_REACH next hop overrun', withAttrs(attr(0x80, 14, '00018040c6336401'), ORIGIN, AS_PATH, NEXT_HOP), 'session-reset', UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR],
  ['MP_REACH bad VPN prefix length', withAttrs(attr(0x80, 14, '0001800c0000000000000000c633640100 79000101 0000fde800000064 0a010101'), ORIGIN, AS_PATH, NEXT_HOP), 'session-reset', UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR],
  ['MP_UNREACH truncated prefix', withAttrs(attr(0x80, 15, '000201 40 20010db8'), ORIGIN, AS_PATH, NEXT_HOP), 'session-reset', UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR],
  ['MP_REACH flags', withAttrs(attr(0xc0, 14, '0001010401020304 00'), ORIGIN, AS_PATH, NEXT_HOP), 'session-reset', UpdateSubcode.ATTRIBUTE_FLAGS_ERROR],
  ['NLRI prefix length 33', updateBody(new Uint8Array(0), concat(ORIGIN, AS_PATH, NEXT_HOP), hex('21 0a010101ff')), 'session-reset', UpdateSubcode.INVALID_NETWORK_FIELD, ''],
  ['NLRI truncated', updateBody(new Uint8Array(0), concat(ORIGIN, AS_PATH, NEXT_HOP), hex('18 0a01')), 'session-reset', UpdateSubcode.INVALID_NETWORK_FIELD, ''],
  ['withdrawn routes malformed', updateBody(hex('20 0a01'), new Uint8Array(0), new Uint8Array(0)), 'session-reset', UpdateSubcode.INVALID_NETWORK_FIELD, ''],
  ['withdrawn length overruns the message', hex('00ff 0000'), 'session-reset', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, ''],
  ['attribute length overruns the message', hex('0000 00ff 400101'), 'session-reset', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, ''],
];

for (const [name, body, action, subcode, data] of cases) {
  test(`RFC 7606: ${name} -> ${action}, subcode ${subcode}`, () => {
    const u = decodeUpdate(body, S4);
    assert.equal(u.action, action, JSON.stringify(u.problems.map((p) => p.reason)));
    const worst = u.problems.find((p) => p.action === action)!;
    assert.equal(worst.subcode, subcode, worst.reason);
    if (data !== undefined) assert.equal(toHex(worst.data), data.replace(/\s/g, ''));
    if (action === 'session-reset') {
      assert.deepEqual(u.notification, { code: 3, subcode, data: worst.data });
      const r = decodeMessage(message(2, body), S4);
      assert.equal(r.ok, false);
    } else {
      assert.equal(u.notification, undefined);
    }
    if (action === 'treat-as-withdraw') {
      assert.deepEqual(u.announce, []);
      assert.ok(u.withdraw.some((l) => l.count > 0 && l.prefix(0) === '10.1.1.0/24'));
    }
    if (action === 'attribute-discard') assert.equal(u.announce.length, 1);
  });
}

test('duplicate attributes: the first copy is kept', () => {
  const u = decodeUpdate(withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0x40, 5, '00000064'), attr(0x40, 5, '000000c8')), S4);
  assert.equal(u.attributes.localPref, 100);
});

test('missing mandatory attributes do not matter for a withdrawal-only UPDATE', () => {
  const u = decodeUpdate(updateBody(hex('18 0a0101'), new Uint8Array(0), new Uint8Array(0)), S4);
  assert.equal(u.action, 'ok');
  assert.equal(u.withdraw[0]!.prefix(0), '10.1.1.0/24');
});

test('MP_REACH without NEXT_HOP is fine; missing ORIGIN is treat-as-withdraw', () => {
  const mp = attr(0x80, 14, '0001800c0000000000000000c633640100 70000101 0000fde800000064 0a0202');
  assert.equal(decodeUpdate(updateBody(new Uint8Array(0), concat(mp, ORIGIN, AS_PATH), new Uint8Array(0)), S4).action, 'ok');
  const u = decodeUpdate(updateBody(new Uint8Array(0), concat(mp, AS_PATH), new Uint8Array(0)), S4);
  assert.equal(u.action, 'treat-as-withdraw');
  assert.equal(toHex(only(u).data), '01');
  assert.equal(u.withdraw[0]!.prefix(0), '10.2.2.0/24');
});

test('strongest action wins (RFC 7606 §3.h)', () => {
  const u = decodeUpdate(withAttrs(ORIGIN, AS_PATH, NEXT_HOP, attr(0x40, 6, '00'), attr(0xc0, 8, '00')), S4);
  assert.equal(u.problems.length, 2);
  assert.equal(u.action, 'treat-as-withdraw');
  assert.equal(u.attributes.atomicAggregate, undefined);
  assert.equal(AttrType.ATOMIC_AGGREGATE, u.problems[0]!.attributeType);
});

test('attribute-set cache: same octets share one decoded set; NLRI and NLRI-dependent checks run every time', () => {
  const cache = new AttributeSetCache();
  const s = { fourOctetAs: true, attributeCache: cache };
  const mp = (nlri: string) => attr(0x80, 14, `0001800c0000000000000000c633640100 ${nlri}`);
  const body = (...a: Uint8Array[]) => updateBody(new Uint8Array(0), concat(...a), new Uint8Array(0));
  const a = decodeUpdate(body(mp('70000101 0000fde800000064 0a0101'), ORIGIN, AS_PATH), s);
  const b = decodeUpdate(body(mp('70000111 0000fde800000064 0a0102'), ORIGIN, AS_PATH), s);
  assert.equal(a.action, 'ok');
  assert.equal(b.action, 'ok');
  assert.equal(cache.misses, 1);
  assert.equal(cache.hits, 1);
  assert.equal(b.attributes, a.attributes);
  assert.equal(b.attributeSet, a.attributeSet);
  assert.equal(b.mpReach!.nlri.prefix(0), '10.1.2.0/24');
  assert.deepEqual(b.mpReach!.nlri.labels(0), [17]);
  // Decoded as without the cache.
  assert.deepEqual(b.attributes, decodeUpdate(body(mp('70000111 0000fde800000064 0a0102'), ORIGIN, AS_PATH), S4).attributes);
  // A broken NLRI behind cached attributes is still caught (session reset, RFC 7606 §5.3).
  const bad = decodeUpdate(body(mp('70000111 0000fde800000064'), ORIGIN, AS_PATH), s);
  assert.equal(bad.action, 'session-reset');
  assert.equal(bad.notification?.subcode, UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR);
  // Another next hop is another set.
  decodeUpdate(body(attr(0x80, 14, '0001800c0000000000000000c633640200 70000101 0000fde800000064 0a0101'), ORIGIN, AS_PATH), s);
  assert.equal(cache.misses, 2);
});

test('attribute-set cache: a set with problems is never cached; mandatory checks follow the NLRI', () => {
  const cache = new AttributeSetCache();
  const s = { fourOctetAs: true, attributeCache: cache };
  for (let i = 0; i < 2; i++) {
    const u = decodeUpdate(withAttrs(attr(0x40, 1, '07'), AS_PATH, NEXT_HOP), s);
    assert.equal(u.action, 'treat-as-withdraw');
    assert.equal(only(u).subcode, UpdateSubcode.INVALID_ORIGIN_ATTRIBUTE);
    assert.equal(u.attributeSet, undefined);
  }
  assert.equal(cache.size, 0);
  // Without NLRI, no NEXT_HOP and no ORIGIN are fine and the set is cached ...
  const w = decodeUpdate(updateBody(hex('10 c0a8'), concat(AS_PATH), new Uint8Array(0)), s);
  assert.equal(w.action, 'ok');
  assert.equal(cache.size, 1);
  // ... and the same octets with NLRI still draw treat-as-withdraw for what is missing.
  const n = decodeUpdate(updateBody(hex('10 c0a8'), concat(AS_PATH), NLRI), s);
  assert.equal(cache.hits, 1);
  assert.equal(n.action, 'treat-as-withdraw');
  assert.deepEqual(n.problems.map((p) => p.subcode), [UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE]);
  assert.equal(n.attributeSet, undefined);
});
