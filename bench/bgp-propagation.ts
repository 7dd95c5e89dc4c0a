// Route-reflector propagation, bgperf style (issue 5), with services/bgp and
// GoBGP, FRR and BIRD as the device under test in one run:
//
//     sender (BIRD) --iBGP--> DUT (route reflector, both peers clients) --iBGP--> receiver (BIRD)
//
// Our DUT runs as its own process of the built binary
// (`node dist/services/main.js bgp --config FILE`) so its peak RSS (VmHWM)
// is its own. Build first (`npx tsc -p tsconfig.json`).
//
//   npx tsx bench/bgp-propagation.ts [N[,N...]] [duts: ours,gobgp,frr,bird] [--per-rd] [--cpu-prof] [--repeat=K]
//   BENCH_N=1000000 npx tsx bench/bgp-propagation.ts
//
// `ours@DIR` is another build of ours (DIR/dist/services/main.js, e.g. a
// worktree of an older commit) for before/after figures in one run.
// --repeat=K runs every DUT K times, interleaved, and reports the median
// run (by convergence time) of each, with all K times beside it: the
// machine is shared, so single runs are noisy.
//
// Prints time to converge, routes/s, DUT peak RSS, time to withdraw all,
// and each figure as a ratio against the peers.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingBinaries, sleep, type PeerKind } from '../test/peers/common.js';
import { runPeerDut, runPropagation, type PropagationResult } from '../test/peers/propagation.js';

const args = process.argv.slice(2);
const pos = args.filter((a) => !a.startsWith('--'));
const sizes = (pos[0] ?? process.env.BENCH_N ?? '100000').split(',').map(Number);
const duts = (pos[1] ?? 'ours,gobgp,frr,bird').split(',');
const labelMode = args.includes('--per-rd') ? 'per-rd' : 'per-route';
const cpuProf = args.includes('--cpu-prof');
const repeat = Math.max(1, Number(args.find((a) => a.startsWith('--repeat='))?.slice(9) ?? 1));

const AS = 65000;
const DUT = '127.0.22.12';
const SENDER = '127.0.22.11';
const RECEIVER = '127.0.22.13';

const isOurs = (d: string) => d === 'ours' || d.startsWith('ours@');
const missing = [...new Set([...duts.filter((d) => !isOurs(d)), 'bird'])].flatMap((k) => missingBinaries(k as PeerKind));
if (missing.length) {
  console.error(`missing binaries: ${missing.join(', ')} (run .ci/install-peers)`);
  process.exit(2);
}

async function runOurs(n: number, dut = 'ours'): Promise<PropagationResult> {
  const root = dut.startsWith('ours@') ? dut.slice(5) : '.';
  const dir = mkdtempSync(join(tmpdir(), 'l3vpn-prop-'));
  const config = join(dir, 'bgp.json');
  writeFileSync(
    config,
    JSON.stringify({
      log: { level: 'warn' },
      bgp: {
        as: AS,
        'router-id': '10.254.0.2',
        'cluster-id': '10.254.0.2',
        'listen-address': DUT,
        port: 179,
        'grpc-listen': '127.0.0.1:0',
        neighbors: [SENDER, RECEIVER].map((address) => ({ address, 'remote-as': AS, families: ['vpn-ipv4'], 'route-reflector-client': true, passive: true })),
      },
    }),
  );
  const nodeArgs = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${process.cwd()}/prof`] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, join(root, 'dist/services/main.js'), 'bgp', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await sleep(800);
    if (child.exitCode !== null) throw new Error(`our DUT exited with ${child.exitCode}`);
    return await runPropagation(
      { address: DUT, as: AS, pid: child.pid, name: dut },
      { n, labelMode, senderAddress: SENDER, receiverAddress: RECEIVER, log: (l) => console.error(`  [${dut}] ${l}`) },
    );
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(dut: string, n: number): Promise<PropagationResult> {
  if (isOurs(dut)) return runOurs(n, dut);
  return runPeerDut(dut as PeerKind, {
    n,
    labelMode,
    dutAddress: DUT,
    senderAddress: SENDER,
    receiverAddress: RECEIVER,
    log: (l) => console.error(`  [${dut}] ${l}`),
  });
}

const fmtS = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);
const fmtMiB = (kib: number | undefined) => (kib === undefined ? '—' : `${Math.round(kib / 1024)} MiB`);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}x`);

for (const n of sizes) {
  console.log(`\npropagation: ${n.toLocaleString('en')} VPN-IPv4 routes, ${labelMode} labels, sender bird, receiver bird`);
  const runs = new Map<string, PropagationResult[]>(duts.map((d) => [d, []]));
  for (let k = 0; k < repeat; k++) {
    for (const dut of duts) {
      try {
        runs.get(dut)!.push(await run(dut, n));
      } catch (err) {
        console.error(`  [${dut}] failed: ${(err as Error).message}`);
      }
    }
  }
  const rows: PropagationResult[] = [];
  for (const [dut, rs] of runs) {
    if (!rs.length) continue;
    const sorted = [...rs].sort((a, b) => a.convergeMs - b.convergeMs);
    rows.push(sorted[(sorted.length - 1) >> 1]!);
    if (repeat > 1) console.log(`  ${dut}: converge ${rs.map((r) => fmtS(r.convergeMs)).join(', ')}; withdraw ${rs.map((r) => fmtS(r.withdrawMs)).join(', ')}`);
  }
  console.log('');
  console.log('| DUT | routes | converge | routes/s | withdraw all | DUT peak RSS |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.dut} | ${n.toLocaleString('en')} | ${fmtS(r.convergeMs)} | ${r.routesPerSec.toLocaleString('en')} | ${fmtS(r.withdrawMs)} | ${fmtMiB(r.dutPeakRssKiB)} |`);
  }
  const ours = rows.find((r) => r.dut === 'ours') ?? rows.find((r) => isOurs(r.dut));
  if (ours) {
    console.log('');
    console.log('ours against each peer (time and RSS: lower is better; < 1.00x means ours is faster/smaller)');
    console.log('| peer | converge | withdraw all | peak RSS |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const r of rows.filter((x) => x !== ours)) {
      console.log(`| ${r.dut} | ${ratio(ours.convergeMs, r.convergeMs)} | ${ratio(ours.withdrawMs, r.withdrawMs)} | ${ratio(ours.dutPeakRssKiB, r.dutPeakRssKiB)} |`);
    }
    const gobgp = rows.find((r) => r.dut === 'gobgp');
    const fastest = rows.filter((r) => r.dut === 'frr' || r.dut === 'bird').sort((a, b) => a.convergeMs - b.convergeMs)[0];
    console.log('');
    if (gobgp) console.log(`goal faster than GoBGP: ${ours.convergeMs < gobgp.convergeMs ? 'met' : 'NOT met'}`);
    if (fastest) console.log(`goal within 1.5x of ${fastest.dut}: ${ours.convergeMs <= 1.5 * fastest.convergeMs ? 'met' : 'NOT met'} (${ratio(ours.convergeMs, fastest.convergeMs)})`);
    if (n >= 1_000_000) console.log(`goal 1M routes under 1 GiB RSS: ${(ours.dutPeakRssKiB ?? Infinity) < 1024 * 1024 ? 'met' : 'NOT met'}`);
  }
}
