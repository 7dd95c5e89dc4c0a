import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from './address.js';
import { classifyAddress, type AddressClass } from './classify.js';

test('addresses are classified by the ranges the RFCs reserve', () => {
  const cases: [string, AddressClass][] = [
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'unicast'],
    ['::ffff:192.0.2.1', 'ipv4-mapped'],
    ['::ffff:0.0.0.0', 'ipv4-mapped'],
    ['10.0.0.1', 'unicast'],
    ['223.255.255.255', 'unicast'],
    ['240.0.0.1', 'unicast'],
    ['1.0.0.0', 'unicast'],
    ['2001:db8::1', 'unicast'],
    ['::2', 'unicast'],
  ];
  for (const [text, cls] of cases) assert.equal(classifyAddress(parseIp(text)!), cls, text);
});
