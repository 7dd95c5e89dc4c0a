import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryFailure, ReportStatusRequest } from '../../common/gen/proto/l3vpn/v1/agent.js';
import type { AgentPresence } from '../links/oper-state.js';
import type { AgentStatusRecord, AgentStatusStore } from '../store/agent-status-store.js';
import type { DesiredStateStore } from './desired-state-store.js';
import { AgentReports } from './agent-reports.js';

/** agent_status and agent_watch in memory; reports go through JSON, as the jsonb columns keep them. */
function memoryStatuses() {
  const reports = new Map<string, AgentStatusRecord>();
  const watches = new Map<string, AgentPresence>();
  const store: AgentStatusStore = {
    status: async (node) => reports.get(node),
    put: async (r) => {
      const previous = reports.get(r.node);
      const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
      reports.set(r.node, { ...r, failures: json(r.failures), drift: json(r.drift), installed: json(r.installed), ports: json(r.ports) });
      return previous;
    },
    watch: async (node) => watches.get(node),
    putWatch: async (node, w) => void watches.set(node, { ...w }),
    endWatch: async (node, startedAt, at) => {
      const w = watches.get(node);
      if (w && w.startedAt.getTime() === startedAt.getTime() && !w.endedAt) w.endedAt = at;
    },
    watches: async (nodes) => new Map(nodes.flatMap((n) => (watches.has(n) ? [[n, watches.get(n)!] as const] : []))),
    sightings: async () => assert.fail('the reports do not sweep'),
  };
  return { store, reports, watches };
}

const TIMEOUT = 15_000;
/** A desired-state store the report rules never reach in these tests. */
const noDesired = {} as DesiredStateStore;

function setup() {
  const clock = { now: 1_700_000_000_000 };
  const m = memoryStatuses();
  return { ...m, clock, reports: new AgentReports(m.store, noDesired, TIMEOUT, () => new Date(clock.now)) };
}

const report = (r: Partial<ReportStatusRequest> = {}) => ReportStatusRequest.fromPartial({ node: 'pe1', appliedGeneration: 3, driver: 'soft', ...r });

test('agent reports: the first report matters; a heartbeat repeating it does not', async () => {
  const { reports, clock } = setup();
  assert.equal(await reports.record(report()), true);
  clock.now += 5000;
  assert.equal(await reports.record(report({ heartbeat: true })), false);
  assert.equal((await reports.report('pe1'))?.lastSeenAt.getTime(), clock.now, 'a heartbeat is a sighting');
});

test('agent reports: another applied generation, a failure, a port down or up again matter', async () => {
  const { reports } = setup();
  await reports.record(report());
  assert.equal(await reports.record(report({ appliedGeneration: 4 })), true);
  const failure = EntryFailure.fromPartial({ key: { key: { $case: 'vrf', value: 'red' } }, reason: 'no port eth9 on the bridge', generation: 4 });
  assert.equal(await reports.record(report({ appliedGeneration: 4, failures: [failure] })), true);
  assert.deepEqual((await reports.report('pe1'))?.failures, [{ key: 'vrf:red', reason: 'no port eth9 on the bridge' }], 'the stored failure reads back with its entry key');
  assert.equal(await reports.record(report({ appliedGeneration: 4, failures: [failure] })), false, 'the same failure again');
  const down = { interface: 'eth1', up: false, reason: 'link down' };
  assert.equal(await reports.record(report({ appliedGeneration: 4, failures: [failure], ports: [down] })), true);
  assert.equal(await reports.record(report({ appliedGeneration: 4, failures: [failure], ports: [down] })), false);
  assert.equal(await reports.record(report({ appliedGeneration: 4, failures: [failure], ports: [{ ...down, up: true, reason: '' }] })), true);
});

test('agent reports: a report ending a silence longer than the agent timeout matters', async () => {
  const { reports, clock } = setup();
  await reports.record(report());
  clock.now += TIMEOUT;
  assert.equal(await reports.record(report()), false, 'silent for the timeout, not longer');
  clock.now += TIMEOUT + 1;
  assert.equal(await reports.record(report()), true);
});

test("agent reports: a watch stream's start remembers when the one before it ended; only the stream named by its start is ended", async () => {
  const { reports, clock, watches } = setup();
  const first = await reports.watchStarted('pe1');
  assert.deepEqual(watches.get('pe1'), { startedAt: first, endedAt: null, previousEndedAt: null });
  clock.now += 1000;
  await reports.watchEnded('pe1', first);
  const ended = new Date(clock.now);
  clock.now += 1000;
  const second = await reports.watchStarted('pe1');
  assert.deepEqual(watches.get('pe1'), { startedAt: second, endedAt: null, previousEndedAt: ended });
  await reports.watchEnded('pe1', first);
  assert.equal(watches.get('pe1')?.endedAt, null, 'the old stream ending late leaves the new one open');
  assert.deepEqual([...(await reports.watches(['pe1', 'pe2'])).keys()], ['pe1']);
});
