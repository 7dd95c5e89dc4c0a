// Route-reflector propagation benchmark (bgperf / ze-perf style), issue 5.
//
//     sender --iBGP--> DUT (route reflector) --iBGP--> receiver
//
// The sender starts with N VPN-IPv4 routes already loaded and its session to
// the DUT administratively down; the clock starts when that session reaches
// Established (polled every 10 ms) and stops when the receiver's counter for
// routes from the DUT reaches N. Then the sender shuts its session down and
// the clock runs until the receiver holds none (time to withdraw all: the
// DUT withdraws everything it learned from the sender).
//
// The DUT is either one of the real peers (GoBGP, FRR, BIRD, configured here
// as an equivalent route reflector: both neighbours are RR clients, VPN-IPv4
// only) or any external speaker given by address and AS (services/bgp later).
//
// Sender: BIRD by default, which loads 100,000 static routes from a generated
// config in well under a second and sends them as fast as the DUT takes them;
// FRR works too (one shared route map, `network ... rd ... label ...` lines);
// GoBGP only for small N (one CLI call per route). Receiver: BIRD by default
// (its per-channel import counter is cheap to read), or GoBGP/FRR.

import {
  type PeerHandle,
  type PeerKind,
  type PeerOptions,
  type VpnRouteSpec,
  procStatusKiB,
  sleep,
} from './common.js';
import { eventually } from '../support/eventually.js';
import { startGobgp } from './gobgp.js';
import { startFrr } from './frr.js';
import { startBird } from './bird.js';

export interface ExternalDut {
  address: string;
  as: number;
  /** BGP port when not 179. */
  port?: number;
  /** For peak RSS (VmHWM) when the DUT is a process on this machine. */
  pid?: number;
  name?: string;
}

export interface PropagationOptions {
  /** Number of VPN-IPv4 routes. */
  n: number;
  /** Sender peer kind; default 'bird'. */
  sender?: PeerKind;
  /** Receiver peer kind; default 'bird'. */
  receiver?: PeerKind;
  /** 'per-route': one label per route (default, the harder case); 'per-rd': one label for all routes of an RD. */
  labelMode?: 'per-route' | 'per-rd';
  /** Routes are spread over this many RDs (65000:100, 65000:101, ...); default 1. */
  rds?: number;
  senderAddress?: string;
  receiverAddress?: string;
  /** Limit for convergence and for withdrawal; default 600 s. */
  timeoutMs?: number;
  /** Also time the withdrawal of all routes; default true. */
  withdraw?: boolean;
  /** Progress lines go here (default: nowhere). */
  log?: (line: string) => void;
}

export interface PropagationResult {
  dut: string;
  n: number;
  sender: PeerKind;
  receiver: PeerKind;
  /** Sender Established -> receiver holds all N routes. */
  convergeMs: number;
  routesPerSec: number;
  /** Sender shuts down -> receiver holds none (undefined if not measured). */
  withdrawMs?: number;
  /** DUT VmHWM in KiB (undefined for an external DUT without pid). */
  dutPeakRssKiB?: number;
}

const AS = 65000;
const start = { gobgp: startGobgp, frr: startFrr, bird: startBird };

/** The i-th benchmark route: 10.x.y.0/24 prefixes, labels from 16 up, RT 65000:1, next hop 198.51.100.1. */
export function benchRoute(i: number, labelMode: 'per-route' | 'per-rd' = 'per-route', rds = 1): VpnRouteSpec {
  const rd = i % rds;
  return {
    family: 'vpnv4',
    rd: `65000:${100 + rd}`,
    prefix: `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`,
    label: labelMode === 'per-route' ? 16 + i : 16 + rd,
    routeTargets: ['65000:1'],
    nextHop: '198.51.100.1',
  };
}

export function benchRoutes(n: number, labelMode: 'per-route' | 'per-rd' = 'per-route', rds = 1): VpnRouteSpec[] {
  if (n > 16 * 65536 * 4) throw new Error('too many routes for the 10.x-73.x prefix plan');
  return Array.from({ length: n }, (_, i) => benchRoute(i, labelMode, rds));
}

