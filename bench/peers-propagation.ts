// Route-reflector propagation with GoBGP, FRR and BIRD as the device under
// test: sender -> DUT -> receiver, N VPN-IPv4 routes (one label per route).
//
//   npx tsx bench/peers-propagation.ts [N] [dut,dut,...] [--sender=bird] [--receiver=bird] [--runs=1] [--per-rd]
//
// Prints time to converge, routes/s, time to withdraw all and DUT peak RSS.

import { missingBinaries, type PeerKind } from '../test/peers/common.js';
import { runPeerDut, type PropagationResult } from '../test/peers/propagation.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const pos = args.filter((a) => !a.startsWith('--'));
const n = Number(pos[0] ?? 100_000);
const duts = (pos[1] ?? 'gobgp,frr,bird').split(',') as PeerKind[];
const sender = (flag('sender') ?? 'bird') as PeerKind;
const receiver = (flag('receiver') ?? 'bird') as PeerKind;
const runs = Number(flag('runs') ?? 1);
const labelMode = args.includes('--per-rd') ? 'per-rd' : 'per-route';

const missing = [...new Set([...duts, sender, receiver])].flatMap((k) => missingBinaries(k));
if (missing.length) {
  console.error(`missing binaries: ${missing.join(', ')} (run .ci/install-peers)`);
  process.exit(2);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

console.log(`propagation: ${n} VPN-IPv4 routes, ${labelMode} labels, sender ${sender}, receiver ${receiver}, ${runs} run(s) each`);
const rows: { dut: string; results: PropagationResult[] }[] = [];
for (const dut of duts) {
  const results: PropagationResult[] = [];
  for (let r = 0; r < runs; r++) {
    const res = await runPeerDut(dut, { n, sender, receiver, labelMode, log: (l) => console.error(`  [${dut}] ${l}`) });
    results.push(res);
  }
  rows.push({ dut, results });
}

console.log('');
console.log('| DUT | routes | converge | routes/s | withdraw all | DUT peak RSS |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const { dut, results } of rows) {
  const c = median(results.map((r) => r.convergeMs));
  const w = median(results.map((r) => r.withdrawMs ?? NaN));
  const rss = median(results.map((r) => r.dutPeakRssKiB ?? 0));
  console.log(
    `| ${dut} | ${n.toLocaleString('en')} | ${(c / 1000).toFixed(2)} s | ${Math.round((n * 1000) / c).toLocaleString('en')} | ${(w / 1000).toFixed(2)} s | ${(rss / 1024).toFixed(0)} MiB |`,
  );
}
