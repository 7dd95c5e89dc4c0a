import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteFromFlags } from './site-flags.js';

test('flags make a site; addresses pair up by family', () => {
  const site = siteFromFlags('s1', {
    vpn: 'blue',
    node: 'pe1',
    interface: 'eth1',
    vlan: '100',
    'pe-address': ['10.0.0.1/30', '2001:db8::1/64'],
    'ce-address': ['2001:db8::2', '10.0.0.2'],
    static: ['192.168.0.0/24'],
  });
  assert.deepEqual(site, {
    id: 's1',
    vpn: 'blue',
    node: 'pe1',
    interface: 'eth1',
    vlan: 100,
    ipv4: { peAddress: '10.0.0.1/30', ceAddress: '10.0.0.2' },
    ipv6: { peAddress: '2001:db8::1/64', ceAddress: '2001:db8::2' },
    routing: { static: [{ prefix: '192.168.0.0/24' }] },
  });
});

test('missing or unpaired flags are usage errors', () => {
  const base = { vpn: 'blue', node: 'pe1', interface: 'eth1' };
  assert.throws(() => siteFromFlags('s1', { vpn: 'blue' }), /needs --node, --interface/);
  assert.throws(() => siteFromFlags('s1', base), /needs --pe-address/);
  assert.throws(() => siteFromFlags('s1', { ...base, 'pe-address': ['10.0.0.1/30'], 'ce-address': ['2001:db8::2'] }), /one --pe-address and one --ce-address per address family \(ipv4\)/);
  assert.throws(() => siteFromFlags('s1', { ...base, 'pe-address': ['10.0.0.1/30'], 'ce-address': ['10.0.0.2', '2001:db8::2'] }), /--ce-address without a --pe-address/);
  assert.throws(() => siteFromFlags('s1', { ...base, vlan: 'x', 'pe-address': ['10.0.0.1/30'], 'ce-address': ['10.0.0.2'] }), /--vlan x/);
});
