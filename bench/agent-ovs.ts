// Forwarding agent + ovs driver against a private Open vSwitch (userspace
// datapath): 100,000 VRF routes across 1,000 VRFs. Prints entries applied
// per second (atomic bundle, and streamed without one), the time of a
// one-route change with 100,000 installed (from the delta in hand to the
// switch's commit reply, and from the controller's write on the gRPC stream),
// the full resync of a restarted agent, and its peak RSS during the resync.
// Run: npx tsc -p tsconfig.json && node --expose-gc dist/bench/agent-ovs.js [vrfs] [routes-per-vrf]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { ChangeKind, type DesiredStateDelta, type NodeDesiredState, type RemotePeNextHop, type VrfRoute } from '../services/common/gen/proto/l3vpn/v1/agent.js';
import { ControllerLink } from '../services/agent/controller-link.js';
import { FakeController } from '../test/agent/fake-controller.js';
import { Agent } from '../services/agent/agent.js';
import { OvsDriver } from '../services/agent/drivers/ovs/driver.js';
import { StateFile } from '../services/agent/state-file.js';
import { syntheticState } from '../services/agent/synthetic-state.js';
import { ovsMissing, PrivateOvs } from '../test/agent/ovs-harness.js';

const RESTART = '--restarted-agent';
const VRFS = Number(process.argv[2] ?? 1000);
const PER_VRF = Number(process.argv[3] ?? 100);
const MiB = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

/**
 * The same one-route change end to end: the controller writes the delta on
 * the WatchDesiredState stream, the agent applies it through the driver
 * (bundle committed in the switch); timed from the write to the agent's
 * 'delta applied' event.
 */
async function overGrpc(driver: OvsDriver, desired: NodeDesiredState, store?: StateFile): Promise<void> {
  const controller = new FakeController('PE1', 'bench-token');
  controller.history.push(desired);
  const port = await controller.start();
  // With a store, as on a node: the agent persists what it applies (debounced, encoded in slices between deltas).
  const agent = new Agent({ node: 'PE1', driver, store });
  let applied: (() => void) | undefined;
  const link = new ControllerLink({
    agent,
    address: `127.0.0.1:${port}`,
    credentials: credentials.createInsecure(),
    token: 'bench-token',
    resyncMs: 3_600_000,
    onEvent: (e) => {
      if (e.type === 'delta' || e.type === 'snapshot') applied?.();
    },
  });
  let ready = new Promise<void>((r) => (applied = r));
  link.start();
  await ready;
  const times: number[] = [];
  let state = desired;
  let current: VrfRoute = desired.vrfRoutes[Math.floor(desired.vrfRoutes.length / 3)]!;
  for (let i = 0; i < 1000; i++) {
    const nh = current.nextHop!.value as RemotePeNextHop;
    const next: VrfRoute = { ...current, nextHop: { $case: 'remote', value: { ...nh, labels: [nh.labels[0]!, 600_000 + i] } } };
    const delta: DesiredStateDelta = {
      node: 'PE1',
      fromGeneration: state.generation,
      generation: state.generation + 1,
      changes: [{ kind: ChangeKind.CHANGE_KIND_MODIFY, entry: { entry: { $case: 'vrfRoute', value: next } }, previous: { entry: { $case: 'vrfRoute', value: current } } }],
      transport: undefined,
      role: 0,
    };
    state = { ...state, generation: delta.generation };
    ready = new Promise<void>((r) => (applied = r));
    const t = performance.now();
    controller.publish(state, delta);
    await ready;
    times.push(performance.now() - t);
    current = next;
  }
  console.log(`one-route change over gRPC (controller write -> flow committed in the switch${store ? ', state file persisted as on a node' : ', no state file'}): median ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms (target < 5 ms)`);
  await link.stop();
  controller.stop();
}

