import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import { decodeMpReach } from '../wire/mp-nlri.js';
import {
  DEFAULT_RT_MEMBERSHIP,
  RtMembership,
  RtMembershipFilter,
  SAFI_RT_CONSTRAINT,
  decodeRtMembershipNlri,
  encodeRtMembershipNlri,
  rtMembership,
} from './rt-membership.js';
import { rtAttrs } from './test-helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('RT membership NLRI: encoding of default, exact and prefix memberships', () => {
  const exact = rtMembership(65000, parseRouteTarget('65000:100'));
  // 96 bits: origin AS 65000, then type 0x00 subtype 0x02, AS 65000 (fde8), number 100.
  assert.equal(hex(encodeRtMembershipNlri([exact])), '60' + '0000fde8' + '0002fde800000064');
  assert.equal(hex(encodeRtMembershipNlri([DEFAULT_RT_MEMBERSHIP])), '00');
  // A 48-bit prefix: origin AS plus type/subtype: every 2-octet-AS route target.
  const typeOnly: RtMembership = { originAs: 65000, length: 48, target: Uint8Array.of(0, 2, 0, 0, 0, 0, 0, 0) };
  assert.equal(hex(encodeRtMembershipNlri([typeOnly])), '30' + '0000fde8' + '0002');
  const all = encodeRtMembershipNlri([exact, DEFAULT_RT_MEMBERSHIP, typeOnly]);
  const back = decodeRtMembershipNlri(all);
  assert.ok(Array.isArray(back));
  assert.deepEqual(back.map((m) => [m.originAs, m.length, hex(m.target)]), [
    [65000, 96, '0002fde800000064'],
    [0, 0, '0000000000000000'],
    [65000, 48, '0002000000000000'],
  ]);
});

test('RT membership NLRI: malformed lengths and truncation are reported, not thrown', () => {
  assert.match(String(decodeRtMembershipNlri(Uint8Array.of(8, 1))), /length 8/);
  assert.match(String(decodeRtMembershipNlri(Uint8Array.of(97, ...new Array(13).fill(0)))), /length 97/);
  assert.match(String(decodeRtMembershipNlri(Uint8Array.of(96, 0, 0))), /runs past/);
  assert.deepEqual(decodeRtMembershipNlri(new Uint8Array(0)), []);
  // Random bytes never throw.
  for (let i = 0; i < 2000; i++) {
    const b = Uint8Array.from({ length: i % 40 }, () => Math.floor(Math.random() * 256));
    decodeRtMembershipNlri(b);
  }
});

test('RT membership NLRI rides in MP_REACH_NLRI as an opaque field the codec leaves to us', () => {
  const nlri = encodeRtMembershipNlri([rtMembership(65000, parseRouteTarget('65000:7'))]);
  // MP_REACH value: AFI 1, SAFI 132, next hop 4 octets, reserved, NLRI.
  const value = Uint8Array.of(0, 1, SAFI_RT_CONSTRAINT, 4, 192, 0, 2, 1, 0, ...nlri);
  const mp = decodeMpReach(value, {});
  assert.ok(typeof mp !== 'string');
  assert.equal(mp.nlri.shape, undefined);
  const got = decodeRtMembershipNlri(mp.nlri.bytes);
  assert.ok(Array.isArray(got) && got.length === 1 && got[0]!.originAs === 65000);
});

test('filter: only routes carrying a requested RT pass; default membership passes all', () => {
  const f = new RtMembershipFilter();
  const red = rtAttrs(['65000:100']);
  const blue = rtAttrs(['65000:200', '65000:201']);
  const none = rtAttrs([]);
  const ipRt = rtAttrs(['192.0.2.1:5']);
  assert.equal(f.allows(red), false, 'nothing asked for: nothing sent');
  assert.equal(f.add(rtMembership(65001, parseRouteTarget('65000:201'))), true);
  assert.equal(f.allows(blue), true);
  assert.equal(f.allows(red), false);
  // The same RT from two origins: withdrawing one keeps it.
  f.add(rtMembership(65002, parseRouteTarget('65000:201')));
  assert.equal(f.add(rtMembership(65002, parseRouteTarget('65000:201'))), false, 'duplicate');
  f.remove(rtMembership(65001, parseRouteTarget('65000:201')));
  assert.equal(f.allows(blue), true);
  f.remove(rtMembership(65002, parseRouteTarget('65000:201')));
  assert.equal(f.allows(blue), false, 'cache follows the change');
  // Prefix: every IPv4-address-form route target (type 0x01, subtype 0x02).
  f.add({ originAs: 65001, length: 48, target: Uint8Array.of(1, 2, 0, 0, 0, 0, 0, 0) });
  assert.equal(f.allows(ipRt), true);
  assert.equal(f.allows(red), false);
  // A 60-bit prefix: type 0x00/0x02, AS 65000 (0xfde8), first 4 bits of the number.
  f.add({ originAs: 65001, length: 92, target: Uint8Array.of(0, 2, 0xfd, 0xe8, 0, 0, 0, 0x60) });
  assert.equal(f.allows(rtAttrs(['65000:100'])), true, '100 = 0x64 shares the top nibble 0x6');
  assert.equal(f.allows(rtAttrs(['65000:16'])), false, '16 = 0x10 does not');
  // Default membership: everything, RT-less routes included.
  f.add(DEFAULT_RT_MEMBERSHIP);
  assert.equal(f.acceptsAll, true);
  assert.equal(f.allows(none), true);
  f.remove(DEFAULT_RT_MEMBERSHIP);
  assert.equal(f.allows(none), false);
  assert.equal(f.size, 2);
  f.clear();
  assert.equal(f.allows(ipRt), false);
});
