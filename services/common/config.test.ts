import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, envName, formatSettings, loadSettings, type SettingSpec } from './config.js';

const specs: SettingSpec[] = [
  { key: 'database.url', type: 'string', default: 'postgresql://a', description: 'db', secret: true },
  { key: 'labels.hold-down-seconds', type: 'integer', default: 60, min: 0, max: 100, description: 'hold' },
  { key: 'database.migrate', type: 'boolean', default: true, description: 'migrate' },
  { key: 'bgp.neighbors', type: 'structured', default: [], description: 'static neighbours' },
];

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'l3vpn-config-'));
  const path = join(dir, 'l3vpn.yaml');
  writeFileSync(path, text);
  return path;
}

test('environment variable names follow the keys', () => {
  assert.equal(envName('labels.hold-down-seconds'), 'LABELS_HOLD_DOWN_SECONDS');
  assert.equal(envName('database.url'), 'DATABASE_URL');
});

test('defaults, then the file, then the environment', () => {
  const path = file('labels:\n  hold-down-seconds: 30\ndatabase:\n  migrate: false\nbgp:\n  neighbors:\n    - address: 127.0.0.2\n      remote-as: 65001\n');
  const s = loadSettings(specs, { configFile: path, env: { LABELS_HOLD_DOWN_SECONDS: '45' } });
  assert.equal(s['database.url'], 'postgresql://a');
  assert.equal(s['labels.hold-down-seconds'], 45);
  assert.equal(s['database.migrate'], false);
  assert.deepEqual(s['bgp.neighbors'], [{ address: '127.0.0.2', 'remote-as': 65001 }]);
  const fromEnv = loadSettings(specs, { env: { BGP_NEIGHBORS: '[{"address":"127.0.0.3"}]' } });
  assert.deepEqual(fromEnv['bgp.neighbors'], [{ address: '127.0.0.3' }]);
});

test('bad values and unknown keys are refused with the setting named', () => {
  assert.throws(() => loadSettings(specs, { env: { LABELS_HOLD_DOWN_SECONDS: 'soon' } }), (e: Error) => e instanceof ConfigError && /labels.hold-down-seconds/.test(e.message));
  assert.throws(() => loadSettings(specs, { env: { LABELS_HOLD_DOWN_SECONDS: '101' } }), /<= 100/);
  assert.throws(() => loadSettings(specs, { env: { DATABASE_MIGRATE: 'perhaps' } }), /true or false/);
  assert.throws(() => loadSettings(specs, { configFile: file('labels:\n  hold-down: 3\n'), env: {} }), /unknown setting 'labels.hold-down'/);
  assert.throws(() => loadSettings(specs, { configFile: file('a: [1,\n'), env: {} }), /not valid YAML/);
});

test('printing hides secrets', () => {
  const out = formatSettings(specs, loadSettings(specs, { env: { DATABASE_URL: 'postgresql://u:pw@h/db' } }));
  assert.match(out, /database.url: <hidden>/);
  assert.doesNotMatch(out, /pw@h/);
  assert.match(out, /# hold \(env LABELS_HOLD_DOWN_SECONDS\)\nlabels.hold-down-seconds: 60/);
});
