// TLS material from files (tls.* settings) turned into what grpc-js and
// node:https take. One certificate serves and identifies the process: its
// servers present it, its clients present it to the services they call.
import { readFileSync } from 'node:fs';
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { credentials, experimental, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { ConfigError, type Settings } from './config.js';

export const CLIENT_AUTH_MODES = ['none', 'request', 'require'] as const;
export type ClientAuth = (typeof CLIENT_AUTH_MODES)[number];

export interface TlsMaterial {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  clientAuth: ClientAuth;
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The tls.* settings, files read; ConfigError naming the setting when they do not fit together. */
export function tlsMaterial(settings: Settings): TlsMaterial {
  const path = (k: string) => String(settings[k] ?? '');
  const clientAuth = (path('tls.client-auth') || 'none') as ClientAuth;
  if (!CLIENT_AUTH_MODES.includes(clientAuth)) throw new ConfigError(`tls.client-auth must be one of ${CLIENT_AUTH_MODES.join(', ')}, got '${clientAuth}'`);
  const m: TlsMaterial = { clientAuth };
  if (path('tls.cert-file')) m.cert = readPem(path('tls.cert-file'), 'tls.cert-file');
  if (path('tls.key-file')) m.key = readPem(path('tls.key-file'), 'tls.key-file');
  if (path('tls.ca-file')) m.ca = readPem(path('tls.ca-file'), 'tls.ca-file');
  if (!m.cert !== !m.key) throw new ConfigError('tls.cert-file and tls.key-file go together');
  if (clientAuth !== 'none' && !m.cert) throw new ConfigError(`tls.client-auth '${clientAuth}' needs tls.cert-file and tls.key-file`);
  if (clientAuth !== 'none' && !m.ca) throw new ConfigError(`tls.client-auth '${clientAuth}' needs tls.ca-file to verify client certificates`);
  return m;
}

/**
 * A certificate provider that always answers with the same buffers (grpc-js'
 * experimental API), both the CA and the identity: grpc-js 1.14's
 * createCertificateProviderServerCredentials hands its two providers to the
 * constructor in the other order, so one provider serves as both. It answers
 * on the next tick: grpc-js registers its watcher only after adding the listener.
 */
function staticProvider(ca: Buffer, certificate: Buffer, privateKey: Buffer): experimental.CertificateProvider {
  return {
    addCaCertificateListener: (l) => process.nextTick(() => l({ caCertificate: ca })),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (l) => process.nextTick(() => l({ certificate, privateKey })),
    removeIdentityCertificateListener: () => undefined,
  };
}

/** Plaintext without a certificate; TLS with one; client certificates asked for or required per tls.client-auth. */
export function serverCredentials(m: TlsMaterial): ServerCredentials {
  if (!m.cert || !m.key) return ServerCredentials.createInsecure();
  if (m.clientAuth === 'request') {
    // Asked for, not required: the handshake takes any certificate, so handlers trust one only through verifiedPeer().
    const provider = staticProvider(m.ca!, m.cert, m.key);
    return experimental.createCertificateProviderServerCredentials(provider, provider, false);
  }
  return ServerCredentials.createSsl(m.clientAuth === 'require' ? m.ca! : null, [{ cert_chain: m.cert, private_key: m.key }], m.clientAuth === 'require');
}

/** Client side: TLS verifying the server with `ca` and presenting cert/key when given; plaintext without a CA. */
export function channelCredentials(c: { ca?: Buffer; cert?: Buffer; key?: Buffer }): ChannelCredentials {
  if (!c.ca) return credentials.createInsecure();
  return credentials.createSsl(c.ca, c.key ?? null, c.cert ?? null);
}

/** The credentials this process's clients use towards the other services (tls.ca-file set: TLS, presenting tls.cert-file). */
export function serviceClientCredentials(m: TlsMaterial): ChannelCredentials {
  return channelCredentials(m);
}

/** fastify's `https` option, or undefined for plain HTTP. */
export function httpsOptions(m: TlsMaterial): { cert: Buffer; key: Buffer; ca?: Buffer; requestCert: boolean; rejectUnauthorized: boolean } | undefined {
  if (!m.cert || !m.key) return undefined;
  return {
    cert: m.cert,
    key: m.key,
    ...(m.ca ? { ca: m.ca } : {}),
    requestCert: m.clientAuth !== 'none',
    rejectUnauthorized: m.clientAuth === 'require',
  };
}

/**
 * The names a certificate gives its holder: the subject CN, and the DNS and
 * URI subject alternative names (RFC 5280 §4.2.1.6).
 */
export function certificateNames(cert: PeerCertificate): string[] {
  const names: string[] = [];
  const cn = cert.subject?.CN;
  if (cn) names.push(...(Array.isArray(cn) ? cn : [cn]));
  for (const part of (cert.subjectaltname ?? '').split(/,\s*/)) {
    const m = /^(DNS|URI):(.+)$/.exec(part);
    if (m) names.push(m[2]!);
  }
  return names;
}

/**
 * The peer certificate when it chains to one of our CAs. Under
 * tls.client-auth=require the handshake has checked it already; under
 * `request` it has not, so it is checked here (issued directly by a CA of
 * the bundle, signature and validity).
 */
export function verifiedPeer(cert: PeerCertificate | undefined, m: TlsMaterial): PeerCertificate | undefined {
  if (!cert?.raw?.length) return undefined;
  if (m.clientAuth === 'require') return cert;
  if (m.clientAuth !== 'request' || !m.ca) return undefined;
  const x = new X509Certificate(cert.raw);
  const now = Date.now();
  if (Date.parse(x.validFrom) > now || Date.parse(x.validTo) < now) return undefined;
  return caCertificates(m.ca).some((ca) => x.checkIssued(ca) && x.verify(ca.publicKey as KeyObject)) ? cert : undefined;
}

function caCertificates(bundle: Buffer): X509Certificate[] {
  const pems = bundle.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return pems.map((p) => new X509Certificate(p));
}
