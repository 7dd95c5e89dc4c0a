// The agent against an in-process AgentService over real gRPC: snapshot,
// deltas, the controller going away (headless forwarding), the agent
// restarted while it is away (restore from the state file), the controller
// coming back (only the difference applied), drift repaired periodically,
// heartbeats, and a wrong credential refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { ChangeKind, DriftKind, type NodeDesiredState } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { computeDesiredStates } from '../../services/common/desired-state/index.js';
import { fixtureInput } from '../../services/common/desired-state/fixture.js';
import { simulateSelectedRoutes } from '../support/simulated-routes.js';
import type { DesiredStateInput } from '../../services/common/desired-state/types.js';
import { Agent } from '../../services/agent/agent.js';
import { ControllerLink, type LinkEvent } from '../../services/agent/controller-link.js';
import { SoftDriver } from '../../services/agent/drivers/soft.js';
import { StateFile } from '../../services/agent/state-file.js';
import { FakeController } from './fake-controller.js';
import { eventually } from '../support/eventually.js';

const TOKEN = 'node-credential-of-PE1-0123456789abcdef';

function pe1(input: DesiredStateInput, generation: number): NodeDesiredState {
  return computeDesiredStates(input, simulateSelectedRoutes(input), { generation }).get('PE1')!.state;
}

/** The fixture plus one static prefix at red's PE2 site. */
function withExtraPrefix(prefix: string): DesiredStateInput {
  const base = fixtureInput();
  return {
    ...base,
    vpns: base.vpns.map((v) =>
      v.id !== 'red' ? v : { ...v, sites: v.sites.map((s) => (s.id === 'red-b' ? { ...s, staticPrefixes: [...(s.staticPrefixes ?? []), prefix] } : s)) },
    ),
  };
}

function startAgent(dir: string, port: number, events: LinkEvent[], options: { token?: string; resyncMs?: number; heartbeatMs?: number } = {}) {
  const driver = new SoftDriver();
  const agent = new Agent({ node: 'PE1', driver, store: new StateFile(dir), persistDelayMs: 1 });
  const link = new ControllerLink({
    agent,
    address: `127.0.0.1:${port}`,
    credentials: credentials.createInsecure(),
    token: options.token ?? TOKEN,
    resyncMs: options.resyncMs ?? 60_000,
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    backoff: { initialMs: 20, maxMs: 100 },
    onEvent: (e) => events.push(e),
  });
  return { driver, agent, link };
}

const red = (driver: SoftDriver, destination: string) => driver.forward({ interface: 'cust0', vlan: 100, destination });

