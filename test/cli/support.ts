// Runs the real l3vpn binary as an operator would, against a vpn service
// (with its worker and a labels service) that the test starts. HOME and
// XDG_CONFIG_HOME point at an empty folder so no operator config leaks in.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../services/common/project-root.js';

export const MAIN = join(projectRoot(), 'dist/services/main.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cleanEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('L3VPN_') && k !== 'NODE_DEBUG') env[k] = v;
  return { ...env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
}

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'l3vpn-cli-home-'));
}

/** Asynchronous on purpose: the service under test runs in this process and must keep answering. */
export function l3vpn(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** The rows of a kubectl-style table as cells split on runs of 2+ spaces. */
export function tableRows(text: string): string[][] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}
