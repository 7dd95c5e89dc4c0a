// Desired-state computation (services/common/desired-state), pure CPU, no I/O:
//  1. a provider network of 100 PEs and 20 P nodes, 1,000 sites in VPNs of
//     skewed sizes, 10 prefixes per site, any-to-any: time per node and in
//     total, entries and encoded size;
//  2. one PE with 1,000 VRFs and 100,000 VRF routes: time, memory, encoded
//     size, and the diff for a one-route change.
// Prints figures; asserts nothing.
//   npm run bench -- desired-state
//   node --expose-gc --import tsx bench/desired-state.ts
import { NodeDesiredState } from '../services/common/gen/proto/l3vpn/v1/agent.js';
import {
  computeNodeDesiredState,
  diffDesiredState,
  prepareNetwork,
  type DesiredStateInput,
  type InventoryLink,
  type InventoryNode,
  type LabelModeName,
  type SelectedVpnRoute,
  type SiteIntent,
  type VpnIntent,
  type VrfAllocation,
} from '../services/common/desired-state/index.js';
import { simulateSelectedRoutes } from '../test/support/simulated-routes.js';

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ms = (ns: bigint) => Number(ns) / 1e6;
const now = () => process.hrtime.bigint();
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

const SRGB = { base: 16000, size: 8000 };

function provider(peCount: number, seed: number): { nodes: InventoryNode[]; links: InventoryLink[] } {
  const rand = rng(seed);
  const nodes: InventoryNode[] = [];
  const links: InventoryLink[] = [];
  let sid = 1;
  let ifn = new Map<string, number>();
  let subnet = 0;
  const link = (a: string, b: string, metric: number) => {
    const next = (n: string) => {
      const i = ifn.get(n) ?? 0;
      ifn.set(n, i + 1);
      return `core${i}`;
    };
    const s = subnet++;
    links.push({
      a: { node: a, interface: next(a), address: `10.${s >> 14}.${(s >> 6) & 255}.${(s & 63) * 4}/31` },
      b: { node: b, interface: next(b), address: `10.${s >> 14}.${(s >> 6) & 255}.${(s & 63) * 4 + 1}/31` },
      metric,
    });
  };
  const add = (id: string, role: 'PE' | 'P') =>
    nodes.push({ id, role, routerId: `172.16.${sid >> 8}.${sid & 255}`, srgb: SRGB, nodeSidIndex: sid++, transport: 'sr' });
  // 4 core P nodes in a full mesh, 16 aggregation P nodes each on 2 cores, PEs each on 2 aggregation nodes.
  for (let i = 0; i < 4; i++) add(`core${i}`, 'P');
  for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) link(`core${i}`, `core${j}`, 10 + Math.floor(rand() * 3) * 10);
  for (let i = 0; i < 16; i++) {
    add(`agg${i}`, 'P');
    link(`agg${i}`, `core${i % 4}`, 10);
    link(`agg${i}`, `core${(i + 1) % 4}`, 10 + Math.floor(rand() * 2) * 10);
  }
  for (let i = 0; i < peCount; i++) {
    add(`pe${i}`, 'PE');
    const a = i % 16;
    link(`pe${i}`, `agg${a}`, 10);
    link(`pe${i}`, `agg${(a + 1 + Math.floor(rand() * 15)) % 16}`, 10 + Math.floor(rand() * 2) * 10);
  }
  ifn = new Map();
  return { nodes, links };
}

