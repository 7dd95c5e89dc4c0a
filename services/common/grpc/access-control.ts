// Caller authentication and per-method authorization for the services that
// use it (a GrpcService with an `access` policy). Who calls: the principal
// of a verified client certificate (URI SAN spiffe://l3vpn/<kind>/<name>),
// else of the `authorization: Bearer <secret>` metadata (auth.callers-file).
// What it may call: the service's policy, one rule per method; a method
// without one is refused. No credential or an unknown one is
// UNAUTHENTICATED, a known principal outside the rule PERMISSION_DENIED;
// every refusal is a security event.
import { Metadata, status, type ServiceDefinition, type ServiceError, type UntypedHandleCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { bearerOf } from '../bearer.js';
import { certificatePrincipal, type Principal, type PrincipalKind } from '../auth/principal.js';
import type { Callers } from '../auth/callers.js';
import type { SecurityEvents } from '../ops/security-events.js';
import { verifiedPeer, type TlsMaterial } from '../tls.js';

/** Who may call a method: exact principals (`service:vpn`) or a whole kind (`operator:*`). */
export type AccessRule = ReadonlyArray<Principal | `${PrincipalKind}:*`>;
export type AccessPolicy = Readonly<Record<string, AccessRule>>;

/** A policy with a rule for every method of `definition` (the compiler refuses one that misses a method). */
export function accessPolicy<D extends ServiceDefinition>(_definition: D, rules: { readonly [K in keyof D]: AccessRule }): AccessPolicy {
  return rules as AccessPolicy;
}

export function allows(rule: AccessRule | undefined, principal: Principal): boolean {
  if (!rule) return false;
  const kind = principal.slice(0, principal.indexOf(':'));
  return rule.some((r) => r === principal || r === `${kind}:*`);
}

export interface Gatekeeper {
  tls: TlsMaterial | undefined;
  callers: Callers;
  events: SecurityEvents;
}

const HOW = 'send a client certificate with URI SAN spiffe://l3vpn/service/<name> (or spiffe://l3vpn/operator/<name>), or `authorization: Bearer <secret>` metadata with a secret this server lists in auth.callers-file';

class Refusal {
  constructor(
    readonly code: status.UNAUTHENTICATED | status.PERMISSION_DENIED,
    readonly reason: string,
    readonly message: string,
    readonly principal?: Principal,
  ) {}
}

interface CallLike {
  metadata: Metadata;
  getPeer(): string;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

/** The caller's principal, or why it has none. */
function authenticate(call: CallLike, gate: Gatekeeper): Principal | Refusal {
  const offered = call.getAuthContext().sslPeerCertificate;
  if (offered?.raw?.length) {
    const cert = gate.tls ? verifiedPeer(offered, gate.tls) : undefined;
    if (!cert) return new Refusal(status.UNAUTHENTICATED, 'untrusted-certificate', 'the client certificate is not signed by a CA this server trusts (tls.ca-file)');
    const principal = certificatePrincipal(cert);
    if (principal) return principal;
  }
  const secret = bearerOf(call.metadata);
  if (!secret) {
    const what = offered?.raw?.length ? 'the client certificate names no l3vpn principal; ' : 'no credential; ';
    return new Refusal(status.UNAUTHENTICATED, offered?.raw?.length ? 'no-principal' : 'no-credential', what + HOW);
  }
  const principal = gate.callers.identify(secret);
  return principal ?? new Refusal(status.UNAUTHENTICATED, 'unknown-credential', `the bearer secret is not one this server accepts; ${HOW}`);
}

function check(call: CallLike, method: string, rule: AccessRule | undefined, gate: Gatekeeper): Refusal | undefined {
  const who = authenticate(call, gate);
  let refusal: Refusal | undefined;
  if (who instanceof Refusal) refusal = who;
  else if (!allows(rule, who)) {
    refusal = new Refusal(status.PERMISSION_DENIED, rule ? 'not-allowed' : 'no-policy', `${who} may not call ${method}${rule?.length ? `; it is for ${rule.join(', ')}` : ''}`, who);
  }
  if (refusal) {
    gate.events.record(refusal.code === status.UNAUTHENTICATED ? 'authentication-failed' : 'permission-denied', {
      ...(refusal.principal ? { principal: refusal.principal } : {}),
      method,
      reason: refusal.reason,
      peer: call.getPeer(),
    });
  }
  return refusal;
}

function serviceError(r: Refusal): ServiceError {
  return Object.assign(new Error(r.message), { code: r.code, details: r.message, metadata: new Metadata() });
}

/**
 * The implementation with every method (unary and streaming) behind the
 * policy: a refused call ends with its status before the handler runs.
 */
export function guarded(definition: ServiceDefinition, implementation: UntypedServiceImplementation, policy: AccessPolicy, gate: Gatekeeper): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = { ...implementation };
  for (const [key, method] of Object.entries(definition)) {
    const handler = implementation[key];
    if (!handler) continue;
    const rule = Object.hasOwn(policy, key) ? policy[key] : undefined;
    const path = method.path;
    // Unary and client-streaming handlers answer through a callback; server-streaming and bidi ones end their stream with an 'error' event.
    const withCallback = !method.responseStream;
    out[key] = ((call: CallLike & { emit(event: 'error', err: ServiceError): boolean }, callback?: (err: ServiceError) => void) => {
      const refusal = check(call, path, rule, gate);
      if (!refusal) return (handler as (...a: unknown[]) => unknown)(call, callback);
      if (withCallback) callback!(serviceError(refusal));
      else call.emit('error', serviceError(refusal));
    }) as UntypedHandleCall;
  }
  return out;
}
