import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderSubcode } from './constants.js';
import { KEEPALIVE, checkHeader } from './header.js';
import { decodeMessage } from './message.js';
import { MessageSplitter } from './splitter.js';
import { concat, hex, message, toHex } from './test-helpers.js';

const update = message(2, hex('0000 0000'));
const notification = message(3, hex('0602'));
const big = message(2, concat(hex('0000'), hex('0fe5'), new Uint8Array(4069).fill(0).map((_, i) => (i % 3 === 0 ? 0x80 : 0))));

test('whole messages inside one chunk come back as views, without copying', () => {
  const stream = concat(KEEPALIVE, update, notification);
  const s = new MessageSplitter();
  const { messages, error } = s.push(stream);
  assert.equal(error, undefined);
  assert.deepEqual(messages.map(toHex), [KEEPALIVE, update, notification].map(toHex));
  for (const m of messages) assert.equal(m.buffer, stream.buffer);
  assert.equal(s.buffered, 0);
});

test('every chunking of a stream yields the same messages', () => {
  const stream = concat(KEEPALIVE, update, big, notification, KEEPALIVE);
  const expected = [KEEPALIVE, update, big, notification, KEEPALIVE].map(toHex);
  for (const size of [1, 2, 3, 7, 18, 19, 20, 100, 4095, 4096, 5000]) {
    const s = new MessageSplitter();
    const got: string[] = [];
    for (let o = 0; o < stream.length; o += size) {
      const r = s.push(stream.subarray(o, o + size));
      assert.equal(r.error, undefined);
      got.push(...r.messages.map(toHex));
    }
    assert.deepEqual(got, expected, `chunk size ${size}`);
    assert.equal(s.buffered, 0);
  }
});

test('header errors carry the data RFC 4271 §6.1 asks for', () => {
  const badMarker = KEEPALIVE.slice();
  badMarker[3] = 0;
  const cases: [Uint8Array, number, string][] = [
    [badMarker, HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, ''],
    [hex('ffffffffffffffffffffffffffffffff 0012 04'), HeaderSubcode.BAD_MESSAGE_LENGTH, '0012'],
    [hex('ffffffffffffffffffffffffffffffff 1001 02'), HeaderSubcode.BAD_MESSAGE_LENGTH, '1001'],
    [hex('ffffffffffffffffffffffffffffffff 0014 04'), HeaderSubcode.BAD_MESSAGE_LENGTH, '0014'],
    [hex('ffffffffffffffffffffffffffffffff 001c 01'), HeaderSubcode.BAD_MESSAGE_LENGTH, '001c'],
    [hex('ffffffffffffffffffffffffffffffff 0016 02'), HeaderSubcode.BAD_MESSAGE_LENGTH, '0016'],
    [hex('ffffffffffffffffffffffffffffffff 0014 03'), HeaderSubcode.BAD_MESSAGE_LENGTH, '0014'],
    [hex('ffffffffffffffffffffffffffffffff 0013 06'), HeaderSubcode.BAD_MESSAGE_TYPE, '06'],
    [hex('ffffffffffffffffffffffffffffffff 0013 00'), HeaderSubcode.BAD_MESSAGE_TYPE, '00'],
  ];
  for (const [bytes, subcode, data] of cases) {
    const s = new MessageSplitter();
    const r = s.push(concat(KEEPALIVE, bytes));
    assert.equal(r.messages.length, 1);
    assert.equal(r.error?.code, 1);
    assert.equal(r.error?.subcode, subcode);
    assert.equal(toHex(r.error!.data), data);
    assert.deepEqual(s.push(KEEPALIVE), { messages: [], error: r.error }, 'stays failed');
  }
});

test('a bad length is caught from the header alone, before the body arrives', () => {
  const s = new MessageSplitter();
  assert.deepEqual(s.push(hex('ffffffffffffffffffffffffffffffff')), { messages: [] });
  const r = s.push(hex('ffff 02'));
  assert.equal(r.error?.subcode, HeaderSubcode.BAD_MESSAGE_LENGTH);
});

test('RFC 8654 extended messages: UPDATE up to 65535, OPEN and KEEPALIVE still 4096', () => {
  const s = new MessageSplitter(65535);
  const body = concat(hex('0000 0000'), new Uint8Array(0));
  const huge = message(2, concat(body, new Uint8Array(60000 - 23).fill(0)));
  const r = s.push(huge);
  assert.equal(r.error, undefined);
  assert.equal(r.messages.length, 1);
  assert.equal(checkHeader(message(1, new Uint8Array(5000)), 0, 65535).constructor, Object);
  assert.equal(checkHeader(huge, 0, 4096).constructor, Object);
  assert.equal(checkHeader(huge, 0, 65535), huge.length);
});

test('decodeMessage: keepalive, notification, route refresh', () => {
  assert.deepEqual(decodeMessage(KEEPALIVE, { fourOctetAs: true }), { ok: true, message: { type: 'keepalive' } });
  const n = decodeMessage(message(3, hex('0602 0568656c6c6f')), { fourOctetAs: true });
  assert.ok(n.ok && n.message.type === 'notification');
  const rr = decodeMessage(message(5, hex('0001 00 80')), { fourOctetAs: true });
  assert.deepEqual(rr, { ok: true, message: { type: 'route-refresh', afi: 1, safi: 128, subtype: 0 } });
  const bad = message(5, hex('0001 00 80 00'));
  const rrBad = decodeMessage(bad, { fourOctetAs: true });
  assert.ok(!rrBad.ok);
  assert.equal(rrBad.error.code, 7);
  assert.equal(rrBad.error.subcode, 1);
  assert.equal(toHex(rrBad.error.data), toHex(bad));
});
