// The lab's service-to-service credentials, as files in its folder (mode
// 0600), given to every service through AUTH_SECRET_FILE and
// AUTH_CALLERS_FILE whether they run in this process or each in its own:
// the vpn service's secret (new at every start), the callers the labels and
// bgp services accept, and the operator's secret (kept across restarts
// like the admin token, new with --fresh) for read-only calls to them.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { callersLine, newSecret } from '../common/auth/callers.js';
import { keptSecret, LOCAL_OPERATOR, writtenSecret } from '../common/auth/local-secrets.js';

export interface LabSecrets {
  /** The operator's secret and its file (`authorization: Bearer $(cat FILE)` to labels and bgp). */
  operator: string;
  operatorFile: string;
  /** The settings that make the services use them. */
  env: { AUTH_SECRET_FILE: string; AUTH_CALLERS_FILE: string };
}

export function labSecrets(stateDir: string, fresh: boolean): LabSecrets {
  const operatorFile = join(stateDir, 'operator-secret');
  if (fresh) rmSync(operatorFile, { force: true });
  const operator = keptSecret(operatorFile);
  const dir = join(stateDir, 'service-secrets');
  const vpnFile = join(dir, 'vpn');
  const vpn = writtenSecret(vpnFile, newSecret());
  const callersFile = join(dir, 'callers');
  writtenSecret(callersFile, [callersLine('service:vpn', vpn), callersLine(LOCAL_OPERATOR, operator)].join('\n'));
  return { operator, operatorFile, env: { AUTH_SECRET_FILE: vpnFile, AUTH_CALLERS_FILE: callersFile } };
}
