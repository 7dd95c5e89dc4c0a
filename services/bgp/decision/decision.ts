// The BGP decision process (RFC 4271 §9.1.2) with the tie-breaks routers
// use, in this order (FRR/Cisco, "bgp bestpath compare-routerid" behaviour):
//
//   0. next hop resolvable, else not eligible         RFC 4271 §9.1.2 (first paragraph)
//   1. highest weight (local to this speaker)         Cisco/FRR; local paths 32768, learned 0
//   2. highest LOCAL_PREF (degree of preference)      RFC 4271 §9.1.1, §9.1.2.1
//   3. locally originated over learned                Cisco/FRR "local route"
//   4. shortest AS_PATH (set = 1, confed = 0)         RFC 4271 §9.1.2.2 a, RFC 5065 §5.3
//   5. lowest ORIGIN                                  RFC 4271 §9.1.2.2 b
//   6. lowest MED, same neighbour AS only             RFC 4271 §9.1.2.2 c
//   7. eBGP over iBGP                                 RFC 4271 §9.1.2.2 d
//   8. lowest IGP cost to the NEXT_HOP                RFC 4271 §9.1.2.2 e
//   9. lowest router id (ORIGINATOR_ID if reflected)  RFC 4271 §9.1.2.2 f, RFC 4456 §9
//  10. shortest CLUSTER_LIST                          RFC 4456 §9
//  11. lowest peer address                            RFC 4271 §9.1.2.2 g
//  12. lowest path key (RD) — only two imported VPN paths from one peer can get here
//
// MED is deterministic: paths are grouped by neighbour AS, each group's
// winner is found with MED, and the winners are compared without it, so
// the result never depends on arrival order (RFC 4271 §9.1.2.2 c makes the
// plain pairwise comparison non-transitive). Oldest-eBGP-path is not a step:
// it would make the result depend on timing.
//
// Pure and allocation-free per selection: per-path values go to scratch
// typed arrays indexed by the path's position, so a selection over n paths
// costs n resolver calls and O(n * neighbour ASes) number comparisons.
import { asPathLength } from '../wire/as-path.js';
import type { PathAttributes } from '../wire/attributes.js';
import { AsPathSegmentType } from '../wire/constants.js';
import type { NextHop } from '../wire/next-hop.js';
import { parseIp, parseIpv4 } from '../../common/net/address.js';

/** What the decision process reads of a path: a structural subset of rib/path.ts `Path`. */
export interface DecisionPath {
  /** Destination key (RD + prefix); breaks the last tie between two paths of one peer. */
  readonly key: string;
  /** 'local' for paths originated here (API, VRF export); otherwise the peer's address. */
  readonly source: string;
  readonly nextHop: NextHop | undefined;
  readonly attributes: Readonly<PathAttributes>;
}

/** What the decision process must know about the peer a path came from. */
export interface PeerInfo {
  /** An eBGP session (a confederation member peer counts as internal, RFC 5065 §5.3). */
  readonly external: boolean;
  /** The peer's BGP Identifier as an unsigned 32-bit number. */
  readonly routerId: number;
  /** Orders peer addresses numerically (see `addressRank`). */
  readonly addressRank: string;
  /** Cisco/FRR weight: local to this speaker, higher wins; 0 for learned paths by default. */
  readonly weight: number;
  /** Locally originated (API / VRF): preferred after LOCAL_PREF. */
  readonly local: boolean;
}

/** IGP cost to a path's next hop; undefined when the next hop cannot be reached. */
export interface NextHopResolver {
  cost(path: DecisionPath): number | undefined;
}

