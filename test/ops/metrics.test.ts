// Every service's ops endpoints on one listener, as `l3vpn all` serves them:
// labels, bgp (with an established session), vpn (provisioning a site) and
// the agent that installs it. The scrape parses as Prometheus text format
// and the key series say what really happened.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentSettings, startAgent } from '../../services/agent/main.js';
import { bgpSettings, startBgp, type RunningBgp } from '../../services/bgp/main.js';
import { commonSettings, databaseSettings, loadSettings } from '../../services/common/config.js';
import { createLogger } from '../../services/common/logger.js';
import { startOpsServer, type RunningOps } from '../../services/common/ops/server.js';
import type { RunningService } from '../../services/common/service.js';
import { labelsSettings, startLabels } from '../../services/labels/main.js';
import { serviceAuthEnv } from '../support/service-auth.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { startVpnHarness, type VpnHarness } from '../vpn/support.js';
import { eventually } from '../support/eventually.js';
import { find, parseExposition, value, type Sample } from './exposition.js';

const log = createLogger('ops-test', process.env.TEST_LOG_LEVEL ?? 'silent');

async function bgp(env: Record<string, string>, neighbors: object[]): Promise<RunningBgp> {
  return startBgp(loadSettings([...commonSettings, ...bgpSettings], { env: { BGP_GRPC_LISTEN: '127.0.0.1:0', BGP_PORT: '0', BGP_NEIGHBORS: JSON.stringify(neighbors), ...serviceAuthEnv(), ...env } }), log);
}