/** 1,000 sites over 100 PEs in VPNs of skewed sizes (a few large, many small), 10 prefixes each. */
function network(peCount: number, siteCount: number, prefixesPerSite: number): DesiredStateInput {
  const rand = rng(42);
  const inventory = provider(peCount, 7);
  const vpns: VpnIntent[] = [];
  const tables = new Map<string, number>();
  const labels = new Map<string, number>();
  const nextLabel = (pe: string) => {
    const l = labels.get(pe) ?? 100;
    labels.set(pe, l + 1);
    return l;
  };
  let sites = 0;
  let v = 0;
  let prefixBlock = 0;
  while (sites < siteCount) {
    // Sizes: 2-5 mostly, some 10-30, a few 50-100.
    const r = rand();
    const size = Math.min(siteCount - sites, r < 0.7 ? 2 + Math.floor(rand() * 4) : r < 0.95 ? 10 + Math.floor(rand() * 21) : 50 + Math.floor(rand() * 51));
    const mode: LabelModeName = v % 10 < 7 ? 'per-vrf' : v % 10 < 9 ? 'per-ce' : 'per-prefix';
    const vrfs = new Map<string, VrfAllocation>();
    const siteList: SiteIntent[] = [];
    for (let s = 0; s < size; s++) {
      const pe = `pe${Math.floor(rand() * rand() * peCount)}`; // more sites on low-numbered PEs
      if (!vrfs.has(pe)) {
        const t = (tables.get(pe) ?? 1000) + 1;
        tables.set(pe, t);
        vrfs.set(pe, {
          pe,
          name: `vpn${v}`,
          tableId: t,
          rd: `65000:${v * 1000 + vrfs.size}`,
          importRouteTargets: [`65000:${v}`],
          exportRouteTargets: [`65000:${v}`],
          vrfLabel: mode === 'per-ce' && rand() < 0.5 ? undefined : nextLabel(pe),
        });
      }
      const n = sites + s;
      const statics = Array.from({ length: prefixesPerSite }, () => {
        const b = prefixBlock++;
        return `${20 + (b >> 16)}.${(b >> 8) & 255}.${b & 255}.0/24`;
      });
      const site: SiteIntent = {
        id: `site${n}`,
        pe,
        interface: `cust${n % 8}`,
        vlan: 100 + n,
        peAddress: `192.168.${n >> 6}.${(n & 63) * 4 + 1}/30`,
        ceAddress: `192.168.${n >> 6}.${(n & 63) * 4 + 2}`,
        staticPrefixes: statics,
        ceLabel: mode === 'per-ce' ? nextLabel(pe) : undefined,
        prefixLabels: mode === 'per-prefix' ? Object.fromEntries(statics.map((p) => [p, nextLabel(pe)])) : undefined,
      };
      siteList.push(site);
    }
    // A per-prefix VPN's connected subnets use the VRF label.
    vpns.push({ id: `vpn${v}`, labelMode: mode, vrfs: [...vrfs.values()], sites: siteList });
    sites += size;
    v++;
  }
  return { inventory, vpns };
}

function benchNetwork(): void {
  const PES = 100;
  const SITES = 1000;
  const PREFIXES = 10;
  const input = network(PES, SITES, PREFIXES);
  let t = now();
  const routes = simulateSelectedRoutes(input);
  const simulateMs = ms(now() - t);
  t = now();
  const net = prepareNetwork(input);
  const prepareMs = ms(now() - t);
  const perNode: { id: string; ms: number; routes: number; lfib: number; bytes: number }[] = [];
  // Warm-up pass (JIT), then the measured pass.
  for (const node of net.topology.nodes) computeNodeDesiredState(net, node.id, routes.get(node.id) ?? [], { generation: 1 });
  const total0 = now();
  let bytes = 0;
  for (const node of net.topology.nodes) {
    const t0 = now();
    const { state } = computeNodeDesiredState(net, node.id, routes.get(node.id) ?? [], { generation: 1 });
    const took = ms(now() - t0);
    const size = NodeDesiredState.encode(state).finish().length;
    bytes += size;
    perNode.push({ id: node.id, ms: took, routes: state.vrfRoutes.length, lfib: state.lfibEntries.length, bytes: size });
  }
  const totalMs = ms(now() - total0);
  const pes = perNode.filter((n) => n.id.startsWith('pe'));
  const ps = perNode.filter((n) => !n.id.startsWith('pe'));
  const times = pes.map((n) => n.ms).sort((a, b) => a - b);
  const totalRoutes = pes.reduce((s, n) => s + n.routes, 0);
  const biggest = [...pes].sort((a, b) => b.routes - a.routes)[0]!;
  console.log(`network: ${PES} PEs + ${ps.length} P, ${input.inventory.links.length} links, ${input.vpns.length} VPNs, ${SITES} sites x ${PREFIXES} prefixes`);
  console.log(`  VRFs ${input.vpns.reduce((s, v) => s + v.vrfs.length, 0)}, VRF routes on all PEs ${totalRoutes}, LFIB entries ${perNode.reduce((s, n) => s + n.lfib, 0)}, encoded ${mib(bytes)} MiB`);
  console.log(`  prepare (validate, index) ${prepareMs.toFixed(1)} ms; simulated BGP selection ${simulateMs.toFixed(1)} ms (not counted)`);
  console.log(
    `  per PE: median ${quantile(times, 0.5).toFixed(2)} ms, p90 ${quantile(times, 0.9).toFixed(2)} ms, max ${times.at(-1)!.toFixed(2)} ms` +
      ` (largest: ${biggest.id}, ${biggest.routes} routes, ${biggest.ms.toFixed(2)} ms)`,
  );
  console.log(`  per P: max ${Math.max(...ps.map((n) => n.ms)).toFixed(3)} ms (${ps[0]!.lfib} LFIB entries each)`);
  console.log(`  all ${perNode.length} nodes: ${totalMs.toFixed(1)} ms (${((totalRoutes / totalMs) * 1000).toFixed(0)} routes/s), with prepare ${(totalMs + prepareMs).toFixed(1)} ms`);
}

