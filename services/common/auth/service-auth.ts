// How the labels and bgp services know their callers, and how this process
// identifies itself to them, where TLS client certificates are not used
// (with them, a certificate's URI SAN names the principal: principal.ts).
import type { SettingSpec, Settings } from '../config.js';
import { Callers, readSecretFile } from './callers.js';

export const serviceAuthSettings: SettingSpec[] = [
  {
    key: 'auth.secret-file',
    type: 'string',
    default: '',
    description:
      "file holding this process's own secret (>= 32 characters), sent as `authorization: Bearer <secret>` on its calls to the labels and bgp services; empty: none (a TLS client certificate alone identifies it)",
  },
  {
    key: 'auth.callers-file',
    type: 'string',
    default: '',
    description:
      'file of the callers the labels and bgp gRPC servers accept by secret, one `<principal> <sha256-hex of its secret>` a line (principal service:<name> or operator:<name>); empty: only client certificates (URI SAN spiffe://l3vpn/service/<name> or .../operator/<name>)',
  },
];

export interface ServiceAuth {
  /** The secrets this process's servers accept (auth.callers-file). */
  callers: Callers;
  /** What this process presents on its calls to labels and bgp (auth.secret-file). */
  secret?: string;
}

/** The auth.* settings, files read at start; ConfigError naming the setting when one is unreadable or malformed. */
export function serviceAuth(settings: Settings): ServiceAuth {
  const path = (key: string) => String(settings[key] ?? '').trim();
  const secretFile = path('auth.secret-file');
  const callersFile = path('auth.callers-file');
  return {
    callers: callersFile ? Callers.fromFile(callersFile, 'auth.callers-file') : Callers.none(),
    ...(secretFile ? { secret: readSecretFile(secretFile, 'auth.secret-file') } : {}),
  };
}

/** Whether the auth.* settings name any file (otherwise `l3vpn all` makes its own secrets). */
export function authConfigured(settings: Settings): boolean {
  return serviceAuthSettings.some((s) => String(settings[s.key] ?? '').trim() !== '');
}
