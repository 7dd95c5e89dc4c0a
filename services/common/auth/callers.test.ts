import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config.js';
import { Callers, callersLine, newSecret, readSecretFile } from './callers.js';
import { certificatePrincipal, parsePrincipal, principalOfSpiffeId, spiffeId } from './principal.js';

test('a callers file identifies each principal by its secret only; comments, blank lines and a rotated second secret are fine', () => {
  const [vpn, vpnNext, op] = [newSecret(), newSecret(), newSecret()];
  const callers = Callers.parse(`# who may call\n${callersLine('service:vpn', vpn)}\n\n${callersLine('service:vpn', vpnNext)}  # rotation\n${callersLine('operator:alice', op)}\n`, 'auth.callers-file');
  assert.equal(callers.size, 3);
  assert.equal(callers.identify(vpn), 'service:vpn');
  assert.equal(callers.identify(vpnNext), 'service:vpn');
  assert.equal(callers.identify(op), 'operator:alice');
  assert.equal(callers.identify(newSecret()), undefined);
  assert.equal(callers.identify(''), undefined);
  assert.equal(Callers.none().identify(vpn), undefined);
});

test('a malformed callers file or an unreadable secret file is a ConfigError naming the setting, never showing a secret', () => {
  assert.throws(() => Callers.parse('root 00', 'auth.callers-file'), (e: Error) => e instanceof ConfigError && /auth\.callers-file line 1: 'root' is not a principal/.test(e.message));
  assert.throws(() => Callers.parse('service:vpn abc', 'auth.callers-file'), /auth\.callers-file line 1: expected '<principal> <sha256/);
  assert.throws(() => Callers.fromFile('/nonexistent/callers', 'auth.callers-file'), /auth\.callers-file: cannot read \/nonexistent\/callers: ENOENT/);
  const dir = mkdtempSync(join(tmpdir(), 'l3vpn-callers-'));
  writeFileSync(join(dir, 'short'), 'hunter2\n');
  assert.throws(() => readSecretFile(join(dir, 'short'), 'auth.secret-file'), (e: Error) => /auth\.secret-file: .* at least 32 characters/.test(e.message) && !e.message.includes('hunter2'));
  const good = newSecret();
  writeFileSync(join(dir, 'good'), `${good}\n`);
  assert.equal(readSecretFile(join(dir, 'good'), 'auth.secret-file'), good);
});

test('principals: service:<name> and operator:<name>, and their SPIFFE IDs in trust domain l3vpn', () => {
  assert.equal(parsePrincipal('service:vpn'), 'service:vpn');
  assert.equal(parsePrincipal('operator:alice.b'), 'operator:alice.b');
  for (const bad of ['node:pe1', 'service:', 'vpn', 'service:a b', 'service:a/b']) assert.equal(parsePrincipal(bad), undefined, bad);
  assert.equal(spiffeId('service:vpn'), 'spiffe://l3vpn/service/vpn');
  assert.equal(principalOfSpiffeId('spiffe://l3vpn/operator/alice'), 'operator:alice');
  assert.equal(principalOfSpiffeId('spiffe://other/service/vpn'), undefined);
  assert.equal(principalOfSpiffeId('spiffe://l3vpn/service/vpn/extra'), undefined);
  const cert = (subjectaltname: string) => ({ subjectaltname }) as never;
  assert.equal(certificatePrincipal(cert('DNS:vpn, URI:spiffe://l3vpn/service/vpn')), 'service:vpn');
  assert.equal(certificatePrincipal(cert('DNS:pe1')), undefined);
  assert.equal(certificatePrincipal(cert('URI:spiffe://l3vpn/service/vpn, URI:spiffe://l3vpn/operator/x')), undefined, 'two principals: none');
});

test("`l3vpn all`'s secrets: the servers know the vpn service and the local operator, the vpn service presents its own; the operator's file is kept", async () => {
  const { keptSecret, localAuth, LOCAL_OPERATOR } = await import('./local-secrets.js');
  const { statSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'l3vpn-local-'));
  const file = join(dir, 'state', 'operator-secret');
  const operator = keptSecret(file);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(keptSecret(file), operator, 'reused while it is there');
  const auth = localAuth({ vpn: newSecret(), operator });
  assert.equal(auth.callers.identify(auth.secret!), 'service:vpn');
  assert.equal(auth.callers.identify(operator), LOCAL_OPERATOR);
  assert.equal(auth.callers.size, 2);
});