function benchBigPe(): void {
  const VRFS = 1000;
  const ROUTES_PER_VRF = 100;
  const REMOTE_PES = 10;
  const nodes: InventoryNode[] = [
    { id: 'big', role: 'PE', routerId: '172.16.0.1', srgb: SRGB, nodeSidIndex: 1, transport: 'sr' },
    { id: 'p', role: 'P', routerId: '172.16.0.2', srgb: SRGB, nodeSidIndex: 2, transport: 'sr' },
  ];
  const links: InventoryLink[] = [{ a: { node: 'big', interface: 'core0', address: '10.0.0.0/31' }, b: { node: 'p', interface: 'core0', address: '10.0.0.1/31' }, metric: 10 }];
  for (let i = 0; i < REMOTE_PES; i++) {
    nodes.push({ id: `r${i}`, role: 'PE', routerId: `172.16.1.${i + 1}`, srgb: SRGB, nodeSidIndex: 10 + i, transport: 'sr' });
    links.push({ a: { node: 'p', interface: `core${i + 1}`, address: `10.0.1.${i * 2}/31` }, b: { node: `r${i}`, interface: 'core0', address: `10.0.1.${i * 2 + 1}/31` }, metric: 10 });
  }
  const vpns: VpnIntent[] = [];
  const routes: SelectedVpnRoute[] = [];
  for (let v = 0; v < VRFS; v++) {
    // One local site with 10 prefixes (11 local routes) and 89 remote routes per VRF.
    vpns.push({
      id: `vpn${v}`,
      labelMode: 'per-vrf',
      vrfs: [{ pe: 'big', name: `vrf${v}`, tableId: 1000 + v, rd: `65000:${v}`, importRouteTargets: [`65000:${v}`], exportRouteTargets: [`65000:${v}`], vrfLabel: 100 + v }],
      sites: [
        {
          id: `s${v}`,
          pe: 'big',
          interface: `cust${v % 16}`,
          vlan: 1 + (v >> 4),
          peAddress: '192.168.0.1/30',
          ceAddress: '192.168.0.2',
          staticPrefixes: Array.from({ length: 10 }, (_, k) => `10.0.${k}.0/24`),
        },
      ],
    });
    for (let k = 0; k < ROUTES_PER_VRF - 11; k++) {
      const r = k % REMOTE_PES;
      routes.push({ vrf: `vrf${v}`, prefix: `10.${1 + (k >> 4)}.${(k & 15) * 16}.0/20`, nextHop: `172.16.1.${r + 1}`, label: 5000 + v, rd: `65001:${v}` });
    }
  }
  const input: DesiredStateInput = { inventory: { nodes, links }, vpns };
  const net = prepareNetwork(input);
  computeNodeDesiredState(net, 'big', routes.slice(0, 1000), { generation: 1 }); // warm-up
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  let t = now();
  const result = computeNodeDesiredState(net, 'big', routes, { generation: 1 });
  const computeMs = ms(now() - t);
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  const state = result.state;
  t = now();
  const encoded = NodeDesiredState.encode(state).finish();
  const encodeMs = ms(now() - t);
  t = now();
  NodeDesiredState.decode(encoded);
  const decodeMs = ms(now() - t);

  // One route changes next hop: recompute, diff.
  const changed = routes.map((r, i) => (i === 5000 ? { ...r, nextHop: '172.16.1.10', label: 7777 } : r));
  t = now();
  const after = computeNodeDesiredState(net, 'big', changed, { generation: 2 }).state;
  const recomputeMs = ms(now() - t);
  t = now();
  const delta = diffDesiredState(state, after);
  const diffMs = ms(now() - t);
  t = now();
  const full = diffDesiredState(undefined, state);
  const fullDiffMs = ms(now() - t);

  console.log(`one PE: ${VRFS} VRFs, ${state.vrfRoutes.length} VRF routes, ${state.lfibEntries.length} LFIB entries, ${state.transportPaths.length} transport paths`);
  console.log(
    `  compute ${computeMs.toFixed(0)} ms (${((state.vrfRoutes.length / computeMs) * 1000).toFixed(0)} routes/s); ` +
      `heap held by the state ${mib(heap1 - heap0)} MiB (${((heap1 - heap0) / state.vrfRoutes.length).toFixed(0)} B/route)${typeof (globalThis as { gc?: unknown }).gc === 'function' ? '' : ' [run with --expose-gc for exact heap]'}`,
  );
  console.log(`  encoded ${mib(encoded.length)} MiB (${(encoded.length / state.vrfRoutes.length).toFixed(0)} B/route): encode ${encodeMs.toFixed(0)} ms, decode ${decodeMs.toFixed(0)} ms`);
  console.log(`  one route changed: recompute ${recomputeMs.toFixed(0)} ms, diff ${diffMs.toFixed(0)} ms -> ${delta.changes.length} change(s)`);
  console.log(`  snapshot as a delta from nothing: ${fullDiffMs.toFixed(0)} ms, ${full.changes.length} changes`);
  console.log(`  process RSS ${mib(process.memoryUsage().rss)} MiB`);
}

benchNetwork();
benchBigPe();
