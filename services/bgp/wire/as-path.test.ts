import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asPathLength, decodeAsPath, encodeAsPath, formatAsPath, mergeAs4Path } from './as-path.js';
import { hex, toHex } from './test-helpers.js';

const seq = (...asns: number[]) => ({ type: 2 as const, asns });
const set = (...asns: number[]) => ({ type: 1 as const, asns });
const cseq = (...asns: number[]) => ({ type: 3 as const, asns });

test('2- and 4-octet encodings by hand', () => {
  assert.equal(toHex(encodeAsPath([seq(65001, 65002)], 2)), '0202fde9fdea');
  assert.equal(toHex(encodeAsPath([seq(65001), set(1, 2)], 4)), '02010000fde9010200000001' + '00000002');
  assert.deepEqual(decodeAsPath(hex('0202fde9fdea'), 2), [seq(65001, 65002)]);
});

test('segments longer than 255 AS numbers are split', () => {
  const long = Array.from({ length: 300 }, (_, i) => 64512 + i);
  const bytes = encodeAsPath([seq(...long)], 4);
  assert.equal(bytes[1], 255);
  assert.equal(bytes[2 + 255 * 4 + 1], 45);
  assert.deepEqual(decodeAsPath(bytes, 4), [seq(...long.slice(0, 255)), seq(...long.slice(255))]);
});

test('path length counts a set once and confederation segments not at all', () => {
  assert.equal(asPathLength([cseq(1, 2), seq(3, 4, 5), set(6, 7)]), 4);
});

test('RFC 6793 §4.2.3 merge', () => {
  const T = 23456;
  // Two 2-octet ASes kept, then AS4_PATH.
  assert.deepEqual(mergeAs4Path([seq(65001, 65002, T, T)], [seq(4200000001, 4200000002)]), [seq(65001, 65002, 4200000001, 4200000002)]);
  // AS4_PATH covers everything.
  assert.deepEqual(mergeAs4Path([seq(T, 65002)], [seq(4200000001, 65002)]), [seq(4200000001, 65002)]);
  // AS_SET counts as one; confederation segments ride along; AS4_PATH confed segments dropped.
  assert.deepEqual(mergeAs4Path([cseq(64512), seq(65001), set(T, 65003), seq(T)], [cseq(1), set(4200000001, 65003), seq(4200000009)]), [
    cseq(64512),
    seq(65001),
    set(4200000001, 65003),
    seq(4200000009),
  ]);
  // AS4_PATH longer than AS_PATH: ignored.
  assert.deepEqual(mergeAs4Path([seq(T)], [seq(1, 2)]), [seq(T)]);
});

test('formatting', () => {
  assert.equal(formatAsPath([cseq(64512), seq(65001, 65002), set(1, 2)]), '(64512) 65001 65002 {1,2}');
});