export interface DecisionOptions {
  /** Peer facts by path source; a source it does not know gets `unknownPeerInfo`. */
  readonly peers: (source: string) => PeerInfo | undefined;
  /** Peer facts of a path that its source alone does not tell (asked before `peers`; undefined: ask `peers`). */
  readonly peerOf?: (path: DecisionPath) => PeerInfo | undefined;
  readonly resolver: NextHopResolver;
  /** LOCAL_PREF of a path that has none, and of every eBGP path (RFC 4271 §5.1.5). Default 100. */
  readonly defaultLocalPref?: number;
  /** Compare MED between paths from different neighbour ASes ("always-compare-med"). Default false. */
  readonly alwaysCompareMed?: boolean;
  /** A missing MED is the worst (2^32-1) instead of 0 ("med missing-as-worst"). Default false. */
  readonly missingMedAsWorst?: boolean;
}

export const DEFAULT_LOCAL_PREF = 100;
/** Weight Cisco and FRR give locally originated paths. */
export const LOCAL_WEIGHT = 32768;

/** The steps, numbered as in the header; a comparison reports the one that decided. */
export const Step = {
  EQUAL: 0,
  WEIGHT: 1,
  LOCAL_PREF: 2,
  LOCAL_ORIGIN: 3,
  AS_PATH: 4,
  ORIGIN: 5,
  MED: 6,
  EXTERNAL: 7,
  IGP_COST: 8,
  ROUTER_ID: 9,
  CLUSTER_LIST: 10,
  PEER_ADDRESS: 11,
  PATH_KEY: 12,
  /** One side's next hop is unreachable. */
  REACHABILITY: 13,
} as const;
export type StepValue = (typeof Step)[keyof typeof Step];
export const STEP_NAMES: readonly string[] = [
  'equal', 'weight', 'local-pref', 'local-origin', 'as-path', 'origin', 'med', 'external',
  'igp-cost', 'router-id', 'cluster-list', 'peer-address', 'path-key', 'reachability',
];

/** 32 hex digits of the address as IPv6 (IPv4 mapped), so string order is numeric order. */
export function addressRank(address: string): string {
  // A relayed peer's name is "<address>%<vrf>": its address ranks.
  const zone = address.indexOf('%');
  const bytes = parseIp(zone < 0 ? address : address.slice(0, zone))?.bytes;
  if (!bytes) return address;
  let out = bytes.length === 4 ? '00000000000000000000ffff' : '';
  for (const b of bytes) out += (b < 16 ? '0' : '') + b.toString(16);
  return out;
}

/** "192.0.2.1" as an unsigned 32-bit number; 0 when not an IPv4 address. No allocation. */
export function ipv4Number(text: string): number {
  return parseIpv4(text) ?? 0;
}

export const LOCAL_PEER_INFO: PeerInfo = Object.freeze({ external: false, routerId: 0, addressRank: '', weight: LOCAL_WEIGHT, local: true });

const unknownCache = new Map<string, PeerInfo>();
/** Facts assumed for a source nobody described: iBGP, router id = its address when IPv4. */
export function unknownPeerInfo(source: string): PeerInfo {
  if (source === 'local') return LOCAL_PEER_INFO;
  let info = unknownCache.get(source);
  if (!info) {
    if (unknownCache.size > 4096) unknownCache.clear();
    info = { external: false, routerId: ipv4Number(source), addressRank: addressRank(source), weight: 0, local: false };
    unknownCache.set(source, info);
  }
  return info;
}

/** Peer facts by address, for `DecisionOptions.peers`. 'local' is always known. */
export class PeerRegistry {
  private readonly byAddress = new Map<string, PeerInfo>();

  set(address: string, facts: { external: boolean; routerId: string | number; weight?: number }): PeerInfo {
    const info: PeerInfo = {
      external: facts.external,
      routerId: typeof facts.routerId === 'number' ? facts.routerId >>> 0 : ipv4Number(facts.routerId),
      addressRank: addressRank(address),
      weight: facts.weight ?? 0,
      local: false,
    };
    this.byAddress.set(address, info);
    return info;
  }

  delete(address: string): void {
    this.byAddress.delete(address);
  }

  readonly get = (source: string): PeerInfo | undefined => (source === 'local' ? LOCAL_PEER_INFO : this.byAddress.get(source));
}

