// Secrets from files, never in output: `<key>-file` settings and `<ENV>_FILE`
// variables, hidden by --print-config, redacted from logs; and the l3vpn
// binary serving its ops listener (an agent whose controller is away: alive,
// ready — its driver answers — and saying so in its metrics).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { databaseSettings, loadSettings } from '../../services/common/config.js';
import { projectRoot } from '../../services/common/project-root.js';
import { find, parseExposition } from './exposition.js';

const main = join(projectRoot(), 'dist/services/main.js');
let dir: string;
const SECRET = 'postgresql://l3vpn:Sup3r-s3cret@db.example/l3vpn';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'l3vpn-secrets-'));
  writeFileSync(join(dir, 'db-url'), `${SECRET}\n`);
  writeFileSync(join(dir, 'token'), 'agent-token-Sup3r-s3cret\n');
  writeFileSync(join(dir, 'l3vpn.yaml'), `database:\n  url-file: ${join(dir, 'db-url')}\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a secret setting comes from <key>-file in the config file or <ENV>_FILE, the variable itself winning', () => {
  assert.equal(loadSettings(databaseSettings, { configFile: join(dir, 'l3vpn.yaml'), env: {} })['database.url'], SECRET);
  assert.equal(loadSettings(databaseSettings, { env: { DATABASE_URL_FILE: join(dir, 'db-url') } })['database.url'], SECRET);
  assert.equal(loadSettings(databaseSettings, { env: { DATABASE_URL_FILE: join(dir, 'db-url'), DATABASE_URL: 'postgresql://x/y' } })['database.url'], 'postgresql://x/y');
  assert.throws(() => loadSettings(databaseSettings, { env: { DATABASE_URL_FILE: join(dir, 'missing') } }), /DATABASE_URL_FILE: cannot read/);
});

test('--print-config hides a secret read from a file', () => {
  const r = spawnSync(process.execPath, [main, 'labels', '--print-config'], { encoding: 'utf8', env: { ...process.env, DATABASE_URL_FILE: join(dir, 'db-url') } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /database.url: <hidden>/);
  assert.doesNotMatch(r.stdout, /Sup3r/);
});

test('log lines redact credential fields', () => {
  const script = `import('${join(projectRoot(), 'dist/services/common/logger.js')}').then(({ createLogger }) => {
    const log = createLogger('t');
    log.info({ token: 'Sup3r-1', headers: { authorization: 'Bearer Sup3r-2' }, peer: { password: 'Sup3r-3' } }, 'hello');
  })`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  const line = JSON.parse(r.stdout.trim());
  assert.equal(line.msg, 'hello');
  assert.equal(line.token, '<hidden>');
  assert.doesNotMatch(r.stdout, /Sup3r/);
});

test('l3vpn agent: ops listener up, ready with its driver, controller not connected, the token from its file never printed', async () => {
  const child = spawn(process.execPath, [main, 'agent'], {
    env: {
      ...process.env,
      AGENT_NODE: 'pe9',
      AGENT_TOKEN_FILE: join(dir, 'token'),
      AGENT_CONTROLLER: '127.0.0.1:1',
      AGENT_STATE_DIR: join(dir, 'state'),
      OPS_ADDRESS: '127.0.0.1:0',
      LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ops listener:\n${output.join('\n')}`)), 20_000);
    for (const s of [child.stdout!, child.stderr!]) {
      createInterface({ input: s }).on('line', (line) => {
        output.push(line);
        const m = /"port":(\d+).*ops listener|ops listener.*"port":(\d+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1] ?? m[2]));
        }
      });
    }
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, { 'agent.driver': 'ok' });
    const samples = parseExposition(await (await fetch(`${base}/metrics`)).text());
    assert.equal(find(samples, 'l3vpn_agent_controller_connected', { service: 'agent' })[0]?.value, 0);
    assert.equal(find(samples, 'l3vpn_agent_applied_generation')[0]?.value, 0);
  } finally {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  assert.ok(output.some((l) => l.includes('controller stream ended') || l.includes('agent started')));
  assert.ok(!output.some((l) => l.includes('Sup3r')), 'the token is never printed');
});
