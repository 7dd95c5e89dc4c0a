// The l3vpn binary as an operator runs it: usage, settings, migrations and a
// graceful stop on SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import pg from 'pg';
import { LabelKind } from '../services/common/gen/proto/l3vpn/v1/labels.js';
import { projectRoot } from '../services/common/project-root.js';
import { createTestDatabase, type TestDatabase } from './support/services.js';
import { labelsClient, startLabelsProcess } from './support/labels.js';
import { eventually, lineSeen } from './support/eventually.js';
import { HealthCheckResponse_ServingStatus, HealthClient } from './support/health.js';

const main = join(projectRoot(), 'dist/services/main.js');
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase('cli');
});
after(async () => {
  await db?.drop();
});

test('no command prints usage and fails; an unknown command names itself', () => {
  const none = run([]);
  assert.equal(none.status, 2);
  assert.match(none.stdout, /usage: l3vpn <command>/);
  const bad = run(['frobnicate']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown command 'frobnicate'/);
});

test('--print-config shows file and environment settings, secrets hidden', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l3vpn-cli-'));
  const file = join(dir, 'l3vpn.yaml');
  writeFileSync(file, 'labels:\n  hold-down-seconds: 5\n  srgb: 20000-20999\n');
  const out = run(['labels', '--config', file, '--print-config'], { DATABASE_URL: 'postgresql://u:pw-not-shown@db/x', LABELS_LISTEN: '127.0.0.1:7000' });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /labels.hold-down-seconds: 5/);
  assert.match(out.stdout, /labels.srgb: "20000-20999"/);
  assert.match(out.stdout, /labels.listen: "127.0.0.1:7000"/);
  assert.doesNotMatch(out.stdout, /pw-not-shown/);
});

test('`l3vpn all` listens for labels and bgp on loopback unless told otherwise; `l3vpn labels` and `l3vpn bgp` keep their defaults', () => {
  const env = { LABELS_LISTEN: '', BGP_GRPC_LISTEN: '', VPN_GRPC_LISTEN: '' };
  const all = run(['all', '--print-config'], env);
  assert.equal(all.status, 0, all.stderr);
  assert.match(all.stdout, /^labels\.listen: "127\.0\.0\.1:50061"$/m);
  assert.match(all.stdout, /^bgp\.grpc-listen: "127\.0\.0\.1:50062"$/m);
  assert.match(all.stdout, /^vpn\.grpc-listen: "0\.0\.0\.0:50063"$/m, "the vpn service's gRPC serves agents: as configured");
  assert.equal(all.stdout.match(/^auth\.callers-file:/gm)?.length, 1, 'shared settings once');
  assert.match(all.stdout, /^auth\.operator-secret-file: ""$/m);
  const configured = run(['all', '--print-config'], { LABELS_LISTEN: '0.0.0.0:7001' });
  assert.match(configured.stdout, /^labels\.listen: "0\.0\.0\.0:7001"$/m);
  assert.match(run(['labels', '--print-config'], env).stdout, /^labels\.listen: "0\.0\.0\.0:50061"$/m);
  assert.match(run(['bgp', '--print-config'], env).stdout, /^bgp\.grpc-listen: "0\.0\.0\.0:50062"$/m);
});

test('an unreadable or malformed auth file stops the service at start, naming the setting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l3vpn-cli-auth-'));
  const missing = run(['bgp'], { AUTH_CALLERS_FILE: join(dir, 'none'), BGP_GRPC_LISTEN: '127.0.0.1:0', BGP_PORT: '0', OPS_ADDRESS: '' });
  assert.equal(missing.status, 2, missing.stderr);
  assert.match(missing.stderr, /auth\.callers-file: cannot read .*none: ENOENT/);
  writeFileSync(join(dir, 'callers'), 'service:vpn not-a-digest\n');
  const malformed = run(['bgp'], { AUTH_CALLERS_FILE: join(dir, 'callers'), BGP_GRPC_LISTEN: '127.0.0.1:0', BGP_PORT: '0', OPS_ADDRESS: '' });
  assert.equal(malformed.status, 2, malformed.stderr);
  assert.match(malformed.stderr, /auth\.callers-file line 1: expected '<principal> <sha256/);
});

test('a bad setting stops the service before it starts, naming the setting', () => {
  const out = run(['labels'], { LABELS_SRGB: '3-10', DATABASE_URL: db.url });
  assert.equal(out.status, 2);
  assert.match(out.stderr, /labels.srgb: .*reserved/);
});

test('migrate applies nothing on a current database', () => {
  const out = run(['migrate'], { DATABASE_URL: db.url });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /database schema is current/);
});

test('SIGTERM: health turns NOT_SERVING, running calls finish, the process exits 0', async () => {
  const proc = await startLabelsProcess({ DATABASE_URL: db.url, DATABASE_MIGRATE: 'false', SHUTDOWN_GRACE_SECONDS: '60' });
  const client = labelsClient(proc.address);
  const health = new HealthClient(proc.address);
  // The test holds the pool table: the allocation below is then inside the
  // server, in its transaction, for exactly as long as the test wants.
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE pool IN EXCLUSIVE MODE');
  let holding = true;
  try {
    const watch = health.watch('l3vpn.v1.LabelsService');
    await watch.until(HealthCheckResponse_ServingStatus.SERVING);
    let settled = false;
    const inFlight = client.allocateLabels({
      node: 'pe-sigterm',
      requests: Array.from({ length: 2000 }, (_, i) => ({ owner: `vrf:${i}`, kind: LabelKind.LABEL_KIND_VRF })),
    });
    void inFlight.finally(() => (settled = true)).catch(() => undefined);
    await eventually(
      'the allocation to wait on the pool lock inside the server',
      async () => {
        // Inside a transaction, pg_stat_activity is read once and then kept: read it afresh.
        await holder.query('SELECT pg_stat_clear_snapshot()');
        return (await holder.query('SELECT 1 FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))')).rowCount! > 0;
      },
    );
    const exited = once(proc.child, 'exit');
    proc.child.kill('SIGTERM');
    await lineSeen(proc.logs, '"msg":"shutting down"');
    await watch.until(HealthCheckResponse_ServingStatus.NOT_SERVING);
    watch.cancel();
    assert.equal(settled, false, 'the call is still running while the server stops');
    await holder.query('ROLLBACK');
    holding = false;
    const [code] = (await exited) as [number];
    assert.equal(code, 0, proc.logs.join('\n'));
    const done = await inFlight;
    assert.equal(done.labels.length, 2000, 'the call that was running when SIGTERM came finished');
    assert.ok(proc.logs.some((l) => l.includes('"msg":"stopped"')));
  } finally {
    if (holding) await holder.query('ROLLBACK');
    await holder.end();
    health.close();
    client.close();
    await proc.stop();
  }
});
