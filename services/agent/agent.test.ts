import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeKind,
  DriftKind,
  type DesiredStateChange,
  type NodeDesiredState,
  type TransportPath,
  type VrfRoute,
  LookupFamily,
} from '../common/gen/proto/l3vpn/v1/agent.js';
import { computeDesiredStates, danglingReferences, diffDesiredState, stateTables, vrfRouteKey } from '../common/desired-state/index.js';
import { fixtureInput } from '../common/desired-state/fixture.js';
import { simulateSelectedRoutes } from '../../test/support/simulated-routes.js';
import type { DesiredStateInput } from '../common/desired-state/types.js';
import { Agent } from './agent.js';
import type { ChangeFailure, Driver, InstalledState } from './driver.js';
import { SoftDriver } from './drivers/soft.js';
import { MemoryStateStore, StateFile } from './state-file.js';
import { oneRouteDelta, syntheticPrefix, syntheticState, syntheticVrfName } from './synthetic-state.js';

const clock = { now: () => new Date('2026-01-01T00:00:00Z') };

function statesOf(input: DesiredStateInput, generation: number): Map<string, NodeDesiredState> {
  const out = new Map<string, NodeDesiredState>();
  for (const [node, { state }] of computeDesiredStates(input, simulateSelectedRoutes(input), { generation })) out.set(node, state);
  return out;
}

const pe1 = (generation = 1) => statesOf(fixtureInput(), generation).get('PE1')!;

/** The fixture with blue gone from PE1 and a new VPN "green" between PE1 and PE2. */
function changedInput(): DesiredStateInput {
  const base = fixtureInput();
  const vpns = base.vpns.map((v) => (v.id === 'blue' ? { ...v, vrfs: v.vrfs.filter((x) => x.pe !== 'PE1'), sites: v.sites.filter((s) => s.pe !== 'PE1') } : v));
  vpns.push({
    id: 'green',
    labelMode: 'per-vrf',
    vrfs: [
      { pe: 'PE1', name: 'green', tableId: 1003, rd: '65000:21', importRouteTargets: ['65000:300'], exportRouteTargets: ['65000:300'], vrfLabel: 120 },
      { pe: 'PE2', name: 'green', tableId: 1003, rd: '65000:22', importRouteTargets: ['65000:300'], exportRouteTargets: ['65000:300'], vrfLabel: 220 },
    ],
    sites: [
      { id: 'green-a', pe: 'PE1', interface: 'cust0', vlan: 300, peAddress: '192.168.1.1/30', ceAddress: '192.168.1.2', staticPrefixes: ['10.1.0.0/16'] },
      { id: 'green-b', pe: 'PE2', interface: 'cust0', vlan: 300, peAddress: '192.168.2.1/30', ceAddress: '192.168.2.2', staticPrefixes: ['10.2.0.0/16'] },
    ],
  });
  return { ...base, vpns };
}

function routeChange(kind: ChangeKind, r: VrfRoute): DesiredStateChange {
  const e = { entry: { $case: 'vrfRoute' as const, value: r } };
  return kind === ChangeKind.CHANGE_KIND_DELETE ? { kind, entry: undefined, previous: e } : { kind, entry: e, previous: undefined };
}

test('agent: a snapshot installs everything; a one-route delta among 100,000 touches one entry', async () => {
  const driver = new SoftDriver();
  const agent = new Agent({ node: 'PE1', driver, clock });
  const s1 = syntheticState({ vrfs: 1000, routesPerVrf: 100 });
  const r1 = await agent.applySnapshot(s1);
  assert.equal(r1.changes, 1000 + 100_000 + 1000);
  assert.equal(driver.changesApplied, 1000 + 100_000 + 1000);
  const old = s1.vrfRoutes[54_321]!;
  const moved: VrfRoute = { ...old, nextHop: { $case: 'local', value: { interface: 'cust0', vlan: (Math.floor(54_321 / 100) % 4094) + 1, address: '192.168.0.2' } }, source: 2 };
  const before = driver.changesApplied;
  // One entry touched; how fast that is, bench/agent-soft.ts measures.
  const outcome = await agent.applyDelta(oneRouteDelta('PE1', 1, old, moved));
  assert.equal(outcome, 'applied');
  assert.equal(driver.changesApplied - before, 1);
  assert.equal(agent.generation, 2);
  const f = driver.forward({ interface: 'cust0', vlan: moved.nextHop!.$case === 'local' ? moved.nextHop!.value.vlan : 0, destination: syntheticPrefix(21).replace('.0/24', '.9') });
  assert.equal(f.action === 'forward' && f.interface, 'cust0');
  const report = agent.report();
  assert.deepEqual([report.appliedGeneration, report.installedVrfs, report.installedVrfRoutes, report.installedLfibEntries, report.failures.length], [2, 1000, 100_000, 1000, 0]);
  // A snapshot equal to what is held and installed changes nothing (no traffic gap).
  const again = await agent.applySnapshot({ ...agent.desiredState()!, generation: 3 });
  assert.equal(again.changes, 0);
});

