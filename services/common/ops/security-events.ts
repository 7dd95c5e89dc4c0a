// Security events: one structured log line each (`securityEvent` names it,
// so a SIEM can select them) and a count per event and outcome in
// l3vpn_security_events_total. Callers give who and what; never a secret.
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';

export const SECURITY_EVENTS = [
  'authentication-failed',
  'permission-denied',
  'token-created',
  'token-revoked',
  'join-token-created',
  'agent-enrolled',
  'agent-credential-rotated',
  'agent-revoked',
] as const;
export type SecurityEventName = (typeof SECURITY_EVENTS)[number];

/** Failures are warnings (someone tried and was refused); grants and revocations are info. */
const WARNING: ReadonlySet<SecurityEventName> = new Set(['authentication-failed', 'permission-denied']);

export interface SecurityEventFields {
  /** Who: a token name, a service identity, a node; never the credential itself. */
  principal?: string;
  /** Where: the gRPC method or HTTP route. */
  method?: string;
  /** Why, for a refusal: a fixed word (no-credential, unknown-credential, expired, revoked, wrong-node, scope …). */
  reason?: string;
  /** The remote address when known. */
  peer?: string;
  [more: string]: unknown;
}

export interface SecurityEvents {
  record(event: SecurityEventName, fields?: SecurityEventFields): void;
}

function counter(registry: Registry): Counter<'event' | 'reason'> {
  const name = 'l3vpn_security_events_total';
  return (
    (registry.getSingleMetric(name) as Counter<'event' | 'reason'> | undefined) ??
    new Counter({
      name,
      help: 'Security events: authentication failures and refusals (by reason), credentials created, enrolled, rotated and revoked',
      labelNames: ['event', 'reason'],
      registers: [registry],
    })
  );
}

export function securityEvents(log: Logger, registry?: Registry): SecurityEvents {
  const count = registry ? counter(registry) : undefined;
  return {
    record(event, fields = {}) {
      count?.inc({ event, reason: fields.reason ?? '' });
      const line = { securityEvent: event, ...fields };
      if (WARNING.has(event)) log.warn(line, `security: ${event}`);
      else log.info(line, `security: ${event}`);
    },
  };
}
