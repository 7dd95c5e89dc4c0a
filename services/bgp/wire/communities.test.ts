import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import { decodeExtendedCommunities, encodeExtendedCommunities, ExtendedCommunity, formatCommunity, routeTargets } from './communities.js';
import { formatAddress, parseAddress } from './ip.js';
import { hex, toHex } from './test-helpers.js';

// RFC 4360 §4/§5 and RFC 5668, by hand: RT 65000:100, RT 192.0.2.1:7,
// RT 4200000000:7, SoO 65000:1, and an opaque one (color, RFC 9012).
const WIRE = hex(`
  0002 fde8 00000064
  0102 c0000201 0007
  0202 fa56ea00 0007
  0003 fde8 00000001
  030b 00000000000a
`);
const LIST: ExtendedCommunity[] = [
  { kind: 'route-target', value: parseRouteTarget('65000:100') },
  { kind: 'route-target', value: parseRouteTarget('192.0.2.1:7') },
  { kind: 'route-target', value: parseRouteTarget('4200000000:7') },
  { kind: 'route-origin', value: parseRouteTarget('65000:1') },
  { kind: 'other', bytes: hex('030b00000000000a') },
];

test('extended communities in all three administrator forms, both ways', () => {
  assert.deepEqual(decodeExtendedCommunities(WIRE), LIST);
  assert.equal(toHex(encodeExtendedCommunities(LIST)), toHex(WIRE));
  assert.equal(routeTargets(LIST).length, 3);
});

test('community text form', () => {
  assert.equal(formatCommunity(0xfde80064), '65000:100');
});

test('IPv6 text forms (RFC 5952)', () => {
  for (const [input, canonical] of [
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:DB8::', '2001:db8::'],
    ['::', '::'],
    ['fe80::1:0:0:1', 'fe80::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ]) {
    assert.equal(formatAddress(parseAddress(input!)!), canonical, input);
  }
  for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'fe80::g', '1.2.3']) assert.equal(parseAddress(bad), undefined, bad);
});
