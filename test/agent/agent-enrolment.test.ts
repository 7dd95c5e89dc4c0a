// `l3vpn agent` enrolling as deployed, against a real vpn service: it
// exchanges its join token for a credential saved in its state dir (0600),
// restarts on the saved credential (the join token is spent), rotates on
// SIGUSR2, is cut off at once by a revocation and stays cut off, and enrols
// again without a restart once it is given a new join token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadSettings } from '../../services/common/config.js';
import { createLogger } from '../../services/common/logger.js';
import type { RunningService } from '../../services/common/service.js';
import { agentSettings, startAgent } from '../../services/agent/main.js';
import { eventually } from '../support/eventually.js';
import { pe, startVpnHarness, type VpnHarness } from '../vpn/support.js';

let h: VpnHarness;
let sql: pg.Client;
let dir: string;
before(async () => {
  h = await startVpnHarness();
  sql = new pg.Client({ connectionString: h.db.url });
  await sql.connect();
  dir = await mkdtemp(join(tmpdir(), 'agent-enrol-'));
});
after(async () => {
  await sql?.end();
  await h?.stop();
  await rm(dir, { recursive: true, force: true });
});

const lastSeen = async (node: string) => (await sql.query('SELECT last_seen_at FROM agent_status WHERE node_id = $1', [node])).rows[0]?.last_seen_at?.getTime() ?? 0;
/** Heartbeats keep arriving: the controller accepts the agent's credential. */
const heard = (node: string, what: string) =>
  eventually(what, async () => {
    const seen = await lastSeen(node);
    return seen > 0 && (await new Promise((r) => setTimeout(r, 1500)).then(() => lastSeen(node))) > seen;
  }, 15_000);
const saved = async (stateDir: string) => JSON.parse(await readFile(join(stateDir, 'credential'), 'utf8')) as { node: string; credential: string };
const events = async (event: string) =>
  (await h.vpn.metrics!.getSingleMetric('l3vpn_security_events_total')?.get())?.values.filter((v) => v.labels.event === event).reduce((a, v) => a + v.value, 0) ?? 0;

test('an agent enrols with its join token, restarts on its saved credential, rotates on SIGUSR2, is cut off by a revocation and enrols again', async () => {
  assert.equal((await h.call('POST', '/v1/nodes', { body: pe('pe1', 1) })).status, 201);
  // The body is optional.
  const made = await h.call('POST', '/v1/nodes/pe1/join-tokens');
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const joinTokenFile = join(dir, 'join-token');
  await writeFile(joinTokenFile, `${made.body.token}\n`, { mode: 0o600 });
  const stateDir = join(dir, 'state');
  const settings = loadSettings(agentSettings, {
    env: {
      AGENT_NODE: 'pe1',
      AGENT_CONTROLLER: `127.0.0.1:${h.vpn.grpcPort}`,
      AGENT_JOIN_TOKEN_FILE: joinTokenFile,
      AGENT_DRIVER: 'soft',
      AGENT_STATE_DIR: stateDir,
      AGENT_HEARTBEAT_SECONDS: '1',
      AGENT_RECONNECT_MAX_SECONDS: '1',
    },
  });
  const log = createLogger('agent', process.env.TEST_LOG_LEVEL ?? 'silent');
  let agent: RunningService | undefined = await startAgent(settings, log);
  try {
    await heard('pe1', 'the enrolled agent heard from');
    const first = await saved(stateDir);
    assert.equal(first.node, 'pe1');
    assert.match(first.credential, /^l3vpn_node_/);
    assert.equal((await stat(join(stateDir, 'credential'))).mode & 0o777, 0o600);
    assert.equal(await events('agent-enrolled'), 1);

    // A restart: the join token is spent, so only the saved credential can get it in.
    await agent.stop(1000);
    agent = await startAgent(settings, log);
    await heard('pe1', 'the restarted agent heard from');
    assert.equal((await saved(stateDir)).credential, first.credential);
    assert.equal(await events('agent-enrolled'), 1);

    // Rotation on command: a new credential saved and in use; the old one is refused.
    process.kill(process.pid, 'SIGUSR2');
    await eventually('a rotated credential saved', async () => (await saved(stateDir)).credential !== first.credential);
    await heard('pe1', 'the agent heard from on its rotated credential');
    await eventually('the old credential retired', async () => (await sql.query('SELECT revoked_at FROM agent_credential WHERE replaces_id IS NULL AND revoked_at IS NOT NULL')).rowCount === 1);
    assert.equal(await events('agent-credential-rotated'), 1);

    // Revocation: the stream ends at once and the agent stays cut off.
    const revokedAt = Date.now();
    assert.equal((await h.call('DELETE', '/v1/nodes/pe1/agent-credentials')).status, 200);
    await eventually('the watch stream ended', async () => (await sql.query("SELECT ended_at FROM agent_watch WHERE node_id = 'pe1'")).rows[0]?.ended_at !== null, 5000);
    const ended = (await sql.query("SELECT ended_at FROM agent_watch WHERE node_id = 'pe1'")).rows[0].ended_at.getTime();
    assert.ok(ended - revokedAt < 1000, `ended ${ended - revokedAt} ms after the revocation`);
    const cutAt = await lastSeen('pe1');
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok((await lastSeen('pe1')) <= Math.max(cutAt, revokedAt + 1000), 'no report accepted after the revocation');
    assert.equal((await sql.query("SELECT ended_at FROM agent_watch WHERE node_id = 'pe1'")).rows[0].ended_at.getTime(), ended, 'no new stream');

    // A new join token in its file: the agent enrols again on its next attempt, without a restart.
    const again = await h.call('POST', '/v1/nodes/pe1/join-tokens', { body: { ttlSeconds: 300 } });
    await writeFile(joinTokenFile, `${again.body.token}\n`);
    await heard('pe1', 'the re-enrolled agent heard from');
    assert.equal(await events('agent-enrolled'), 2);
  } finally {
    await agent?.stop(1000);
  }
});
