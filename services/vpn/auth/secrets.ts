// Bearer secrets of the vpn service (API tokens, join tokens, node
// credentials): 32 random bytes in base64url behind a readable prefix that
// says what the secret is (and lets secret scanners find a leaked one). Only
// the SHA-256 is stored: a high-entropy secret needs no slow hash (unlike a
// password), and a database leak gives nothing to replay.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const newSecret = (prefix: string): string => prefix + randomBytes(32).toString('base64url');

/** SHA-256 of the secret's UTF-8 text. */
export const digestOf = (secret: string): Buffer => createHash('sha256').update(secret).digest();

/** Whether a stored hex digest is the secret's, compared in constant time. */
export function digestMatches(storedHex: string, digest: Buffer): boolean {
  const stored = Buffer.from(storedHex, 'hex');
  return stored.length === digest.length && timingSafeEqual(stored, digest);
}