/**
 * The neighbour AS for the MED rule (RFC 4271 §9.1.2.2 c): the first AS of
 * the leading AS_SEQUENCE, after any confederation segments (RFC 5065 §5.3);
 * 0 (the local AS) when the path is empty or begins with an AS_SET.
 */
export function neighbourAs(attrs: Readonly<PathAttributes>): number {
  const path = attrs.asPath;
  if (!path) return 0;
  for (const seg of path) {
    if (seg.type === AsPathSegmentType.AS_CONFED_SEQUENCE || seg.type === AsPathSegmentType.AS_CONFED_SET) continue;
    return seg.type === AsPathSegmentType.AS_SEQUENCE ? seg.asns[0] ?? 0 : 0;
  }
  return 0;
}

// ---- scratch space: one slot per path of the selection in progress ----

let capacity = 0;
let sWeight = new Float64Array(0);
let sLocalPref = new Float64Array(0);
let sLocal = new Uint8Array(0);
let sAsLen = new Float64Array(0);
let sOrigin = new Uint8Array(0);
let sMed = new Float64Array(0);
let sNas = new Float64Array(0);
let sExternal = new Uint8Array(0);
let sCost = new Float64Array(0);
let sRouterId = new Float64Array(0);
let sCluster = new Float64Array(0);
let sRank: string[] = [];
let sKey: string[] = [];
let sGroupAs = new Float64Array(0);
let sGroupBest = new Int32Array(0);

function ensure(n: number): void {
  if (n <= capacity) return;
  capacity = Math.max(n, capacity * 2, 16);
  sWeight = new Float64Array(capacity);
  sLocalPref = new Float64Array(capacity);
  sLocal = new Uint8Array(capacity);
  sAsLen = new Float64Array(capacity);
  sOrigin = new Uint8Array(capacity);
  sMed = new Float64Array(capacity);
  sNas = new Float64Array(capacity);
  sExternal = new Uint8Array(capacity);
  sCost = new Float64Array(capacity);
  sRouterId = new Float64Array(capacity);
  sCluster = new Float64Array(capacity);
  sRank = new Array<string>(capacity).fill('');
  sKey = new Array<string>(capacity).fill('');
  sGroupAs = new Float64Array(capacity);
  sGroupBest = new Int32Array(capacity);
}

const MED_WORST = 0xffffffff;

/** Fills slot i from the path; returns false when its next hop is unreachable. */
function prepare(i: number, p: DecisionPath, o: DecisionOptions): boolean {
  const cost = o.resolver.cost(p);
  if (cost === undefined) return false;
  const a = p.attributes;
  const peer = o.peerOf?.(p) ?? o.peers(p.source) ?? unknownPeerInfo(p.source);
  const dlp = o.defaultLocalPref ?? DEFAULT_LOCAL_PREF;
  sCost[i] = cost;
  sWeight[i] = peer.weight;
  // RFC 4271 §5.1.5: LOCAL_PREF from an external peer is ignored; policy (here the default) decides.
  sLocalPref[i] = peer.external ? dlp : (a.localPref ?? dlp);
  sLocal[i] = peer.local ? 1 : 0;
  sAsLen[i] = a.asPath ? asPathLength(a.asPath) : 0;
  sOrigin[i] = a.origin ?? 0;
  sMed[i] = a.med ?? (o.missingMedAsWorst ? MED_WORST : 0);
  sNas[i] = neighbourAs(a);
  sExternal[i] = peer.external ? 1 : 0;
  // RFC 4456 §9: a reflected route's ORIGINATOR_ID stands in for the router id.
  sRouterId[i] = a.originatorId !== undefined ? ipv4Number(a.originatorId) : peer.routerId;
  sCluster[i] = a.clusterList?.length ?? 0;
  sRank[i] = peer.addressRank;
  sKey[i] = p.key;
  return true;
}

