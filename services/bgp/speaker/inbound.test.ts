import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage } from '../wire/message.js';
import { encodeKeepalive } from '../wire/header.js';
import { encodeNotification } from '../wire/notification.js';
import { encodeRouteRefresh } from '../wire/route-refresh.js';
import { DEFAULT_SESSION } from '../wire/session.js';
import { eventFor } from './inbound.js';

const ev = (bytes: Uint8Array) => eventFor(decodeMessage(bytes, DEFAULT_SESSION));

test('messages become the FSM events of RFC 4271 §8.1', () => {
  assert.equal(ev(encodeKeepalive())?.type, 'KeepAliveMsg');
  assert.deepEqual(ev(encodeRouteRefresh(1, 128)), { type: 'RouteRefresh', family: { afi: 1, safi: 128 } });
  assert.equal(ev(encodeRouteRefresh(1, 128, 1)), undefined, 'RFC 7313 BoRR is not ours to act on');
  const n = ev(encodeNotification({ code: 6, subcode: 2, data: new Uint8Array(0) }));
  assert.ok(n?.type === 'NotifMsg');
  assert.deepEqual([n.notification.code, n.notification.subcode], [6, 2]);
  assert.equal(ev(encodeNotification({ code: 2, subcode: 1, data: Uint8Array.of(0, 4) }))?.type, 'NotifMsgVerErr');
});

test('decoder errors keep their code and pick the FSM event by message', () => {
  const badOpen = Buffer.from('ffffffffffffffffffffffffffffffff001d01030000005a0a00000100', 'hex');
  const e = ev(badOpen);
  assert.ok(e?.type === 'BGPOpenMsgErr');
  assert.deepEqual([e.notification.code, e.notification.subcode, [...e.notification.data]], [2, 1, [0, 4]]);
  const badUpdate = Buffer.from('ffffffffffffffffffffffffffffffff0017020000ff00', 'hex');
  const u = ev(badUpdate);
  assert.ok(u?.type === 'UpdateMsgErr');
  assert.deepEqual([u.notification.code, u.notification.subcode], [3, 1]);
  const badRefresh = Buffer.from('ffffffffffffffffffffffffffffffff00180500010080ff', 'hex');
  const r = ev(badRefresh);
  assert.ok(r?.type === 'BGPHeaderErr');
  assert.deepEqual([r.notification.code, r.notification.subcode], [7, 1]);
});
