import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMaxPrefixData, decodeNotification, encodeNotification, maxPrefixData, shutdownCommunication, shutdownData } from './notification.js';
import { encodeRouteRefresh, decodeRouteRefresh } from './route-refresh.js';
import { hex, toHex } from './test-helpers.js';

test('NOTIFICATION round-trips', () => {
  const bytes = encodeNotification({ code: 3, subcode: 6, data: hex('40010107') });
  assert.equal(toHex(bytes), 'ffffffffffffffffffffffffffffffff' + '0019' + '03' + '0306' + '40010107');
  const n = decodeNotification(bytes.subarray(19));
  assert.deepEqual({ ...n, data: toHex(n.data) }, { type: 'notification', code: 3, subcode: 6, data: '40010107' });
});

test('RFC 9003 shutdown communication', () => {
  const data = shutdownData('maintenance ✓');
  assert.equal(data[0], data.length - 1);
  assert.equal(shutdownCommunication({ code: 6, subcode: 2, data }), 'maintenance ✓');
  assert.equal(shutdownCommunication({ code: 6, subcode: 2, data: hex('05ff') }), undefined);
  assert.equal(shutdownCommunication({ code: 6, subcode: 3, data }), undefined);
  assert.ok(shutdownData('é'.repeat(200)).length <= 256);
});

test('ROUTE-REFRESH by hand (RFC 2918 §3)', () => {
  const bytes = encodeRouteRefresh(2, 128);
  assert.equal(toHex(bytes), 'ffffffffffffffffffffffffffffffff' + '0017' + '05' + '00020080');
  assert.deepEqual(decodeRouteRefresh(bytes, bytes.subarray(19)), { type: 'route-refresh', afi: 2, safi: 128, subtype: 0 });
});

test('RFC 4486 §4: Cease / Maximum Number of Prefixes Reached carries AFI (2), SAFI (1) and the upper bound (4)', () => {
  const bytes = encodeNotification({ code: 6, subcode: 1, data: maxPrefixData(1, 1, 1000) });
  // Header (19) + code + subcode + 7 octets of data = 28.
  assert.equal(toHex(bytes), 'ffffffffffffffffffffffffffffffff' + '001c' + '03' + '0601' + '0001' + '01' + '000003e8');
  const n = decodeNotification(bytes.subarray(19));
  assert.deepEqual(decodeMaxPrefixData(n.data), { afi: 1, safi: 1, limit: 1000 });
  assert.equal(toHex(maxPrefixData(2, 128, 0xfffffffe)), '0002' + '80' + 'fffffffe');
  assert.equal(decodeMaxPrefixData(new Uint8Array(6)), undefined, 'a short data field is not read');
});