/**
 * Compares prepared slots i and j: negative (-step) when i is better,
 * positive (+step) when j is, 0 when equal at every step.
 */
function compareSlots(i: number, j: number, med: boolean): number {
  // Cisco/FRR weight, before everything the RFC defines.
  if (sWeight[i] !== sWeight[j]) return sWeight[i]! > sWeight[j]! ? -Step.WEIGHT : Step.WEIGHT;
  // RFC 4271 §9.1.2.1: highest degree of preference (LOCAL_PREF).
  if (sLocalPref[i] !== sLocalPref[j]) return sLocalPref[i]! > sLocalPref[j]! ? -Step.LOCAL_PREF : Step.LOCAL_PREF;
  // Cisco/FRR: a locally originated path beats a learned one.
  if (sLocal[i] !== sLocal[j]) return sLocal[i]! > sLocal[j]! ? -Step.LOCAL_ORIGIN : Step.LOCAL_ORIGIN;
  // RFC 4271 §9.1.2.2 a (AS_SET counts 1, confederation segments 0 per RFC 5065 §5.3).
  if (sAsLen[i] !== sAsLen[j]) return sAsLen[i]! < sAsLen[j]! ? -Step.AS_PATH : Step.AS_PATH;
  // RFC 4271 §9.1.2.2 b: lowest ORIGIN (IGP < EGP < INCOMPLETE).
  if (sOrigin[i] !== sOrigin[j]) return sOrigin[i]! < sOrigin[j]! ? -Step.ORIGIN : Step.ORIGIN;
  // RFC 4271 §9.1.2.2 c: lowest MED, only between paths from the same neighbour AS (unless always-compare-med).
  if (med && sMed[i] !== sMed[j]) return sMed[i]! < sMed[j]! ? -Step.MED : Step.MED;
  // RFC 4271 §9.1.2.2 d: eBGP-learned over iBGP-learned.
  if (sExternal[i] !== sExternal[j]) return sExternal[i]! > sExternal[j]! ? -Step.EXTERNAL : Step.EXTERNAL;
  // RFC 4271 §9.1.2.2 e: lowest interior cost to the NEXT_HOP.
  if (sCost[i] !== sCost[j]) return sCost[i]! < sCost[j]! ? -Step.IGP_COST : Step.IGP_COST;
  // RFC 4271 §9.1.2.2 f with RFC 4456 §9: lowest BGP Identifier, ORIGINATOR_ID for reflected routes.
  if (sRouterId[i] !== sRouterId[j]) return sRouterId[i]! < sRouterId[j]! ? -Step.ROUTER_ID : Step.ROUTER_ID;
  // RFC 4456 §9: shortest CLUSTER_LIST.
  if (sCluster[i] !== sCluster[j]) return sCluster[i]! < sCluster[j]! ? -Step.CLUSTER_LIST : Step.CLUSTER_LIST;
  // RFC 4271 §9.1.2.2 g: lowest peer address.
  if (sRank[i] !== sRank[j]) return sRank[i]! < sRank[j]! ? -Step.PEER_ADDRESS : Step.PEER_ADDRESS;
  // Two paths of one peer (imported VPN routes with different RDs): lowest key, for a total order.
  if (sKey[i] !== sKey[j]) return sKey[i]! < sKey[j]! ? -Step.PATH_KEY : Step.PATH_KEY;
  return Step.EQUAL;
}

/** Reads path i of a selection; lets callers keep paths in any container. */
export type PathAt<P> = (i: number) => P;

/**
 * The index of the best of n paths, or -1 when none is eligible (every next
 * hop unreachable). Independent of the order of the paths.
 */
