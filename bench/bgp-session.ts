// Receive throughput over a real TCP session: BIRD sends N VPN-IPv4 routes
// (one label per route) to a receiver; the clock runs from the session's
// Established to the receiver holding all N. Receivers: services/bgp (routes
// into its Adj-RIB-In, in this process) and, for comparison, GoBGP, FRR and
// BIRD (their own received-prefix counters).
//
//   npx tsx bench/bgp-session.ts [N] [receivers: ours,gobgp,frr,bird]
import { createLogger } from '../services/common/logger.js';
import { commonSettings, loadSettings } from '../services/common/config.js';
import { bgpSettings, startBgp } from '../services/bgp/main.js';
import { eventually } from '../test/support/eventually.js';
import { benchRoutes, missingBinaries, startPeer, type PeerHandle, type PeerKind } from '../test/peers/index.js';

const n = Number(process.argv[2] ?? 100_000);
const receivers = (process.argv[3] ?? 'ours,gobgp,frr,bird').split(',');
const AS = 65000;
const SENDER = '127.0.22.2';
const RECEIVER = '127.0.22.1';
const VPNV4 = { afi: 1, safi: 128 };

async function sender(): Promise<PeerHandle> {
  return startPeer('bird', {
    name: 'bench-sender',
    routerId: '10.255.22.2',
    address: SENDER,
    localAs: AS,
    neighbors: [{ address: RECEIVER, remoteAs: AS, families: ['vpnv4'], disabled: true }],
    vpnRoutes: benchRoutes(n),
  });
}

async function timeOurs(): Promise<{ ms: number; rssMiB: number }> {
  const settings = loadSettings([...commonSettings, ...bgpSettings], {
    env: {
      BGP_AS: String(AS),
      BGP_ROUTER_ID: '10.255.22.1',
      BGP_LISTEN_ADDRESS: RECEIVER,
      BGP_GRPC_LISTEN: '127.0.0.1:0',
      BGP_NEIGHBORS: JSON.stringify([{ address: SENDER, 'remote-as': AS, families: ['vpn-ipv4'], passive: true }]),
    },
  });
  const svc = await startBgp(settings, createLogger('bench', 'error'));
  const s = await sender();
  try {
    const peer = svc.speaker.peer(SENDER);
    await s.enableNeighbor(RECEIVER);
    await eventually(() => 'session', async () => (peer.state === 'Established' ? true : undefined), { timeoutMs: 30_000, intervalMs: 5 });
    const t0 = performance.now();
    await eventually(() => `${peer.adjRibIn.table.count(VPNV4)} of ${n}`, async () => (peer.adjRibIn.table.count(VPNV4) >= n ? true : undefined), { timeoutMs: 600_000, intervalMs: 5 });
    return { ms: performance.now() - t0, rssMiB: process.memoryUsage().rss / 2 ** 20 };
  } finally {
    await s.stop();
    await svc.stop(500);
  }
}

async function timePeer(kind: PeerKind): Promise<{ ms: number; rssMiB: number }> {
  const r = await startPeer(kind, {
    name: `bench-${kind}`,
    routerId: '10.255.22.1',
    address: RECEIVER,
    localAs: AS,
    neighbors: [{ address: SENDER, remoteAs: AS, families: ['vpnv4'], passive: true }],
  });
  const s = await sender();
  try {
    await s.enableNeighbor(RECEIVER);
    await r.waitEstablished(SENDER, 30_000);
    const t0 = performance.now();
    await eventually(() => `${kind} receiving`, async () => ((await r.receivedCount(SENDER, 'vpnv4')) >= n ? true : undefined), { timeoutMs: 600_000, intervalMs: 10 });
    return { ms: performance.now() - t0, rssMiB: r.peakRssKiB() / 1024 };
  } finally {
    await s.stop();
    await r.stop();
  }
}

const missing = missingBinaries('bird');
if (missing.length) {
  console.error(`missing: ${missing.join(', ')}`);
  process.exit(2);
}
console.log(`receive ${n} VPN-IPv4 routes from BIRD over one iBGP session (one label per route)`);
for (const r of receivers) {
  const res = r === 'ours' ? await timeOurs() : await timePeer(r as PeerKind);
  console.log(
    `${(r === 'ours' ? 'services/bgp' : r).padEnd(13)} ${(res.ms / 1000).toFixed(2).padStart(7)} s  ${Math.round((n / res.ms) * 1000).toLocaleString('en').padStart(10)} routes/s  ${res.rssMiB.toFixed(0).padStart(5)} MiB ${r === 'ours' ? 'RSS (whole test process)' : 'peak RSS'}`,
  );
}
