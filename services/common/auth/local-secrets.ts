// Secrets made on this machine when nobody configured any: `l3vpn all` and
// `l3vpn lab` run authenticated with zero configuration. The vpn service's
// secret is new at every start; the operator's is kept in a file (mode
// 0600) and reused while it is there, so an operator's tooling keeps working
// across restarts.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Callers, MIN_SECRET_LENGTH, newSecret } from './callers.js';
import type { Principal } from './principal.js';
import type { ServiceAuth } from './service-auth.js';

/** The principal of the operator secret that `l3vpn all` and `l3vpn lab` make. */
export const LOCAL_OPERATOR: Principal = 'operator:local';

/** The secret in `path` when it holds a usable one; otherwise a new one written there (mode 0600, its folder 0700). */
export function keptSecret(path: string): string {
  try {
    const kept = readFileSync(path, 'utf8').trim();
    if (kept.length >= MIN_SECRET_LENGTH && !/\s/.test(kept)) return kept;
  } catch {
    // none yet
  }
  return writtenSecret(path, newSecret());
}

/** Writes `secret` to `path`, readable by this user only. */
export function writtenSecret(path: string, secret: string): string {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return secret;
}

export interface LocalSecrets {
  vpn: string;
  operator: string;
}

/** What the servers accept and what the vpn service presents, for services in one process. */
export function localAuth(secrets: LocalSecrets): ServiceAuth {
  return {
    callers: Callers.ofSecrets([
      ['service:vpn', secrets.vpn],
      [LOCAL_OPERATOR, secrets.operator],
    ]),
    secret: secrets.vpn,
  };
}