export function selectBestIndex<P extends DecisionPath>(n: number, at: PathAt<P>, o: DecisionOptions): number {
  ensure(n);
  const med = o.alwaysCompareMed === true;
  let groups = 0;
  let best = -1;
  for (let i = 0; i < n; i++) {
    if (!prepare(i, at(i), o)) continue;
    if (med) {
      // always-compare-med: one total order, no grouping needed.
      if (best < 0 || compareSlots(i, best, true) < 0) best = i;
      continue;
    }
    // Deterministic MED: best per neighbour AS, MED compared inside the group.
    let g = 0;
    while (g < groups && sGroupAs[g] !== sNas[i]) g++;
    if (g === groups) {
      sGroupAs[g] = sNas[i]!;
      sGroupBest[g] = i;
      groups++;
    } else if (compareSlots(i, sGroupBest[g]!, true) < 0) sGroupBest[g] = i;
  }
  if (med) return best;
  // Group winners compared without MED (they come from different neighbour ASes).
  for (let g = 0; g < groups; g++) {
    const i = sGroupBest[g]!;
    if (best < 0 || compareSlots(i, best, false) < 0) best = i;
  }
  return best;
}

/** The best of `paths`, or undefined. */
export function selectBest<P extends DecisionPath>(paths: readonly P[], o: DecisionOptions): P | undefined {
  const i = selectBestIndex(paths.length, (k) => paths[k]!, o);
  return i < 0 ? undefined : paths[i];
}

export interface Comparison {
  /** -1: a is better, 1: b is better, 0: equal. */
  readonly winner: -1 | 0 | 1;
  readonly step: StepValue;
  readonly stepName: string;
}

/**
 * Compares two paths step by step, with MED compared when they share a
 * neighbour AS (or always-compare-med). For tests, logs and "show bgp ... bestpath-reason".
 */
export function comparePaths(a: DecisionPath, b: DecisionPath, o: DecisionOptions): Comparison {
  ensure(2);
  const ra = prepare(0, a, o);
  const rb = prepare(1, b, o);
  if (!ra || !rb) {
    const winner = ra === rb ? 0 : ra ? -1 : 1;
    return { winner, step: Step.REACHABILITY, stepName: STEP_NAMES[Step.REACHABILITY]! };
  }
  const med = o.alwaysCompareMed === true || sNas[0] === sNas[1];
  const r = compareSlots(0, 1, med);
  const step = Math.abs(r) as StepValue;
  return { winner: r < 0 ? -1 : r > 0 ? 1 : 0, step, stepName: STEP_NAMES[step]! };
}

/**
 * Whether `p` may share the load with `best` (BGP multipath, "maximum-paths"):
 * both reachable and equal at every step before the IGP cost — weight,
 * LOCAL_PREF, local origin, AS_PATH length, ORIGIN, MED (compared whatever
 * the neighbour AS, as routers do for multipath) and eBGP/iBGP. The steps
 * from the IGP cost on only pick the best among them.
 */
export function multipathEqual(best: DecisionPath, p: DecisionPath, o: DecisionOptions): boolean {
  ensure(2);
  if (!prepare(0, best, o) || !prepare(1, p, o)) return false;
  const r = Math.abs(compareSlots(0, 1, true));
  return r === Step.EQUAL || r >= Step.IGP_COST;
}

/**
 * The paths used with `best` for load sharing, best excluded, at most
 * `max - 1`: the multipath-equal ones (multipathEqual) whose next hop is
 * neither the best's nor one already taken, in decision order. Empty when
 * `max` <= 1.
 */
export function selectMultipath<P extends DecisionPath>(paths: readonly P[], best: P, max: number, o: DecisionOptions): P[] {
  if (max <= 1 || paths.length < 2) return [];
  const equal = paths.filter((p) => p !== best && p.nextHop !== undefined && multipathEqual(best, p, o));
  if (equal.length === 0) return [];
  equal.sort((a, b) => comparePaths(a, b, { ...o, alwaysCompareMed: true }).winner || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const hops = new Set([best.nextHop?.address]);
  const out: P[] = [];
  for (const p of equal) {
    if (out.length >= max - 1) break;
    if (hops.has(p.nextHop!.address)) continue;
    hops.add(p.nextHop!.address);
    out.push(p);
  }
  return out;
}