async function main(): Promise<void> {
  const missing = ovsMissing();
  if (missing) {
    console.log(`skipped: ${missing}`);
    return;
  }
  const ovs = await PrivateOvs.start();
  async function install(): Promise<{ target: string; bridge: string; desired: NodeDesiredState }> {
    const state = syntheticState({ vrfs: VRFS, routesPerVrf: PER_VRF });
    const entries = state.vrfs.length + state.vrfRoutes.length + state.lfibEntries.length;
    console.log(`${state.vrfs.length} VRFs, ${state.vrfRoutes.length} routes, ${state.lfibEntries.length} labels: ${entries} entries`);

    for (const atomic of [false, true]) {
      const bridge = atomic ? 'bench-a' : 'bench-s';
      const target = await ovs.addBridge(bridge, [`${bridge}-cust0`, `${bridge}-core0`]);
      const driver = await new OvsDriver({ target, portPrefix: `${bridge}-`, atomic }).connect();
      const agent = new Agent({ node: 'PE1', driver });
      const t0 = performance.now();
      const r = await agent.applySnapshot(state);
      const s = (performance.now() - t0) / 1000;
      const flows = (await driver.dumpFlows()).length;
      console.log(
        `full apply, ${atomic ? 'one atomic bundle' : 'streamed, one barrier'}: ${s.toFixed(2)} s, ${Math.round(entries / s)} entries/s (${r.failures} failures, ${flows} flows)`,
      );
      if (!atomic) {
        await driver.close();
        ovs.deleteBridge(bridge);
        continue;
      }

      // One route changes, again and again, with everything installed.
      const times: number[] = [];
      let generation = agent.generation;
      let current: VrfRoute = state.vrfRoutes[Math.floor(state.vrfRoutes.length / 2)]!;
      for (let i = 0; i < 200; i++) {
        const nh = current.nextHop!.value as RemotePeNextHop;
        const next: VrfRoute = { ...current, nextHop: { $case: 'remote', value: { ...nh, labels: [nh.labels[0]!, 500_000 + i] } } };
        const t = performance.now();
        await agent.applyDelta({
          node: 'PE1',
          fromGeneration: generation,
          generation: generation + 1,
          changes: [{ kind: ChangeKind.CHANGE_KIND_MODIFY, entry: { entry: { $case: 'vrfRoute', value: next } }, previous: { entry: { $case: 'vrfRoute', value: current } } }],
          transport: undefined,
          role: 0,
        });
        times.push(performance.now() - t);
        generation++;
        current = next;
      }
      console.log(`one-route change with ${state.vrfRoutes.length} installed: median ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms (target < 5 ms)`);

      // A reconciliation pass: dump every flow, compare, change nothing.
      const tr = performance.now();
      const pass = await agent.reconcile();
      console.log(`reconciliation pass (read ${flows} flows, diff): ${((performance.now() - tr) / 1000).toFixed(2)} s, ${pass.changes} changes`);
      const desired = agent.desiredState()!;
      await driver.close();
      return { target, bridge, desired };
    }
    throw new Error('unreachable');
  }

  try {
    const { target, bridge, desired } = await install();
    // The restarted agent runs in a fresh process, as on a node: its RSS is its own, not the install's leftovers.
    const dir = mkdtempSync(join(tmpdir(), 'l3vpn-bench-agent-'));
    try {
      await new StateFile(dir).save(desired);
      const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, RESTART, target, bridge, dir], { stdio: 'inherit' });
      if (child.status !== 0) throw new Error(`the restarted agent failed (${child.status ?? child.signal})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(`ovs-vswitchd RSS with ${desired.vrfRoutes.length} routes: ${MiB(ovs.vswitchdRss())}`);
  } finally {
    await ovs.stop();
  }
}

/** The agent restarts on the node: it restores its persisted state and resyncs the switch, then follows the controller. */
async function restart(target: string, bridge: string, stateDir: string): Promise<void> {
  const desired = (await new StateFile(stateDir).load())!;
  const driver = await new OvsDriver({ target, portPrefix: `${bridge}-` }).connect();
  const agent = new Agent({ node: 'PE1', driver });
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const t = performance.now();
  const resync = await agent.applySnapshot(desired);
  const ms = performance.now() - t;
  console.log(`full resync after an agent restart: ${(ms / 1000).toFixed(2)} s, ${resync.changes} changes, ${driver.flowModsSent} flow mods`);
  // maxRSS: the process's high-water mark, in KiB; this process did nothing but load the state and resync.
  console.log(`restarted agent RSS: ${MiB(before)} with the state loaded, peak ${MiB(process.resourceUsage().maxRSS * 1024)} during the resync`);
  await overGrpc(driver, desired);
  await overGrpc(driver, desired, new StateFile(stateDir));
  await driver.close();
}

if (process.argv[2] === RESTART) await restart(process.argv[3]!, process.argv[4]!, process.argv[5]!);
else await main();
