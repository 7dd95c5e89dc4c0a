// The served OpenAPI document passes Redocly CLI's lint with the recommended
// rules (redocly.yaml) with no error and no warning (issue 13 §4). The CLI
// runs offline: the document has no remote references, the config no remote
// rules, and telemetry and update notices are off.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../services/common/project-root.js';
import { startVpnHarness, type VpnHarness } from './support.js';

const run = promisify(execFile);

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location?: { pointer?: string }[] }[];
}

/** `redocly lint --format=json` of one file; the report whatever the exit status (1 when there are errors). */
async function redoclyLint(file: string): Promise<LintReport> {
  const root = projectRoot();
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true', NO_COLOR: '1' };
  const args = ['lint', '--config', join(root, 'redocly.yaml'), '--format=json', file];
  let stdout: string;
  try {
    ({ stdout } = await run(join(root, 'node_modules/.bin/redocly'), args, { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    if (!e.stdout?.includes('"totals"')) throw new Error(`redocly lint failed to run: ${e.message}\n${e.stderr ?? ''}`);
    stdout = e.stdout;
  }
  return JSON.parse(stdout.slice(stdout.indexOf('{'), stdout.lastIndexOf('}') + 1)) as LintReport;
}

describe('the served OpenAPI document, linted', () => {
  let h: VpnHarness;
  let dir: string;
  before(async () => {
    h = await startVpnHarness();
    dir = await mkdtemp(join(tmpdir(), 'l3vpn-openapi-lint-'));
  });
  after(async () => {
    await h?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('Redocly CLI lint (recommended rules): 0 errors, 0 warnings', async () => {
    const doc = await h.call('GET', '/docs/openapi.json', { token: null });
    assert.equal(doc.status, 200);
    const file = join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(doc.body, null, 2));
    const report = await redoclyLint(file);
    const listed = report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? '?'}`).join('\n');
    assert.deepEqual(report.totals, { errors: 0, warnings: 0, ignored: 0 }, `redocly lint found:\n${listed}`);
  });
});