describe('ops listener: /healthz, /readyz and /metrics of every service', () => {
  let labelsDb: TestDatabase;
  let labels: RunningService;
  let h: VpnHarness;
  let bgpA: RunningBgp;
  let bgpB: RunningBgp;
  let agent: RunningService;
  let ops: RunningOps;
  let stateDir: string;
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${ops.port}${path}`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };
  const scrape = async (): Promise<Sample[]> => parseExposition((await get('/metrics')).text);

  before(async () => {
    labelsDb = await createTestDatabase('ops_labels');
    labels = await startLabels(
      loadSettings([...commonSettings, ...databaseSettings, ...labelsSettings], { env: { DATABASE_URL: labelsDb.url, LABELS_LISTEN: '127.0.0.1:0', DATABASE_MIGRATE: 'false', ...serviceAuthEnv() } }),
      log,
    );
    h = await startVpnHarness({ VPN_LABELS_ADDRESS: `127.0.0.1:${labels.grpcPort}`, VPN_WORKER_CONCURRENCY: '2', VPN_OUTBOX_RELAY_MS: '200' });
    // Two speakers with one iBGP session over loopback addresses of their own.
    bgpA = await bgp({ BGP_LISTEN_ADDRESS: '127.0.0.1', BGP_ROUTER_ID: '10.0.0.1' }, [{ address: '127.0.0.2', 'remote-as': 65000, passive: true }]);
    bgpB = await bgp({ BGP_LISTEN_ADDRESS: '127.0.0.2', BGP_ROUTER_ID: '10.0.0.2' }, [{ address: '127.0.0.1', 'remote-as': 65000, port: bgpA.bgpPort }]);
    const pe1 = { id: 'pe1', role: 'PE', routerId: '10.255.0.1', asNumber: 65000, nodeSidIndex: 1 };
    assert.equal((await h.call('POST', '/v1/nodes', { body: pe1 })).status, 201);
    const joinToken = (await h.call('POST', '/v1/nodes/pe1/join-tokens', { body: {} })).body.token;
    stateDir = mkdtempSync(join(tmpdir(), 'l3vpn-ops-agent-'));
    agent = await startAgent(
      loadSettings([...commonSettings, ...agentSettings], {
        env: { AGENT_NODE: 'pe1', AGENT_JOIN_TOKEN: joinToken, AGENT_CONTROLLER: `127.0.0.1:${h.vpn.grpcPort}`, AGENT_STATE_DIR: stateDir, AGENT_DRIVER: 'soft' },
      }),
      log,
    );
    ops = await startOpsServer({ address: '127.0.0.1:0', sources: [labels, bgpA, h.vpn, agent], log });

    assert.equal((await h.call('POST', '/v1/vpns', { body: { id: 'acme', customer: 'acme' } })).status, 201);
    const site = { id: 'acme-pe1', vpn: 'acme', node: 'pe1', interface: 'cust0', vlan: 100, ipv4: { peAddress: '172.16.1.1/30', ceAddress: '172.16.1.2' } };
    assert.equal((await h.call('POST', '/v1/sites', { body: site })).status, 201);
  });
  after(async () => {
    await ops?.close();
    await agent?.stop(1000);
    await bgpB?.stop(1000);
    await bgpA?.stop(1000);
    await h?.stop();
    await labels?.stop(1000);
    await labelsDb?.drop().catch(() => {});
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  test('/healthz answers and /readyz names every check of every service', async () => {
    const health = await get('/healthz');
    assert.equal(health.status, 200);
    const ready = await get('/readyz');
    assert.equal(ready.status, 200, ready.text);
    const body = JSON.parse(ready.text);
    assert.deepEqual(Object.keys(body.checks).sort(), ['agent.driver', 'bgp.bgp-listener', 'labels.database', 'vpn.database', 'vpn.redis']);
    assert.ok(Object.values(body.checks).every((c) => c === 'ok'));
    assert.equal((await get('/nothing')).status, 404);
  });

  test('the site converges and every service tells it in its series', async () => {
    // The agent has applied what the controller wants: lag 0, generations equal.
    const samples = await eventually('pe1 applied and reported', async () => {
      const s = await scrape();
      const lag = find(s, 'l3vpn_vpn_agent_generation_lag', { node: 'pe1' })[0];
      const vrfs = find(s, 'l3vpn_agent_installed_entries', { kind: 'vrf' })[0];
      const established = find(s, 'l3vpn_bgp_peers', { state: 'Established' })[0];
      // The services are scraped one after another: a generation stored in between shows as applied > desired; scrape again.
      const desired = find(s, 'l3vpn_vpn_desired_generation', { node: 'pe1', service: 'vpn' })[0];
      const applied = find(s, 'l3vpn_agent_applied_generation', { service: 'agent' })[0];
      return lag?.value === 0 && desired && applied?.value === desired.value && vrfs?.value === 1 && established?.value === 1 ? s : undefined;
    });
    const metrics = await get('/metrics');
    assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);

    // vpn
    const desired = value(samples, 'l3vpn_vpn_desired_generation', { node: 'pe1', service: 'vpn' });
    assert.ok(desired >= 1);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) assert.ok(value(samples, 'l3vpn_vpn_reconcile_queue_jobs', { state }) >= 0);
    assert.ok(value(samples, 'l3vpn_vpn_reconcile_job_duration_seconds_count', { outcome: 'done' }) >= 1);
    assert.equal(value(samples, 'l3vpn_vpn_http_request_duration_seconds_count', { route: '/v1/sites', method: 'POST', status: '201' }), 1);
    assert.equal(find(samples, 'l3vpn_vpn_reconcile_job_failures_total').reduce((n, s) => n + s.value, 0), 0);
    // agent
    assert.equal(value(samples, 'l3vpn_agent_applied_generation', { service: 'agent' }), desired);
    assert.equal(value(samples, 'l3vpn_agent_controller_connected'), 1);
    assert.ok(value(samples, 'l3vpn_agent_installed_entries', { kind: 'vrf_route' }) >= 1);
    assert.ok(find(samples, 'l3vpn_agent_apply_duration_seconds_count').reduce((n, s) => n + s.value, 0) >= 1);
    assert.equal(value(samples, 'l3vpn_agent_drift_repairs_total'), 0);
    // labels: the site's VRF took a label of pe1's space; free is what is left of it
    const taken = find(samples, 'l3vpn_labels_allocations', { pool_kind: 'label', space: 'pe1' }).reduce((n, s) => n + s.value, 0);
    assert.ok(taken >= 1, 'pe1 holds labels');
    const free = value(samples, 'l3vpn_labels_free', { pool_kind: 'label', space: 'pe1' });
    assert.ok(free > 0 && free <= 1048575 - 16 + 1 - taken, `free ${free}`);
    assert.ok(value(samples, 'l3vpn_labels_allocations', { pool_kind: 'rd', space: '65000', purpose: find(samples, 'l3vpn_labels_allocations', { pool_kind: 'rd' })[0]!.labels.purpose! }) >= 1);
    const allocations = find(samples, 'l3vpn_grpc_server_handling_seconds_count', { service: 'labels', grpc_code: 'OK' }).filter((s) => s.labels.grpc_method!.startsWith('Allocate'));
    assert.ok(allocations.reduce((n, s) => n + s.value, 0) >= 1, 'allocation latency observed');
    // bgp: the session is up, each side sent its End-of-RIB UPDATEs
    assert.equal(value(samples, 'l3vpn_bgp_peer_up', { peer: '127.0.0.2' }), 1);
    assert.equal(find(samples, 'l3vpn_bgp_peers').reduce((n, s) => n + s.value, 0), 1);
    assert.ok(value(samples, 'l3vpn_bgp_updates_total', { peer: '127.0.0.2', direction: 'in' }) >= 1);
    assert.ok(value(samples, 'l3vpn_bgp_updates_total', { peer: '127.0.0.2', direction: 'out' }) >= 1);
    assert.equal(value(samples, 'l3vpn_bgp_peer_prefixes_received', { peer: '127.0.0.2', family: 'vpn-ipv4' }), 0);
    // the process itself, once
    assert.equal(find(samples, 'process_cpu_user_seconds_total').length, 1);
    // no per-prefix or per-request label anywhere
    for (const s of samples) for (const k of Object.keys(s.labels)) assert.ok(!['prefix', 'request_id', 'requestId'].includes(k), `${s.name} has label ${k}`);
  });

  test('/readyz answers 503 naming the dependency that stopped answering', async () => {
    await labelsDb.drop();
    const ready = await get('/readyz');
    assert.equal(ready.status, 503);
    const body = JSON.parse(ready.text);
    assert.deepEqual(body.failing, ['labels.database']);
    assert.equal(body.checks['vpn.database'], 'ok');
  });
});
