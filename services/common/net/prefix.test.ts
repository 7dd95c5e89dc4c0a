import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from './address.js';
import {
  formatPrefix,
  formatPrefixNetwork,
  hasHostBits,
  isIpv4SubnetEdge,
  parseIpPrefix,
  parseIpv4Prefix,
  prefixContains,
  prefixesOverlap,
} from './prefix.js';

const p = (text: string) => {
  const r = parseIpPrefix(text);
  assert.ok(r, `${text} parses`);
  return r;
};
const ip = (text: string) => parseIp(text)!;

test('prefixes parse with a decimal length within the family', () => {
  assert.deepEqual({ ...p('10.1.0.0/24'), bytes: [...p('10.1.0.0/24').bytes] }, { family: 4, bytes: [10, 1, 0, 0], length: 24 });
  assert.equal(formatPrefix(p('2001:DB8:0:0:1::/80')), '2001:db8:0:0:1::/80');
  assert.equal(p('::/0').length, 0);
  for (const bad of ['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/08', '10.0.0.0/-1', '10.0.0.0/2 4', '::/129', 'fe80::%eth0/64', '10.0.0.0/24/1', '/24', '10.0.0.0/1e1']) {
    assert.equal(parseIpPrefix(bad), undefined, bad);
    if (!bad.includes(':')) assert.equal(parseIpv4Prefix(bad), undefined, bad);
  }
  assert.deepEqual(parseIpv4Prefix('192.0.2.0/24'), { address: 0xc0000200, length: 24 });
  assert.equal(parseIpv4Prefix('2001:db8::/32'), undefined);
});

test('host bits, network, containment and overlap', () => {
  assert.equal(hasHostBits(p('10.1.0.1/30')), true);
  assert.equal(hasHostBits(p('10.1.0.0/30')), false);
  assert.equal(hasHostBits(p('2001:db8::1/64')), true);
  assert.equal(hasHostBits(p('0.0.0.0/0')), false);
  assert.equal(formatPrefixNetwork(p('10.1.0.1/30')), '10.1.0.0/30');
  assert.equal(formatPrefixNetwork(p('2001:0:0:1:0:0:0:1/128')), '2001:0:0:1::1/128', 'RFC 5952: the longest run');
  assert.equal(formatPrefixNetwork(p('2001:db8:0:0:1:2:3:4/80')), '2001:db8:0:0:1::/80');
  assert.equal(prefixContains(p('10.1.0.1/30'), ip('10.1.0.2')), true);
  assert.equal(prefixContains(p('10.1.0.1/30'), ip('10.1.0.4')), false);
  assert.equal(prefixContains(p('10.1.0.0/23'), ip('10.1.1.255')), true);
  assert.equal(prefixContains(p('0.0.0.0/0'), ip('203.0.113.9')), true);
  assert.equal(prefixContains(p('2001:db8::/32'), ip('2001:db8:ffff::1')), true);
  assert.equal(prefixContains(p('2001:db8::/33'), ip('2001:db8:8000::1')), false);
  assert.equal(prefixContains(p('::/0'), ip('10.0.0.1')), false, 'families never mix');
  assert.equal(prefixesOverlap(p('10.0.0.0/8'), p('10.9.0.0/16')), true);
  assert.equal(prefixesOverlap(p('10.9.0.0/16'), p('10.0.0.0/8')), true);
  assert.equal(prefixesOverlap(p('10.0.0.0/16'), p('10.1.0.0/16')), false);
  assert.equal(prefixesOverlap(p('10.0.0.0/8'), p('::/0')), false);
});

test('the network and broadcast addresses of an IPv4 subnet; /31 and /32 have none (RFC 3021)', () => {
  assert.equal(isIpv4SubnetEdge(p('10.1.0.1/30'), ip('10.1.0.0')), true);
  assert.equal(isIpv4SubnetEdge(p('10.1.0.1/30'), ip('10.1.0.3')), true);
  assert.equal(isIpv4SubnetEdge(p('10.1.0.1/30'), ip('10.1.0.2')), false);
  assert.equal(isIpv4SubnetEdge(p('10.1.0.0/31'), ip('10.1.0.0')), false);
  assert.equal(isIpv4SubnetEdge(p('10.1.0.1/32'), ip('10.1.0.1')), false);
  assert.equal(isIpv4SubnetEdge(p('2001:db8::/64'), ip('2001:db8::')), false);
});