test('agent over gRPC: snapshot, deltas, controller gone (headless), restart from file, controller back with only the diff', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'agent-link-'));
  const controller = new FakeController('PE1', TOKEN);
  try {
    controller.publish(pe1(fixtureInput(), 1));
    const port = await controller.start();
    const events: LinkEvent[] = [];
    const a = startAgent(dir, port, events);
    a.link.start();

    await eventually('generation 1 reported', () => controller.reports.some((r) => r.appliedGeneration === 1));
    assert.equal(events[0]?.type, 'snapshot');
    assert.equal(red(a.driver, '10.2.0.1').action, 'forward');
    assert.equal(red(a.driver, '10.99.0.1').action, 'drop');
    assert.deepEqual(controller.watchRequests[0], { node: 'PE1', appliedGeneration: 0 });

    // A delta: one more prefix behind PE2 in red.
    controller.publish(pe1(withExtraPrefix('10.99.0.0/16'), 2));
    await eventually('generation 2 reported', () => controller.reports.some((r) => r.appliedGeneration === 2));
    assert.ok(events.some((e) => e.type === 'delta' && e.generation === 2 && e.outcome === 'applied'));
    assert.deepEqual(red(a.driver, '10.99.0.1'), { action: 'forward', interface: 'core0', vlan: 0, nextHop: '10.0.0.1', labels: [16002, 200], vrf: 'red' });
    const last = controller.reports.at(-1)!;
    assert.deepEqual([last.driver, last.failures.length, last.installedVrfs], ['soft', 0, 2]);

    // The controller goes away: the node keeps forwarding.
    controller.stop();
    await eventually('stream lost', () => events.some((e) => e.type === 'lost'));
    assert.equal(red(a.driver, '10.99.0.1').action, 'forward');

    // The agent restarts while the controller is down: it restores generation 2 from its file.
    await a.link.stop();
    await a.agent.flush();
    const events2: LinkEvent[] = [];
    const b = startAgent(dir, port, events2);
    assert.equal(await b.agent.start(), 'restored');
    b.link.start();
    assert.equal(b.agent.generation, 2);
    assert.equal(red(b.driver, '10.99.0.1').action, 'forward');
    await eventually('reconnect attempts fail', () => events2.filter((e) => e.type === 'lost').length >= 2);
    const restored = b.driver.changesApplied;

    // The controller comes back with generation 3 (10.99/16 withdrawn, 10.98/16 added):
    // the agent asks from generation 2 and applies only the difference.
    controller.publish(pe1(withExtraPrefix('10.98.0.0/16'), 3));
    await controller.start(port);
    await eventually('generation 3 reported', () => controller.reports.some((r) => r.appliedGeneration === 3));
    assert.deepEqual(controller.watchRequests.at(-1), { node: 'PE1', appliedGeneration: 2 });
    assert.equal(b.driver.changesApplied - restored, 2);
    assert.equal(red(b.driver, '10.99.0.1').action, 'drop');
    assert.equal(red(b.driver, '10.98.0.1').action, 'forward');
    await b.link.stop();
    await b.agent.flush(); // as the agent's main does on shutdown: no state-file write left running
  } finally {
    controller.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('agent over gRPC: periodic reconciliation restores an entry deleted by hand and reports the drift', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'agent-link-'));
  const controller = new FakeController('PE1', TOKEN);
  try {
    const state = pe1(fixtureInput(), 1);
    controller.publish(state);
    const port = await controller.start();
    const events: LinkEvent[] = [];
    const a = startAgent(dir, port, events, { resyncMs: 50 });
    a.link.start();
    await eventually('generation 1 reported', () => controller.reports.some((r) => r.appliedGeneration === 1));
    const victim = state.vrfRoutes.find((r) => r.vrf === 'red' && r.prefix === '10.2.0.0/16')!;
    await a.driver.apply([{ kind: ChangeKind.CHANGE_KIND_DELETE, entry: undefined, previous: { entry: { $case: 'vrfRoute', value: victim } } }]);
    assert.equal(red(a.driver, '10.2.0.1').action, 'drop');
    await eventually('drift reported', () => controller.reports.some((r) => r.drift.length > 0));
    const drift = controller.reports.find((r) => r.drift.length > 0)!.drift;
    assert.deepEqual(drift.map((d) => [d.key?.key, d.kind, d.repaired]), [[{ $case: 'vrfRoute', value: { vrf: 'red', prefix: '10.2.0.0/16' } }, DriftKind.DRIFT_KIND_MISSING, true]]);
    assert.equal(red(a.driver, '10.2.0.1').action, 'forward');
    await a.link.stop();
    await a.agent.flush();
  } finally {
    controller.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('agent over gRPC: a wrong credential is refused and nothing is installed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'agent-link-'));
  const controller = new FakeController('PE1', TOKEN);
  try {
    controller.publish(pe1(fixtureInput(), 1));
    const port = await controller.start();
    const events: LinkEvent[] = [];
    const a = startAgent(dir, port, events, { token: 'someone-else' });
    a.link.start();
    await eventually('refused', () => events.some((e) => e.type === 'lost'));
    const lost = events.find((e) => e.type === 'lost');
    assert.equal(lost?.type === 'lost' && lost.code, status.UNAUTHENTICATED);
    assert.equal(a.agent.hasState, false);
    assert.equal((await a.driver.read()).vrfs.length, 0);
    await a.link.stop();
    await a.agent.flush();
  } finally {
    controller.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('agent over gRPC: heartbeats repeat the complete status with heartbeat=true, also before any desired state and with no change', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'agent-link-'));
  const controller = new FakeController('PE1', TOKEN);
  try {
    const port = await controller.start();
    const events: LinkEvent[] = [];
    const a = startAgent(dir, port, events, { heartbeatMs: 30 });
    a.link.start();
    // Nothing published yet: the agent still says it is alive.
    await eventually('a heartbeat without a desired state', () => controller.reports.some((r) => r.heartbeat && r.appliedGeneration === 0), 5000);
    controller.publish(pe1(fixtureInput(), 1));
    await eventually('generation 1 reported', () => controller.reports.some((r) => r.appliedGeneration === 1), 5000);
    const after = controller.reports.length;
    await eventually('three more heartbeats', () => controller.reports.slice(after).filter((r) => r.heartbeat).length >= 3, 5000);
    for (const r of controller.reports.slice(after).filter((x) => x.heartbeat)) {
      assert.equal(r.appliedGeneration, 1);
      assert.equal(r.node, 'PE1');
      assert.equal(r.installedVrfs, a.agent.report().installedVrfs);
    }
    assert.ok(a.agent.report().installedVrfs > 0);
    await a.link.stop();
    await a.agent.flush();
  } finally {
    controller.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
