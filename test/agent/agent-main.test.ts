// `l3vpn agent` as deployed: settings, credential file, ovs driver on a
// private Open vSwitch, an in-process controller. A flow deleted by hand
// comes back on the periodic pass; the controller dies and the flows stay;
// the agent restarts while it is away and keeps the flows as they are; the
// controller returns with a new generation and the agent applies it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../../services/common/config.js';
import { createLogger } from '../../services/common/logger.js';
import { computeDesiredStates } from '../../services/common/desired-state/index.js';
import { fixtureInput } from '../../services/common/desired-state/fixture.js';
import { simulateSelectedRoutes } from '../support/simulated-routes.js';
import type { DesiredStateInput } from '../../services/common/desired-state/types.js';
import { agentSettings, startAgent } from '../../services/agent/main.js';
import type { RunningService } from '../../services/common/service.js';
import { FakeController } from './fake-controller.js';
import { ovsMissing, PrivateOvs } from './ovs-harness.js';
import { eventually } from '../support/eventually.js';
import { skipOrFail } from '../support/tools.js';

const skip = skipOrFail(ovsMissing());
let ovs: PrivateOvs | undefined;
before(async () => {
  if (!skip) ovs = await PrivateOvs.start();
});
after(async () => {
  await ovs?.stop();
});

const TOKEN = 'l3vpn_agent-PE1-credential-0123456789abcdef';

function pe1(input: DesiredStateInput, generation: number) {
  return computeDesiredStates(input, simulateSelectedRoutes(input), { generation }).get('PE1')!.state;
}

/** A series of the agent's own metrics, as its /metrics shows it (0 when absent). */
async function series(agent: RunningService, name: string, labels: Record<string, string> = {}): Promise<number> {
  for (const m of await agent.metrics!.getMetricsAsJSON()) {
    for (const v of m.values as Array<{ metricName?: string; labels: Record<string, unknown>; value: number }>) {
      if ((v.metricName ?? m.name) === name && Object.entries(labels).every(([k, x]) => v.labels[k] === x)) return v.value;
    }
  }
  return 0;
}
const passes = (agent: RunningService) => series(agent, 'l3vpn_agent_apply_duration_seconds_count', { kind: 'reconcile' });

test('l3vpn agent (ovs driver): drift repaired, headless through a controller outage and an agent restart', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'agent-main-'));
  const controller = new FakeController('PE1', TOKEN);
  try {
    const target = await ovs!.addBridge('pe1m', ['pe1m-cust0', 'pe1m-core0']);
    await writeFile(join(dir, 'credential'), `${TOKEN}\n`);
    controller.publish(pe1(fixtureInput(), 1));
    const port = await controller.start();
    const settings = loadSettings(agentSettings, {
      env: {
        AGENT_NODE: 'PE1',
        AGENT_CONTROLLER: `127.0.0.1:${port}`,
        AGENT_CREDENTIAL_FILE: join(dir, 'credential'),
        AGENT_DRIVER: 'ovs',
        AGENT_OVS_TARGET: target,
        AGENT_OVS_PORT_PREFIX: 'pe1m-',
        AGENT_STATE_DIR: join(dir, 'state'),
        AGENT_RESYNC_SECONDS: '1',
        AGENT_RECONNECT_MAX_SECONDS: '1',
      },
    });
    const log = createLogger('agent', 'silent');
    let agent = await startAgent(settings, log);
    await eventually('generation 1 reported', () => controller.reports.some((r) => r.appliedGeneration === 1));
    const installed = ovs!.dumpFlows('pe1m').sort();
    // 2 CE attachments, 4 ARP flows (2 IPv4 addresses), 4 ND flows (1 IPv6 address), 11 of the 12 routes (blue's connected
    // IPv6 subnet is refused: only blue's per-VRF label would deliver it, ovs driver), 8 labels, the MPLS dispatch,
    // 3 guards against routing link-scope IPv6, ARP and BFD of the core address
    assert.equal(installed.length, 35);

    // A flow deleted by hand comes back on the next periodic pass, and is reported as drift.
    ovs!.ofctl('--strict', 'del-flows', 'pe1m', 'table=2,priority=1016,ip,metadata=0x3e9,nw_dst=10.2.0.0/16');
    await eventually('flow restored', () => ovs!.dumpFlows('pe1m').length === installed.length);
    await eventually('drift reported', () => controller.reports.some((r) => r.drift.length === 1));
    assert.deepEqual(ovs!.dumpFlows('pe1m').sort(), installed);

    // The controller dies: flows stay. The agent restarts while it is away: flows stay as they are.
    controller.stop();
    await eventually('the agent to see the controller gone', async () => (await series(agent, 'l3vpn_agent_controller_connected')) === 0);
    const seen = await passes(agent);
    await eventually('a periodic pass without the controller', async () => (await passes(agent)) > seen);
    assert.deepEqual(ovs!.dumpFlows('pe1m').sort(), installed);
    await agent.stop(1000);
    agent = await startAgent(settings, log);
    await eventually('a periodic pass of the restarted agent, headless', async () => (await passes(agent)) > 0);
    assert.deepEqual(ovs!.dumpFlows('pe1m').sort(), installed);

    // The controller returns with generation 2: one more prefix behind PE2 in red.
    const base = fixtureInput();
    const more: DesiredStateInput = {
      ...base,
      vpns: base.vpns.map((v) => (v.id !== 'red' ? v : { ...v, sites: v.sites.map((s) => (s.id === 'red-b' ? { ...s, staticPrefixes: ['10.2.0.0/16', '10.99.0.0/16'] } : s)) })),
    };
    controller.publish(pe1(more, 2));
    await controller.start(port);
    await eventually('generation 2 reported', () => controller.reports.some((r) => r.appliedGeneration === 2));
    assert.deepEqual(controller.watchRequests.at(-1), { node: 'PE1', appliedGeneration: 1 });
    const now = ovs!.dumpFlows('pe1m');
    assert.equal(now.length, installed.length + 1);
    assert.ok(now.some((f) => f.includes('nw_dst=10.99.0.0/16')));
    await agent.stop(1000);
  } finally {
    controller.stop();
    ovs?.deleteBridge('pe1m');
    await rm(dir, { recursive: true, force: true });
  }
});
