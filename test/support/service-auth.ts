// Credentials for tests that call the labels and bgp services: one secret
// per principal for this test run, and the auth.* files that make a
// service (in this process or spawned) accept them and present its own.
//
//   env: { ...serviceAuthEnv() }        a labels/bgp server accepting them; a vpn service presenting service:vpn's
//   callerAs('service:vpn')              what a client presents (labelsClient and bgp test clients default to it)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callersLine, newSecret } from '../../services/common/auth/callers.js';
import type { Principal } from '../../services/common/auth/principal.js';
import { secretCaller, type CallerCredentials } from '../../services/common/grpc/caller.js';

export const TEST_PRINCIPALS = ['service:vpn', 'operator:tester'] as const satisfies readonly Principal[];
export type TestPrincipal = (typeof TEST_PRINCIPALS)[number];

const secrets: Record<TestPrincipal, string> = { 'service:vpn': newSecret(), 'operator:tester': newSecret() };

export function testSecret(principal: TestPrincipal): string {
  return secrets[principal];
}

/** A plaintext caller presenting `principal`'s secret. */
export function callerAs(principal: TestPrincipal = 'service:vpn'): CallerCredentials {
  return secretCaller(secrets[principal]);
}

let dir: string | undefined;

function files(): { callers: string; vpn: string } {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'l3vpn-auth-'));
    const d = dir;
    process.once('exit', () => rmSync(d, { recursive: true, force: true }));
    writeFileSync(join(dir, 'callers'), TEST_PRINCIPALS.map((p) => callersLine(p, secrets[p])).join('\n') + '\n', { mode: 0o600 });
    writeFileSync(join(dir, 'vpn-secret'), `${secrets['service:vpn']}\n`, { mode: 0o600 });
  }
  return { callers: join(dir, 'callers'), vpn: join(dir, 'vpn-secret') };
}

/** AUTH_CALLERS_FILE accepting this run's principals, AUTH_SECRET_FILE holding service:vpn's secret. */
export function serviceAuthEnv(): { AUTH_CALLERS_FILE: string; AUTH_SECRET_FILE: string } {
  const f = files();
  return { AUTH_CALLERS_FILE: f.callers, AUTH_SECRET_FILE: f.vpn };
}