/** Runs sender -> DUT -> receiver against a DUT that is already running. */
export async function runPropagation(dut: ExternalDut, o: PropagationOptions): Promise<PropagationResult> {
  const log = o.log ?? (() => undefined);
  const senderKind = o.sender ?? 'bird';
  const receiverKind = o.receiver ?? 'bird';
  const senderAddr = o.senderAddress ?? '127.0.20.1';
  const receiverAddr = o.receiverAddress ?? '127.0.20.3';
  const timeoutMs = o.timeoutMs ?? 600_000;
  const dutNeighbor = { address: dut.address, remoteAs: dut.as, families: ['vpnv4' as const], ...(dut.port ? { port: dut.port } : {}) };
  const peers: PeerHandle[] = [];
  try {
    const receiver = await start[receiverKind]({
      name: `recv-${receiverKind}`,
      routerId: '10.254.0.3',
      address: receiverAddr,
      localAs: AS,
      neighbors: [dutNeighbor],
    });
    peers.push(receiver);
    const routes = benchRoutes(o.n, o.labelMode, o.rds);
    const tLoad = Date.now();
    const sender = await start[senderKind]({
      name: `send-${senderKind}`,
      routerId: '10.254.0.1',
      address: senderAddr,
      localAs: AS,
      neighbors: [{ ...dutNeighbor, disabled: true }],
      vpnRoutes: routes,
    });
    peers.push(sender);
    log(`sender ${senderKind} loaded ${o.n} routes in ${Date.now() - tLoad} ms; receiver ${receiverKind}`);
    await receiver.waitEstablished(dut.address, 30_000);

    await sender.enableNeighbor(dut.address);
    const tEst = await eventually(
      () => `sender never Established with DUT ${dut.address}; sender log:\n${sender.logTail(20)}`,
      async () => ((await sender.neighborState(dut.address)) === 'Established' ? Date.now() : undefined),
      { timeoutMs: 30_000, intervalMs: 10 },
    );
    let last = 0;
    const tDone = await eventually(
      () => `receiver holds ${last}/${o.n} routes; receiver log:\n${receiver.logTail(20)}`,
      async () => {
        // Also a CLI call on a BIRD sender: BIRD 2's io_loop can miss a wake-up
        // for its last export buckets and then sleeps its whole poll timeout
        // (3000 ms) before sending them, a stall of the sender, whatever the
        // DUT. Any CLI request wakes that loop, so each poll nudges it.
        const [count] = await Promise.all([
          receiver.receivedCount(dut.address, 'vpnv4'),
          senderKind === 'bird' ? sender.neighborState(dut.address) : undefined,
        ]);
        last = count;
        return last >= o.n ? Date.now() : undefined;
      },
      { timeoutMs: timeoutMs, intervalMs: 20 },
    );
    // BIRD logs the moment its session came up to the millisecond: better than the poll.
    const upAt = (sender as { sessionUpAt?: (n: string) => number | undefined }).sessionUpAt?.(dut.address);
    const t0 = upAt !== undefined && upAt <= tEst && upAt > tEst - 5000 ? upAt : tEst;
    const convergeMs = tDone - t0;
    log(`converged: ${o.n} routes in ${convergeMs} ms`);
    const dutPeak = dut.pid ? peakRss(dut.pid) : undefined;

    let withdrawMs: number | undefined;
    if (o.withdraw !== false) {
      const tw0 = Date.now();
      await sender.shutdownNeighbor(dut.address);
      const tw1 = await eventually(
        () => `receiver still holds ${last} routes after the sender shut down`,
        async () => {
          last = await receiver.receivedCount(dut.address, 'vpnv4');
          return last === 0 ? Date.now() : undefined;
        },
        { timeoutMs: timeoutMs, intervalMs: 20 },
      );
      withdrawMs = tw1 - tw0;
      log(`withdrawn in ${withdrawMs} ms`);
    }
    const res: PropagationResult = {
      dut: dut.name ?? dut.address,
      n: o.n,
      sender: senderKind,
      receiver: receiverKind,
      convergeMs,
      routesPerSec: Math.round((o.n * 1000) / Math.max(convergeMs, 1)),
    };
    if (withdrawMs !== undefined) res.withdrawMs = withdrawMs;
    const peak = dut.pid ? Math.max(dutPeak ?? 0, peakRss(dut.pid)) : undefined;
    if (peak !== undefined) res.dutPeakRssKiB = peak;
    return res;
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
  }
}

const peakRss = (pid: number): number => procStatusKiB(pid, 'VmHWM');

/** Starts GoBGP, FRR or BIRD as the route-reflector DUT and runs the scenario against it. */
export async function runPeerDut(kind: PeerKind, o: PropagationOptions & { dutAddress?: string }): Promise<PropagationResult> {
  const dutAddr = o.dutAddress ?? '127.0.20.2';
  const senderAddr = o.senderAddress ?? '127.0.20.1';
  const receiverAddr = o.receiverAddress ?? '127.0.20.3';
  const opts: PeerOptions = {
    name: `dut-${kind}`,
    routerId: '10.254.0.2',
    address: dutAddr,
    localAs: AS,
    clusterId: '10.254.0.2',
    neighbors: [senderAddr, receiverAddr].map((a) => ({ address: a, remoteAs: AS, families: ['vpnv4'], routeReflectorClient: true })),
  };
  const dut = await start[kind](opts);
  try {
    await sleep(0);
    return await runPropagation(
      { address: dutAddr, as: AS, pid: dut.pid, name: kind },
      { ...o, senderAddress: senderAddr, receiverAddress: receiverAddr },
    );
  } finally {
    await dut.stop();
  }
}