test('agent: every step of a delta leaves no dangling reference in the data plane', async () => {
  // A driver that also holds transport paths, and checks the installed state after each change.
  class CheckingDriver implements Driver {
    readonly name = 'checking';
    readonly programsTransportPaths = true;
    readonly soft = new SoftDriver();
    readonly paths = new Map<string, TransportPath>();
    steps = 0;
    async read(): Promise<InstalledState> {
      return { ...(await this.soft.read()), transportPaths: [...this.paths.values()] };
    }
    portStates(names: readonly string[]) {
      return this.soft.portStates(names);
    }
    onPortChange(): void {}
    readonly signalsPortChanges = true;
    async apply(changes: readonly DesiredStateChange[]): Promise<ChangeFailure[]> {
      for (const [index, c] of changes.entries()) {
        const e = (c.kind === ChangeKind.CHANGE_KIND_DELETE ? c.previous : c.entry)!.entry!;
        if (e.$case === 'transportPath') {
          if (c.kind === ChangeKind.CHANGE_KIND_DELETE) this.paths.delete(e.value.remoteNode);
          else this.paths.set(e.value.remoteNode, e.value);
        } else {
          const failed = await this.soft.apply([c]);
          if (failed.length) return [{ index, reason: failed[0]!.reason }];
        }
        const installed = await this.read();
        const dangling = danglingReferences(stateTables({ ...pe1(), ...installed }));
        assert.deepEqual(dangling, [], `after step ${index}: ${JSON.stringify(c)}`);
        this.steps++;
      }
      return [];
    }
    async close(): Promise<void> {}
  }
  const driver = new CheckingDriver();
  const agent = new Agent({ node: 'PE1', driver, clock });
  await agent.applySnapshot(pe1(1));
  const next = statesOf(changedInput(), 2).get('PE1')!;
  const delta = diffDesiredState(pe1(1), next);
  assert.ok(delta.changes.length > 10);
  assert.equal(await agent.applyDelta(delta), 'applied');
  assert.equal(driver.steps, (await agent.reconcile()).changes + pe1(1).vrfs.length + pe1(1).vrfRoutes.length + pe1(1).lfibEntries.length + pe1(1).transportPaths.length + delta.changes.length);
  const installed = await driver.read();
  assert.deepEqual(installed.vrfs.map((v) => v.name).sort(), ['green', 'red']);
});

test('agent: reconciliation repairs entries deleted, changed or added by hand, and reports the drift', async () => {
  const driver = new SoftDriver();
  const agent = new Agent({ node: 'PE1', driver, clock });
  const state = pe1();
  await agent.applySnapshot(state);
  const victim = state.vrfRoutes.find((r) => r.vrf === 'red' && r.prefix === '10.2.0.0/16')!;
  const stray: VrfRoute = { ...victim, prefix: '172.16.0.0/12' };
  const label = state.lfibEntries.find((e) => e.inLabel === 100)!;
  // By hand: delete a route, add one, repoint the per-VRF label at blue.
  await driver.apply([
    routeChange(ChangeKind.CHANGE_KIND_DELETE, victim),
    routeChange(ChangeKind.CHANGE_KIND_ADD, stray),
    { kind: ChangeKind.CHANGE_KIND_MODIFY, entry: { entry: { $case: 'lfibEntry', value: { ...label, action: { $case: 'popAndLookup', value: { vrf: 'blue', family: LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } } } } }, previous: undefined },
  ]);
  const probe = () => driver.forward({ interface: 'cust0', vlan: 100, destination: '10.2.0.1' });
  assert.equal(probe().action, 'drop');
  const r = await agent.reconcile('periodic');
  assert.deepEqual(probe(), { action: 'forward', interface: 'core0', vlan: 0, nextHop: '10.0.0.1', labels: [16002, 200], vrf: 'red' });
  assert.equal(r.changes, 3);
  const kinds = r.drift.map((d) => [JSON.stringify(d.key?.key), d.kind, d.repaired]);
  assert.deepEqual(kinds.sort(), [
    [JSON.stringify({ $case: 'inLabel', value: 100 }), DriftKind.DRIFT_KIND_MODIFIED, true],
    [JSON.stringify({ $case: 'vrfRoute', value: { vrf: 'red', prefix: '10.2.0.0/16' } }), DriftKind.DRIFT_KIND_MISSING, true],
    [JSON.stringify({ $case: 'vrfRoute', value: { vrf: 'red', prefix: '172.16.0.0/12' } }), DriftKind.DRIFT_KIND_UNEXPECTED, true],
  ].sort());
  const installed = stateTables({ ...state, ...(await driver.read()) });
  assert.deepEqual([...installed.routes.keys()].sort(), state.vrfRoutes.map(vrfRouteKey).sort());
  assert.deepEqual(installed.lfib.get(100), label);
  // Drift is reported once.
  const report = agent.report();
  assert.equal(report.drift.length, 3);
  agent.reportSent(report);
  assert.equal(agent.report().drift.length, 0);
  assert.equal((await agent.reconcile()).changes, 0);
});

