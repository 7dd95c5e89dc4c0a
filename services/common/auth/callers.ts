// The per-service secrets a server accepts where TLS client certificates are
// not used: `auth.callers-file`, one `<principal> <sha256-hex>` a line, the
// SHA-256 of each caller's secret (the secrets themselves live only with
// their callers). A principal may be listed twice while its secret is
// rotated. Secrets are compared in constant time and never logged.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config.js';
import { parsePrincipal, type Principal } from './principal.js';

/** The shortest secret accepted: 32 characters (a generated one has 43: 256 random bits, base64url). */
export const MIN_SECRET_LENGTH = 32;

export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** A new random secret: 256 bits, base64url. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

interface Entry {
  principal: Principal;
  digest: Buffer;
}

export class Callers {
  private constructor(private readonly entries: readonly Entry[]) {}

  static none(): Callers {
    return new Callers([]);
  }

  /** Callers from their secrets (what `l3vpn all` generates and keeps in memory). */
  static ofSecrets(secrets: ReadonlyArray<readonly [Principal, string]>): Callers {
    return new Callers(secrets.map(([principal, secret]) => ({ principal, digest: secretDigest(secret) })));
  }

  /** The callers file's text; ConfigError naming `setting` and the line when one does not fit. */
  static parse(text: string, setting: string): Callers {
    const entries: Entry[] = [];
    text.split('\n').forEach((raw, i) => {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) return;
      const [who, hex, ...rest] = line.split(/\s+/);
      const principal = parsePrincipal(who!);
      if (!principal) throw new ConfigError(`${setting} line ${i + 1}: '${who}' is not a principal (service:<name> or operator:<name>)`);
      if (!hex || rest.length || !/^[0-9a-f]{64}$/i.test(hex)) throw new ConfigError(`${setting} line ${i + 1}: expected '<principal> <sha256 of the secret, 64 hex digits>'`);
      entries.push({ principal, digest: Buffer.from(hex, 'hex') });
    });
    return new Callers(entries);
  }

  static fromFile(path: string, setting: string): Callers {
    return Callers.parse(readSetting(path, setting), setting);
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * The principal whose secret this is. Every entry is compared, in
   * constant time, whatever matched: the answer's timing says nothing about
   * which digest came close.
   */
  identify(secret: string): Principal | undefined {
    const digest = secretDigest(secret);
    let found: Principal | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, digest) && !found) found = e.principal;
    return found;
  }
}

/** One callers-file line for `principal` and its secret. */
export function callersLine(principal: Principal, secret: string): string {
  return `${principal} ${secretDigest(secret).toString('hex')}`;
}

/** This process's own secret from its file (auth.secret-file); ConfigError naming the setting when unreadable or too short. */
export function readSecretFile(path: string, setting: string): string {
  const secret = readSetting(path, setting).trim();
  if (secret.length < MIN_SECRET_LENGTH || /\s/.test(secret)) throw new ConfigError(`${setting}: ${path} must hold one secret of at least ${MIN_SECRET_LENGTH} characters without spaces`);
  return secret;
}

function readSetting(path: string, setting: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
