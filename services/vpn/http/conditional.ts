// ETags and If-Match (RFC 9110 §8.8.3, §13.1.1). The ETag is the intent's
// version, a strong validator of the intent; status and routes are observed
// state that the worker and bgp change without a new version (as
// Kubernetes keeps status apart from metadata.generation).
import { IntentError } from '../intent/errors.js';
import type { Precondition } from '../intent/intent-service.js';

export const etagOf = (version: number) => `"${version}"`;

/** If-Match as a precondition; weak tags never match (If-Match uses strong comparison). Present but empty or without one valid tag: matches nothing (412). */
export function preconditionOf(header: string | undefined, required: boolean): Precondition | undefined {
  if (header === undefined) {
    if (required) throw new IntentError('precondition-required', 'send If-Match with the ETag of the version you are changing');
    return undefined;
  }
  return entityTags(header, false);
}

/** If-None-Match on a write (RFC 9110 §13.1.2): `*` or tags compared weakly. */
export function unlessMatchOf(header: string | undefined): Precondition | undefined {
  return header === undefined ? undefined : entityTags(header, true);
}

function entityTags(header: string, weak: boolean): Precondition {
  if (header.trim() === '*') return { any: true };
  const versions = header
    .split(',')
    .map((t) => (weak ? /^(?:W\/)?"(\d{1,15})"$/ : /^"(\d{1,15})"$/).exec(t.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  return { versions };
}