test('agent: a delta from another generation is refused untouched', async () => {
  const driver = new SoftDriver();
  const agent = new Agent({ node: 'PE1', driver, clock });
  const delta = diffDesiredState(pe1(1), statesOf(changedInput(), 2).get('PE1')!);
  assert.equal(await agent.applyDelta(delta), 'out-of-sequence'); // no state yet
  await agent.applySnapshot(pe1(5));
  const applied = driver.changesApplied;
  assert.equal(await agent.applyDelta(delta), 'out-of-sequence'); // from 1, holds 5
  // A delta that does not fit the state held (ADD of an existing key).
  const bad = { ...delta, fromGeneration: 5, changes: [routeChange(ChangeKind.CHANGE_KIND_ADD, pe1().vrfRoutes[0]!)] };
  assert.equal(await agent.applyDelta(bad), 'out-of-sequence');
  assert.equal(driver.changesApplied, applied);
  assert.equal(agent.generation, 5);
});

test('agent: entries the driver refuses are failures with its reason, retried by reconciliation, not drift', async () => {
  let broken = true;
  const driver = new SoftDriver({
    refuse: (c) => (broken && c.entry?.entry?.$case === 'vrfRoute' && c.entry.entry.value.prefix === '10.3.0.0/16' ? 'table full' : undefined),
  });
  const agent = new Agent({ node: 'PE1', driver, clock });
  await agent.applySnapshot(pe1(4));
  const report = agent.report();
  assert.equal(report.failures.length, 1);
  assert.deepEqual(report.failures[0], {
    key: { key: { $case: 'vrfRoute', value: { vrf: 'red', prefix: '10.3.0.0/16' } } },
    kind: ChangeKind.CHANGE_KIND_ADD,
    reason: 'table full',
    generation: 4,
  });
  assert.equal(report.installedVrfRoutes, pe1().vrfRoutes.length - 1);
  // Still broken: a failure again, and not drift.
  const r1 = await agent.reconcile();
  assert.deepEqual([r1.failures, r1.drift.length], [1, 0]);
  broken = false;
  const r2 = await agent.reconcile();
  assert.deepEqual([r2.changes, r2.failures, r2.drift.length], [1, 0, 0]);
  assert.equal(agent.report().failures.length, 0);
});

test('agent: restarted without its controller, it restores the persisted state (atomic file) and a later snapshot changes nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'agent-state-'));
  try {
    const first = new Agent({ node: 'PE1', driver: new SoftDriver(), store: new StateFile(dir), clock, persistDelayMs: 1 });
    assert.equal(await first.start(), 'empty');
    await first.applySnapshot(pe1(1));
    const next = statesOf(changedInput(), 2).get('PE1')!;
    assert.equal(await first.applyDelta(diffDesiredState(pe1(1), next)), 'applied');
    await first.flush();
    assert.deepEqual(await readdir(dir), ['desired-state.pb']); // no temp file left behind

    // A new process: empty data plane, controller unreachable.
    const driver = new SoftDriver();
    const second = new Agent({ node: 'PE1', driver, store: new StateFile(dir), clock });
    assert.equal(await second.start(), 'restored');
    assert.equal(second.generation, 2);
    const f = driver.forward({ interface: 'cust0', vlan: 300, destination: '10.2.0.1' });
    assert.deepEqual(f.action === 'forward' && [f.interface, f.labels], ['core0', [16002, 220]]);
    // The controller comes back with the same state: nothing to do.
    const applied = driver.changesApplied;
    assert.equal((await second.applySnapshot({ ...next })).changes, 0);
    assert.equal(driver.changesApplied, applied);
    // Another node's file is not used.
    const other = new Agent({ node: 'PE2', driver: new SoftDriver(), store: new StateFile(dir), clock });
    assert.equal(await other.start(), 'empty');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('agent: persistence coalesces bursts of deltas off the apply path', async () => {
  const store = new MemoryStateStore();
  const agent = new Agent({ node: 'PE1', driver: new SoftDriver(), store, clock, persistDelayMs: 20 });
  const s = syntheticState({ vrfs: 2, routesPerVrf: 10 });
  await agent.applySnapshot(s);
  let state = agent.desiredState()!;
  for (let g = 2; g <= 50; g++) {
    const victim = s.vrfRoutes[g % 20]!;
    const present = state.vrfRoutes.some((r) => r.vrf === victim.vrf && r.prefix === victim.prefix);
    const change = routeChange(present ? ChangeKind.CHANGE_KIND_DELETE : ChangeKind.CHANGE_KIND_ADD, victim);
    assert.equal(await agent.applyDelta({ node: 'PE1', fromGeneration: g - 1, generation: g, changes: [change], transport: undefined, role: 0 }), 'applied');
    state = agent.desiredState()!;
  }
  await agent.flush();
  assert.ok(store.saves <= 3, `${store.saves} saves`);
  assert.equal(store.state?.generation, 50);
  assert.equal(store.state?.vrfRoutes.length, state.vrfRoutes.length);
  assert.equal(syntheticVrfName(1), 'vrf00001');
});
