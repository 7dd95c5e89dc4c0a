// A throwaway CA and certificates made with openssl at test time, in a temp dir.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  ca: string;
  /** A certificate of this CA, subject CN `cn`, with the SANs given (e.g. "IP:127.0.0.1", "DNS:pe1"). */
  issue(name: string, cn: string, sans?: string[]): Issued;
  /** A self-signed certificate no CA here vouches for. */
  selfSigned(name: string, cn: string): Issued;
  remove(): void;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'l3vpn-pki-'));
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca-key.pem');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=l3vpn test CA']);
  let serial = 1;
  return {
    dir,
    ca,
    issue(name, cn, sans = []) {
      const key = join(dir, `${name}-key.pem`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n${sans.length ? `subjectAltName=${sans.join(',')}\n` : ''}`);
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
      openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-set_serial', String(serial++), '-days', '1', '-extfile', ext, '-out', cert]);
      return { cert, key };
    },
    selfSigned(name, cn) {
      const key = join(dir, `${name}-key.pem`);
      const cert = join(dir, `${name}.pem`);
      openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${cn}`]);
      return { cert, key };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
