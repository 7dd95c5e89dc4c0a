import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNotification, encodeNotification, shutdownCommunication, shutdownData } from './notification.js';
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
