import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerToken } from './bearer.js';

test('bearer token: the scheme in any case (RFC 9110 §11.1), one token, nothing else', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer abc'), 'abc');
  assert.equal(bearerToken('BEARER   abc '), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken('Bearer'), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken(undefined), undefined);
});
