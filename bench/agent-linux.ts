// Forwarding agent + linux driver against a real kernel (Debian's, in a QEMU
// VM under software emulation: figures are those of an emulated CPU, far
// below real hardware). Default 10,000 VRF routes across 100 VRFs (each a VRF
// device with a VLAN subinterface) and 100 per-VRF labels. Prints entries
// applied per second through the driver (commands over the VM's control
// channel), the kernel's own rate for the same route lines run inside the
// guest, a full resync that finds nothing to change, and a one-route change
// with everything installed.
// Run after tsc: node --expose-gc dist/bench/agent-linux.js [vrfs] [routes-per-vrf]
import { ChangeKind, type RemotePeNextHop, type VrfRoute } from '../services/common/gen/proto/l3vpn/v1/agent.js';
import { Agent } from '../services/agent/agent.js';
import { LinuxDriver } from '../services/agent/drivers/linux/driver.js';
import { syntheticState } from '../services/agent/synthetic-state.js';
import { QemuVm, vmMissing } from '../test/support/qemu-vm.js';

const VRFS = Number(process.argv[2] ?? 100);
const PER_VRF = Number(process.argv[3] ?? 100);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const missing = vmMissing();
if (missing) {
  console.log(`agent-linux: skipped, ${missing}`);
  process.exit(0);
}

const t0 = performance.now();
const vm = await QemuVm.boot({ memoryMiB: 1024 });
console.log(`VM boot (TCG, cached initramfs): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
try {
  await vm.sh(`ip link add cust0 type veth peer name cust0-ce
    ip link add core0 type veth peer name core0-p
    for d in cust0 cust0-ce core0 core0-p; do ip link set $d up; done
    ip addr add 10.0.0.0/31 dev core0
    ip addr add 10.0.0.1/31 dev core0-p`);
  const rtt: number[] = [];
  for (let i = 0; i < 20; i++) {
    const s = performance.now();
    await vm.run(['true']);
    rtt.push(performance.now() - s);
  }
  console.log(`control channel round trip: ${median(rtt).toFixed(1)} ms (median of 20)`);

  const state = syntheticState({ vrfs: VRFS, routesPerVrf: PER_VRF });
  const entries = state.vrfs.length + state.vrfRoutes.length + state.lfibEntries.length;
  const driver = await new LinuxDriver({ runner: vm }).prepare();
  const agent = new Agent({ node: 'PE1', driver });
  let s = performance.now();
  const r = await agent.applySnapshot(state);
  let ms = performance.now() - s;
  if (r.failures) throw new Error(`${r.failures} failures: ${JSON.stringify(agent.report().failures.slice(0, 3))}`);
  console.log(
    `apply ${state.vrfs.length} VRFs + ${state.vrfRoutes.length} routes + ${state.lfibEntries.length} labels = ${entries} entries: ${(ms / 1000).toFixed(2)} s, ${Math.round(entries / (ms / 1000))} entries/s (${driver.linesSent} kernel objects)`,
  );

  s = performance.now();
  const again = await agent.reconcile('bench');
  ms = performance.now() - s;
  if (again.changes !== 0) throw new Error(`resync changed ${again.changes} entries`);
  console.log(`resync (read ${entries} entries back, nothing to change): ${(ms / 1000).toFixed(2)} s`);

  const old = state.vrfRoutes[Math.floor(state.vrfRoutes.length / 2)]!;
  const one: number[] = [];
  let current: VrfRoute = old;
  for (let i = 0; i < 20; i++) {
    const next: VrfRoute = { ...old, nextHop: { $case: 'remote', value: { ...(old.nextHop!.value as RemotePeNextHop), labels: [16002, 300_000 + i] } } };
    s = performance.now();
    const outcome = await agent.applyDelta({
      node: 'PE1',
      fromGeneration: agent.generation,
      generation: agent.generation + 1,
      changes: [{ kind: ChangeKind.CHANGE_KIND_MODIFY, entry: { entry: { $case: 'vrfRoute', value: next } }, previous: { entry: { $case: 'vrfRoute', value: current } } }],
      role: state.role,
      transport: undefined,
    });
    one.push(performance.now() - s);
    if (outcome !== 'applied') throw new Error(outcome);
    current = next;
  }
  console.log(`one-route change with ${state.vrfRoutes.length} installed: ${median(one).toFixed(1)} ms median of 20 (one ip -batch run over the control channel)`);

  // The kernel's own rate, without the control channel: the same kind of lines from a file in the guest.
  const lines = state.vrfRoutes.map((x, i) => `route replace ${x.prefix} encap mpls 16002/${100_000 + (i % 1000)} via inet 10.0.0.1 dev core0 table 9999 proto 76`).join('\n');
  await vm.run(['sh', '-c', 'cat > /tmp/bench.batch'], `${lines}\n`);
  const timed = await vm.run(['sh', '-c', 'time /usr/sbin/ip -batch /tmp/bench.batch']);
  const real = /real\s+(?:(\d+)m\s*)?([\d.]+)s/.exec(timed.stderr);
  if (real) {
    const sec = Number(real[1] ?? 0) * 60 + Number(real[2]);
    console.log(`kernel alone (ip -batch in the guest, ${state.vrfRoutes.length} encap routes): ${sec.toFixed(2)} s, ${Math.round(state.vrfRoutes.length / sec)} routes/s`);
  }
} finally {
  await vm.stop();
}
