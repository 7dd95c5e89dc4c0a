import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRd } from '../../common/vpn/rd.js';
import { NlriList, encodeNlri, parseNlri, parsePrefix } from './nlri.js';
import { decodeNextHop, encodeNextHop } from './next-hop.js';
import { hex, toHex } from './test-helpers.js';

function list(afi: number, safi: number, bytes: string, opts = { withdraw: false, multipleLabels: 1 }): NlriList {
  const r = parseNlri(afi, safi, hex(bytes), opts);
  assert.ok(typeof r !== 'string', String(r));
  return r;
}

test('IPv4 unicast prefixes of every length class', () => {
  const l = list(1, 1, '00 08 0a 11 0a8000 18 c0a801 20 c0a80101');
  assert.deepEqual(l.toRoutes().map((r) => r.prefix), ['0.0.0.0/0', '10.0.0.0/8', '10.128.0.0/17', '192.168.1.0/24', '192.168.1.1/32']);
});

test('host bits are cleared on read and ignored in keys', () => {
  const a = list(1, 1, '18 0a0101');
  const b = list(1, 1, '17 0a0101');
  assert.equal(b.prefix(0), '10.1.0.0/23');
  assert.equal(b.ipv4(0), 0x0a010000);
  const c = list(1, 1, '17 0a0100');
  assert.equal(b.key(0), c.key(0));
  assert.notEqual(a.key(0), b.key(0));
});

test('VPN-IPv4: RD types 0/1/2 and an unknown one', () => {
  const l = list(1, 128, `
    70 000101 0000fde800000064 0a0101
    70 000101 0001c000020100 07 0a0102
    70 000101 0002fa56ea000007 0a0103
    70 000101 0009010203040506 0a0104`);
  assert.deepEqual([0, 1, 2, 3].map((i) => l.rdText(i)), ['65000:100', '192.0.2.1:7', '4200000000:7', '0009010203040506']);
  assert.deepEqual(l.rd(0), parseRd('65000:100'));
  assert.equal(l.rd(3), undefined);
  assert.equal(toHex(l.entry(1)), '70000101' + '0001c000020100' + '07' + '0a0102');
});

test('VPN prefix length limits: /0 and /32 fine, /33 and shorter than label+RD invalid', () => {
  list(1, 128, '58 000101 0000fde800000064');
  list(1, 128, '78 000101 0000fde800000064 0a010101');
  assert.equal(typeof parseNlri(1, 128, hex('79 000101 0000fde800000064 0a01010101'), { withdraw: false }), 'string');
  assert.equal(typeof parseNlri(1, 128, hex('50 000101 0000fde80000'), { withdraw: false }), 'string');
  assert.equal(typeof parseNlri(2, 128, hex('f9' + '000101' + '0000fde800000064' + '00'.repeat(17)), { withdraw: false }), 'string');
  list(2, 128, 'd8 000101 0000fde800000064' + '00'.repeat(16));
});

test('label stacks: single label ignores the S bit; multiple labels scan to the S bit', () => {
  const single = list(1, 128, '70 000100 0000fde800000064 0a0101');
  assert.deepEqual(single.labels(0), [16]);
  const stack = list(1, 128, '88 000640 000c81 0000fde800000064 0a0101', { withdraw: false, multipleLabels: 3 });
  assert.deepEqual(stack.labels(0), [100, 200]);
  assert.equal(stack.prefix(0), '10.1.1.0/24');
  assert.equal(stack.deeperStacks, 0);
  // Deeper than the session accepts: parsed by the S bit, counted, for the UPDATE to be treated as a withdrawal.
  const deep = list(1, 128, '88 000640 000c81 0000fde800000064 0a0101', { withdraw: false, multipleLabels: 1 });
  assert.deepEqual([deep.deeperStacks, deep.labels(0), deep.prefix(0), deep.rdText(0)], [1, [100, 200], '10.1.1.0/24', '65000:100']);
  const three = list(1, 128, '88 000640 000c81 0000fde800000064 0a0101  a0 000640 000c80 0012c1 0000fde800000064 0a0101', { withdraw: false, multipleLabels: 2 });
  assert.deepEqual([three.deeperStacks, three.labelCount(0), three.labelCount(1), three.prefix(1)], [1, 2, 3, '10.1.1.0/24']);
  // A length that fits no stack at all is still malformed.
  assert.equal(typeof parseNlri(1, 128, hex('f0 000640 000c81 0000fde800000064 0a0101'), { withdraw: false }), 'string');
});

test('labeled unicast (SAFI 4)', () => {
  const l = list(1, 4, '30 003e81 0a0101');
  assert.deepEqual(l.route(0), { prefix: '10.1.1.0/24', labels: [1000] });
});

test('unknown family stays opaque', () => {
  const l = parseNlri(1, 133, hex('0102030405'), { withdraw: false });
  assert.ok(typeof l !== 'string');
  assert.equal(l.count, 0);
  assert.equal(l.shape, undefined);
  assert.equal(l.bytes.length, 5);
});

test('encodeNlri round-trips VPN routes, including /0 and odd lengths', () => {
  const routes = ['0.0.0.0/0', '10.0.0.0/7', '10.1.2.3/32', '172.16.0.0/12'].map((p, i) => ({
    ...parsePrefix(p),
    rd: parseRd(`65000:${i}`),
    labels: [16 + i],
  }));
  const bytes = encodeNlri({ afi: 1, safi: 128 }, routes, false);
  const l = list(1, 128, toHex(bytes));
  assert.deepEqual(l.toRoutes(), routes.map((r, i) => ({ rd: r.rd, prefix: ['0.0.0.0/0', '10.0.0.0/7', '10.1.2.3/32', '172.16.0.0/12'][i], labels: r.labels })));
});

test('next hops per family (RFC 4364 §4.3.2, RFC 4659 §3.2, RFC 2545)', () => {
  assert.equal(toHex(encodeNextHop(1, 128, { address: '198.51.100.1' })), '0000000000000000c6336401');
  assert.equal(toHex(encodeNextHop(2, 128, { address: '198.51.100.1' })), '0000000000000000' + '00000000000000000000ffffc6336401');
  assert.deepEqual(decodeNextHop(2, 128, encodeNextHop(2, 128, { address: '198.51.100.1' })), { address: '::ffff:198.51.100.1' });
  assert.equal(encodeNextHop(2, 128, { address: '2001:db8::1', linkLocal: 'fe80::1' }).length, 48);
  assert.deepEqual(decodeNextHop(2, 1, encodeNextHop(2, 1, { address: '2001:db8::1', linkLocal: 'fe80::1' })), { address: '2001:db8::1', linkLocal: 'fe80::1' });
  assert.deepEqual(decodeNextHop(1, 1, hex('c6336401')), { address: '198.51.100.1' });
  assert.equal(typeof decodeNextHop(1, 128, hex('c6336401')), 'string');
  assert.equal(typeof decodeNextHop(2, 128, hex('0000000000000000c6336401')), 'string');
});
