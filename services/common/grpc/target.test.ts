import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../config.js';
import { grpcTarget } from './target.js';

test('one address or name is the target as it is; several IPv4 or IPv6 addresses are a static list; mixed or named lists are refused', () => {
  assert.equal(grpcTarget('vpn.l3vpn.svc:50063', 'x'), 'vpn.l3vpn.svc:50063');
  assert.equal(grpcTarget('10.0.0.1:50063', 'x'), '10.0.0.1:50063');
  assert.equal(grpcTarget('10.0.0.1:50063, 10.0.0.2:50063', 'x'), 'ipv4:10.0.0.1:50063,10.0.0.2:50063');
  assert.equal(grpcTarget('[2001:db8::1]:50063,[2001:db8::2]:50063', 'x'), 'ipv6:[2001:db8::1]:50063,[2001:db8::2]:50063');
  assert.throws(() => grpcTarget('10.0.0.1:50063,[2001:db8::2]:50063', 'agent.controller'), (err: Error) => err instanceof ConfigError && /^agent\.controller: several addresses/.test(err.message));
  assert.throws(() => grpcTarget('a.example:50063,b.example:50063', 'agent.controller'), ConfigError);
  assert.throws(() => grpcTarget('10.0.0.1,10.0.0.2', 'agent.controller'), ConfigError, 'a port is required');
});
