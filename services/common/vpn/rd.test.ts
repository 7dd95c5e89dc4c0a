import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRd, encodeRd, formatRd, parseRd, RdError } from './rd.js';
import { decodeRouteTarget, encodeRouteTarget, parseRouteTarget, SUBTYPE_ROUTE_ORIGIN } from './route-target.js';
import { decodeAdministeredCommunity, encodeAdministeredCommunity } from './route-target.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('route distinguisher types 0, 1 and 2 (RFC 4364 §4.2): parse, print, wire form', () => {
  assert.equal(hex(encodeRd(parseRd('65000:100'))), '0000fde800000064');
  assert.equal(hex(encodeRd(parseRd('192.0.2.1:7'))), '0001c00002010007');
  assert.equal(hex(encodeRd(parseRd('4200000000:7'))), '0002fa56ea000007');
  // asdot (RFC 5396) means the same 4-octet AS.
  assert.equal(formatRd(parseRd('64086.59904:7')), '4200000000:7');
  for (const text of ['65000:100', '192.0.2.1:7', '4200000000:7', '65000:0', '65535:4294967295']) {
    assert.equal(formatRd(decodeRd(encodeRd(parseRd(text)))!), text);
  }
  // Received, an all-zero RD is carried and printed as it is; only text that names one is refused.
  assert.equal(formatRd(decodeRd(new Uint8Array(8))!), '0:0');
});

test('an administrator of 0 is refused: AS 0 is reserved (RFC 7607), 0.0.0.0 is assigned to no one (RFC 4364 §4.2)', () => {
  for (const bad of ['0:0', '0:100', '0.0.0.0:0', '0.0.0.0:7', '0.0:5']) {
    assert.throws(() => parseRd(bad), /administrator in '.*' cannot be 0/, bad);
    assert.throws(() => parseRouteTarget(bad), /administrator in '.*' cannot be 0/, bad);
  }
  assert.equal(formatRd(parseRd('65000:0')), '65000:0', 'an assigned number of 0 under a real administrator is fine');
});

test('route distinguishers that do not fit are refused', () => {
  for (const bad of ['65000', ':1', '65000:', '65000:4294967296', '192.0.2.1:65536', '4200000000:65536', '4294967296:1', 'x:1', '1.2.3.256:1']) {
    assert.throws(() => parseRd(bad), RdError, bad);
  }
  assert.equal(decodeRd(Uint8Array.from([0, 3, 0, 0, 0, 0, 0, 1])), undefined, 'unknown RD type');
});

test('route targets and route origins in the three extended-community forms (RFC 4360, RFC 5668)', () => {
  assert.equal(hex(encodeRouteTarget(parseRouteTarget('65000:1'))), '0002fde800000001');
  assert.equal(hex(encodeRouteTarget(parseRouteTarget('192.0.2.1:7'))), '0102c00002010007');
  assert.equal(hex(encodeRouteTarget(parseRouteTarget('4200000000:7'))), '0202fa56ea000007');
  const soo = encodeAdministeredCommunity(parseRouteTarget('65000:9'), SUBTYPE_ROUTE_ORIGIN);
  assert.equal(hex(soo), '0003fde800000009');
  assert.equal(decodeRouteTarget(soo), undefined, 'a route origin is not a route target');
  assert.deepEqual(decodeAdministeredCommunity(soo, 0, SUBTYPE_ROUTE_ORIGIN), parseRouteTarget('65000:9'));
});
