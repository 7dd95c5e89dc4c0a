import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalAddress, comparePrefixKeys, compareStrings, parseInterfaceAddress, parsePrefix, prefixInfo, prefixTextSortKey } from './prefix.js';

test('addresses are canonical: RFC 5952 for IPv6', () => {
  assert.equal(canonicalAddress('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalAddress('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalAddress('2001:0db8:0000:0001:0000:0000:0000:0001'), '2001:db8:0:1::1');
  assert.equal(canonicalAddress('::'), '::');
  assert.equal(canonicalAddress('::1'), '::1');
  assert.equal(canonicalAddress('1::'), '1::');
  assert.equal(canonicalAddress('2001:db8:1:1:1:1:0:1'), '2001:db8:1:1:1:1:0:1');
  // RFC 5952 §5: an IPv4-mapped address keeps its dotted-quad tail.
  assert.equal(canonicalAddress('::ffff:192.0.2.1'), '::ffff:192.0.2.1');
  assert.equal(canonicalAddress('10.0.0.1'), '10.0.0.1');
  for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '1:2:3:4:5:6:7:8:9', '1::2::3', 'x::', '1:2:3:4:5:6:7', '']) {
    assert.throws(() => canonicalAddress(bad), /not an IPv4 or IPv6 address/, bad);
  }
});

test('prefixes: host bits, lengths, interface addresses', () => {
  assert.equal(parsePrefix('10.1.0.0/16').text, '10.1.0.0/16');
  assert.equal(parsePrefix('2001:DB8::/32').text, '2001:db8::/32');
  assert.throws(() => parsePrefix('10.1.0.1/16'), /host bits/);
  assert.equal(parsePrefix('10.1.0.1/16', 'p', true).text, '10.1.0.0/16');
  assert.throws(() => parsePrefix('10.1.0.0/33'), /prefix length/);
  assert.throws(() => parsePrefix('10.1.0.0'), /no prefix length/);
  const ia = parseInterfaceAddress('2001:db8:1::1/64');
  assert.deepEqual([ia.address, ia.text, ia.subnet.text, ia.family], ['2001:db8:1::1', '2001:db8:1::1/64', '2001:db8:1::/64', 6]);
});

test('sort keys order by family, address, then length', () => {
  const list = ['2001:db8::/32', '10.0.0.0/8', '9.0.0.0/8', '10.0.0.0/16', '::/0', '192.168.0.0/16', '0.0.0.0/0'];
  assert.deepEqual(
    list.sort((a, b) => compareStrings(prefixTextSortKey(a), prefixTextSortKey(b))),
    ['0.0.0.0/0', '9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/16', '192.168.0.0/16', '::/0', '2001:db8::/32'],
  );
});

test('the fast IPv4 path agrees with the full parser', () => {
  for (const text of ['0.0.0.0/0', '10.0.0.0/8', '255.255.255.255/32', '192.168.1.0/24', '10.1.0.0/16', '2001:db8::/32']) {
    const info = prefixInfo(text);
    assert.equal(info.text, parsePrefix(text).text, text);
  }
  for (const bad of ['10.0.0.1/8', '10.0.0/8', '10.0.0.0.0/8', '010.0.0.0/8', '10.0.0.0/08', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0', 'a.b.c.d/8', '256.0.0.0/8']) {
    assert.throws(() => prefixInfo(bad), /prefix/, bad);
  }
  const list = ['2001:db8::/32', '10.0.0.0/16', '9.0.0.0/8', '10.0.0.0/8', '::/0', '255.0.0.0/8'];
  assert.deepEqual(
    list.map((t) => prefixInfo(t)).sort((a, b) => comparePrefixKeys(a.key, b.key)).map((i) => i.text),
    list.sort((a, b) => compareStrings(prefixTextSortKey(a), prefixTextSortKey(b))),
  );
});
