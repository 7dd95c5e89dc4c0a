// Forwarding agent + soft driver (in memory): 100,000 VRF routes across
// 1,000 VRFs. Prints entries applied per second through the agent, a
// one-route change with 100,000 installed, a reconciliation pass, the
// restore from the state file after a restart, and the agent's memory.
// Run: npx tsx bench/agent-soft.ts [vrfs] [routes-per-vrf]
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ChangeKind, type RemotePeNextHop, type VrfRoute } from '../services/common/gen/proto/l3vpn/v1/agent.js';
import { Agent } from '../services/agent/agent.js';
import { SoftDriver } from '../services/agent/drivers/soft.js';
import { StateFile } from '../services/agent/state-file.js';
import { syntheticState } from '../services/agent/synthetic-state.js';

const VRFS = Number(process.argv[2] ?? 1000);
const PER_VRF = Number(process.argv[3] ?? 100);
const MiB = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

function gc(): void {
  if (!globalThis.gc) setFlagsFromString('--expose-gc');
  (globalThis.gc ?? (runInNewContext('gc') as () => void))();
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-bench-'));
  try {
    gc();
    const base = process.memoryUsage().heapUsed;
    const state = syntheticState({ vrfs: VRFS, routesPerVrf: PER_VRF });
    const entries = state.vrfs.length + state.vrfRoutes.length + state.lfibEntries.length;
    const driver = new SoftDriver();
    const agent = new Agent({ node: 'PE1', driver, store: new StateFile(dir), persistDelayMs: 1 });
    const t0 = performance.now();
    await agent.applySnapshot(state);
    const s = (performance.now() - t0) / 1000;
    console.log(`${entries} entries (${state.vrfRoutes.length} routes in ${state.vrfs.length} VRFs): full apply ${s.toFixed(2)} s, ${Math.round(entries / s)} entries/s`);

    const times: number[] = [];
    let current: VrfRoute = state.vrfRoutes[Math.floor(state.vrfRoutes.length / 2)]!;
    for (let i = 0; i < 1000; i++) {
      const nh = current.nextHop!.value as RemotePeNextHop;
      const next: VrfRoute = { ...current, nextHop: { $case: 'remote', value: { ...nh, labels: [nh.labels[0]!, 500_000 + i] } } };
      const g = agent.generation;
      const t = performance.now();
      await agent.applyDelta({
        node: 'PE1',
        fromGeneration: g,
        generation: g + 1,
        changes: [{ kind: ChangeKind.CHANGE_KIND_MODIFY, entry: { entry: { $case: 'vrfRoute', value: next } }, previous: { entry: { $case: 'vrfRoute', value: current } } }],
        transport: undefined,
        role: 0,
      });
      times.push(performance.now() - t);
      current = next;
    }
    console.log(`one-route change with ${state.vrfRoutes.length} installed: median ${pct(times, 50).toFixed(3)} ms, p99 ${pct(times, 99).toFixed(3)} ms`);
    const tr = performance.now();
    const pass = await agent.reconcile();
    console.log(`reconciliation pass: ${((performance.now() - tr) / 1000).toFixed(2)} s, ${pass.changes} changes`);
    const tf = performance.now();
    await agent.flush();
    console.log(`state file written: ${((performance.now() - tf) / 1000).toFixed(2)} s, ${MiB((await stat(join(dir, 'desired-state.pb'))).size)}`);
    gc();
    const held = process.memoryUsage().heapUsed - base;
    console.log(`memory: heap ${MiB(held)} held (desired state + soft tables), ${Math.round(held / entries)} B per entry; process RSS ${MiB(process.memoryUsage().rss)}`);

    const restored = new SoftDriver();
    const again = new Agent({ node: 'PE1', driver: restored, store: new StateFile(dir) });
    const t2 = performance.now();
    await again.start();
    console.log(`restart with the controller away (load the file, reinstall everything): ${((performance.now() - t2) / 1000).toFixed(2)} s, generation ${again.generation}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
