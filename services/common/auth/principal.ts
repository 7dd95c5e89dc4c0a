// Who calls the labels and bgp services: a principal. A service of the
// control plane is `service:<name>` (vpn, labels, bgp), a person or tool with
// read access `operator:<name>`.
//
// With a client certificate the principal is named by a URI subject
// alternative name (RFC 5280 §4.2.1.6) in the SPIFFE form
// spiffe://l3vpn/service/<name> or spiffe://l3vpn/operator/<name>
// (trust domain `l3vpn`); a certificate without one names no principal.
import type { PeerCertificate } from 'node:tls';

export const PRINCIPAL_KINDS = ['service', 'operator'] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];
export type Principal = `${PrincipalKind}:${string}`;

export const TRUST_DOMAIN = 'l3vpn';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** `service:vpn`, `operator:alice`; undefined for anything else. */
export function parsePrincipal(text: string): Principal | undefined {
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  const name = text.slice(colon + 1);
  return colon > 0 && (PRINCIPAL_KINDS as readonly string[]).includes(kind) && NAME.test(name) ? (text as Principal) : undefined;
}

/** The SPIFFE ID that names `principal` in a certificate. */
export function spiffeId(principal: Principal): string {
  const [kind, name] = principal.split(':') as [PrincipalKind, string];
  return `spiffe://${TRUST_DOMAIN}/${kind}/${name}`;
}

/** The principal of a SPIFFE ID of our trust domain; undefined for any other URI. */
export function principalOfSpiffeId(uri: string): Principal | undefined {
  const m = /^spiffe:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(uri);
  if (!m || m[1] !== TRUST_DOMAIN) return undefined;
  return parsePrincipal(`${m[2]}:${m[3]}`);
}

/** The URI SANs of a certificate as Node reports them ("URI:a, DNS:b"; values with a comma or quote come quoted). */
function uriNames(cert: PeerCertificate): string[] {
  const out: string[] = [];
  for (const m of (cert.subjectaltname ?? '').matchAll(/(?:^|, )URI:(?:"((?:[^"\\]|\\.)*)"|([^,]*))/g)) out.push(m[1] ?? m[2]!);
  return out;
}

/** The principal a (verified) certificate names; undefined when it names none, or more than one. */
export function certificatePrincipal(cert: PeerCertificate): Principal | undefined {
  const found = new Set(uriNames(cert).map(principalOfSpiffeId).filter((p): p is Principal => p !== undefined));
  return found.size === 1 ? [...found][0] : undefined;
}
