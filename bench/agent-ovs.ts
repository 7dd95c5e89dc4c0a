// Forwarding agent + ovs driver against a private Open vSwitch (userspace
// datapath): 100,000 VRF routes across 1,000 VRFs. Prints entries applied
// per second (atomic bundle, and streamed without one), the time of a
// one-route change with 100,000 installed (from the delta in hand to the
// switch's commit reply), the full resync of a restarted agent, and memory.
// Run: npx tsx bench/agent-ovs.ts [vrfs] [routes-per-vrf]
import { credentials } from '@grpc/grpc-js';
import { ChangeKind, type DesiredStateDelta, type NodeDesiredState, type RemotePeNextHop, type VrfRoute } from '../services/common/gen/proto/l3vpn/v1/agent.js';
import { ControllerLink } from '../services/agent/controller-link.js';
import { FakeController } from '../test/agent/fake-controller.js';
import { Agent } from '../services/agent/agent.js';
import { OvsDriver } from '../services/agent/drivers/ovs/driver.js';
import { syntheticState } from '../services/agent/synthetic-state.js';
import { ovsMissing, PrivateOvs } from '../test/agent/ovs-harness.js';

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
async function overGrpc(driver: OvsDriver, desired: NodeDesiredState): Promise<void> {
  const controller = new FakeController('PE1', 'bench-token');
  controller.history.push(desired);
  const port = await controller.start();
  const agent = new Agent({ node: 'PE1', driver });
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
  for (let i = 0; i < 100; i++) {
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
  console.log(`one-route change over gRPC (controller write -> flow committed in the switch): median ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms (target < 5 ms)`);
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

  async function restart(target: string, bridge: string, desired: NodeDesiredState): Promise<void> {
    // The agent restarts: a new connection, the same desired state; nothing to change.
    const driver2 = await new OvsDriver({ target, portPrefix: `${bridge}-` }).connect();
    const agent2 = new Agent({ node: 'PE1', driver: driver2 });
    const t2 = performance.now();
    const resync = await agent2.applySnapshot(desired);
    console.log(`full resync after an agent restart: ${((performance.now() - t2) / 1000).toFixed(2)} s, ${resync.changes} changes, ${driver2.flowModsSent} flow mods`);
    globalThis.gc?.();
    console.log(`memory after the resync (the restarted agent only): RSS ${MiB(process.memoryUsage().rss)}, heap ${MiB(process.memoryUsage().heapUsed)}; ovs-vswitchd RSS ${MiB(ovs.vswitchdRss())}`);
    await overGrpc(driver2, desired);
    await driver2.close();
  }

  try {
    const { target, bridge, desired } = await install();
    globalThis.gc?.();
    await restart(target, bridge, desired);
  } finally {
    await ovs.stop();
  }
}

await main();
