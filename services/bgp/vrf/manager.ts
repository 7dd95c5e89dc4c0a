// VRF tables and VPN import/export (RFC 4364 §4.3): pure, no I/O.
//
// Import: a VPN route (the VPN Loc-RIB's best for its RD + prefix) goes
// into every VRF that has one of its route targets among its import RTs,
// found through an RT -> VRFs index, so the work is O(RTs of the route)
// and done once per attribute set, not per route. A route that matches no
// VRF goes nowhere: there is no default or global table to fall back to.
// A VRF never imports its own exports (it holds the originals).
//
// Export: per destination, the best of the VRF's local paths (added through
// the API or learned from its CE peers) becomes a VPN route: the VRF's RD,
// its export RTs appended to the extended communities, a label per the label
// mode (or the label the path was added with), and the VRF's next hop (its
// PE's loopback; IPv4-mapped for VPN-IPv6, RFC 4659 §3.2.1.1) or, without
// one, none: the speaker puts its own (next-hop-self). Local paths are
// exported even when an imported path is the VRF's best for the prefix
// ("advertise best-external"), so a multihomed or hub site stays reachable.
// Imported paths are never re-exported.
//
// Changes on the fly are exact: new import RTs import exactly the VPN routes
// that carry one of them and none of the old ones; removed import RTs
// withdraw exactly the imported routes that carry none of the new ones. A
// new RD withdraws every export under the old RD and announces it under the
// new one; new export RTs, labels or next hop re-announce every export.
//
// Output goes to a listener, synchronously. A listener must not call back
// into the manager from inside a callback: queue (for instance, exports to
// put in the VPN Loc-RIB, whose best changes come back through
// vpnBestChanged) and apply after the call returns.
import type { PathAttributes } from '../wire/attributes.js';
import { Afi, Safi } from '../wire/constants.js';
import type { NextHop } from '../wire/next-hop.js';
import type { Family } from '../wire/nlri.js';
import type { Path } from '../rib/path.js';
import { encodeRd, rdEquals } from '../../common/vpn/rd.js';
import { BestPathTable } from '../decision/best-path-table.js';
import { type DecisionOptions, type DecisionPath, type PeerInfo, selectMultipath, unknownPeerInfo } from '../decision/decision.js';
import { VrfConfig, VrfConfigError } from './config.js';
import type { LabelAllocator } from './labels.js';
import type { RouteTarget } from '../../common/vpn/route-target.js';
import { intersects, routeTargetKeys, rtFromNumber, rtNumber, withRouteTargets } from './route-targets.js';

/** A VPN path made from a VRF's local path; `vrf` names the VRF it came from. */
export interface ExportedPath extends Path {
  readonly vrf: string;
  /** The local path it was made from. */
  readonly origin: Path;
  /** Who holds its label in the allocator ('ce:ADDRESS', 'AFI:DEST'); undefined for the per-vrf label. */
  readonly labelOwner: string | undefined;
}

export const VPNV4_FAMILY: Family = Object.freeze({ afi: Afi.IPV4, safi: Safi.MPLS_VPN });
export const VPNV6_FAMILY: Family = Object.freeze({ afi: Afi.IPV6, safi: Safi.MPLS_VPN });

export type VrfEvent =
  | { readonly type: 'max-routes-warning'; readonly vrf: string; readonly count: number; readonly limit: number; readonly warningPercent: number }
  /** The limit was reached: `refusing` says whether new destinations are now held back (false: warning-only). */
  | { readonly type: 'max-routes-exceeded'; readonly vrf: string; readonly count: number; readonly limit: number; readonly refusing: boolean }
  /** One path held back by the limit; it is installed when room frees up. */
  | { readonly type: 'route-refused'; readonly vrf: string; readonly afi: number; readonly dest: string; readonly path: Path }
  /** A held-back path installed after all. */
  | { readonly type: 'route-admitted'; readonly vrf: string; readonly afi: number; readonly dest: string; readonly path: Path }
  /** No label left for a per-prefix / per-CE export: the route is not exported. */
  | { readonly type: 'label-exhausted'; readonly vrf: string; readonly afi: number; readonly dest: string };

export interface VrfListener {
  /**
   * The best path of a VRF destination changed; undefined when it has none.
   * Also called with best === previous when only the paths used with the best (multipath()) changed.
   * `dest` is the unicast key of the prefix (routeKey of the IPv4/IPv6 unicast route).
   * The best is a local path (unicast family) or an imported VPN path (its RD, labels and next hop).
   */
  route?(vrf: string, afi: number, dest: string, best: Path | undefined, previous: Path | undefined): void;
  /** A VPN route to announce (it replaces the one with the same key). */
  exportAnnounce?(path: ExportedPath): void;
  /** A VPN route to withdraw. */
  exportWithdraw?(path: ExportedPath): void;
  event?(e: VrfEvent): void;
}

export interface VrfManagerOptions {
  /** Best path inside each VRF. Imported paths are VPN paths; their source is the peer they came from. */
  readonly decision: DecisionOptions;
  /** Labels for per-prefix and per-ce VRFs; without it those modes cannot export. */
  readonly labels?: LabelAllocator;
  /** Every current VPN best path (both VPN families): what import RTs added on the fly are matched against. */
  readonly vpnBests: () => Iterable<Path>;
  readonly listener: VrfListener;
}

/** What a define() did on the import side (the export side goes to the listener). */
export interface VrfUpdate {
  readonly created: boolean;
  /** VPN paths newly imported (installed, or held back by the route limit). */
  readonly imported: Path[];
  /** Imported VPN paths taken out because none of their RTs is imported any more. */
  readonly withdrawn: Path[];
}

interface Pending {
  readonly ai: number;
  readonly dest: string;
  readonly path: Path;
  readonly imported: boolean;
}

/** What an import change does to one VRF destination. */
interface Move {
  readonly ai: number;
  readonly dest: string;
  readonly adds: Path[];
  readonly drops: Path[];
}

function move(moves: Map<string, Move>, ai: number, dest: string): Move {
  const k = `${ai}\u0000${dest}`;
  let m = moves.get(k);
  if (!m) moves.set(k, (m = { ai, dest, adds: [], drops: [] }));
  return m;
}

const EMPTY_VRFS: readonly VrfState[] = Object.freeze([]);
const NO_PATHS: readonly Path[] = Object.freeze([]);

function samePaths(a: readonly Path[], b: readonly Path[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

function afiIndex(afi: number): number {
  return afi === Afi.IPV6 ? 1 : 0;
}
function indexAfi(ai: number): number {
  return ai === 1 ? Afi.IPV6 : Afi.IPV4;
}

/** The VRF destination (unicast key) of a VPN key: the RD's eight octets left out. */
export function vpnKeyToDest(vpnKey: string): string {
  return vpnKey.charAt(0) + vpnKey.slice(9);
}

/** A VRF-local path learnt from a CE peer; the API's originated paths are 'local'. */
function isLearnt(p: Path): boolean {
  return p.source !== 'local';
}

function isVpn(p: Path): boolean {
  return p.family.safi === Safi.MPLS_VPN;
}
const isVpnFamily = isVpn;

/** The next hop of a VRF's VPN-IPv4 and VPN-IPv6 exports. */
function exportNextHops(c: VrfConfig): [NextHop | undefined, NextHop | undefined] {
  if (!c.nextHop) return [undefined, undefined];
  return [Object.freeze({ address: c.nextHop }), Object.freeze({ address: `::ffff:${c.nextHop}` })];
}

class VrfState {
  importKeys: Set<number>;
  rdChars: string;
  nextHops: [NextHop | undefined, NextHop | undefined];
  /** Every path, local and imported, per address family: what the VRF forwards with. */
  readonly tables: [BestPathTable<Path>, BestPathTable<Path>];
  /** Local paths only: what the VRF exports. */
  readonly local: [BestPathTable<Path>, BestPathTable<Path>];
  readonly exported: [Map<string, ExportedPath>, Map<string, ExportedPath>] = [new Map(), new Map()];
  exportAttrs = new WeakMap<object, PathAttributes>();
  readonly labelArrays = new Map<number, readonly number[]>();
  readonly ceLabels = new Map<string, { label: number; refs: number }>();
  readonly pending = new Map<string, Pending>();
  /** Gated VRFs (VrfConfig.gateCeExports): per family, the destinations whose CE-learnt best may be exported. */
  exportReady: [Set<string>, Set<string>] = [new Set(), new Set()];
  warned = false;
  exceeded = false;

  constructor(
    public config: VrfConfig,
    decision: DecisionOptions,
  ) {
    this.importKeys = new Set(config.importRts.map(rtNumber));
    this.rdChars = rdChars(config);
    this.nextHops = exportNextHops(config);
    this.tables = [new BestPathTable(decision), new BestPathTable(decision)];
    this.local = [new BestPathTable(decision), new BestPathTable(decision)];
  }

  get name(): string {
    return this.config.name;
  }

  get count(): number {
    return this.tables[0].size + this.tables[1].size;
  }
}

function rdChars(c: VrfConfig): string {
  return String.fromCharCode(...encodeRd(c.rd));
}

function sameRts(a: VrfConfig['exportRts'], b: VrfConfig['exportRts']): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a.map(rtNumber));
  return b.every((r) => s.has(rtNumber(r)));
}

function pendingKey(ai: number, dest: string, path: Path, imported: boolean): string {
  return imported ? `${ai}\u0000${path.key}` : `${ai}\u0001${path.key}\u0000${path.source}`;
}

/**
 * A VPN path another VRF of this speaker exported (source 'local') is
 * another PE's route (BGP-as-a-service: every PE's VRFs live in this
 * speaker), so a VRF compares it as one learnt over iBGP from that PE (its
 * next hop), not as a locally originated path with the local weight: else
 * a dual-homed site's PE would prefer the other PE's copy of its own CE's
 * route to the CE's (RFC 4271 §9.1.2.2: eBGP over iBGP) and the two PEs
 * would send the site's traffic to each other.
 */
function siblingPe(p: DecisionPath): PeerInfo | undefined {
  if (p.source !== 'local' || !isVpnFamily(p as Path)) return undefined;
  const nh = (p as Path).nextHop?.address;
  return nh ? unknownPeerInfo(nh) : undefined;
}

export class VrfManager {
  private readonly vrfs = new Map<string, VrfState>();
  /** Import RT -> VRFs that import it. */
  private readonly byImportRt = new Map<number, VrfState[]>();
  private generation = 0;
  /** Labels local paths were added with (AddVrfPath's label), by path object. */
  private readonly givenLabels = new WeakMap<Path, number>();
  private targetCache = new WeakMap<object, { gen: number; vrfs: readonly VrfState[] }>();

  private readonly decision: DecisionOptions;

  constructor(private readonly o: VrfManagerOptions) {
    const base = o.decision.resolver;
    // A VRF's local paths point at directly attached CEs (or at nothing): always reachable.
    this.decision = { ...o.decision, peerOf: siblingPe, resolver: { cost: (p) => (p.source === 'local' || !isVpnFamily(p as Path) ? 0 : base.cost(p)) } };
  }

  // ---- definitions ----

  /** Creates or updates a VRF; applies exactly the difference. Throws VrfConfigError. */
  define(config: VrfConfig): VrfUpdate {
    for (const other of this.vrfs.values()) {
      if (other.name !== config.name && rdEquals(other.config.rd, config.rd)) {
        throw new VrfConfigError('rd', `VRF ${other.name} already uses this route distinguisher`);
      }
    }
    if (config.labelMode !== 'per-vrf' && !this.o.labels) throw new VrfConfigError('label_mode', `${config.labelMode} needs a label allocator`);
    const v = this.vrfs.get(config.name);
    if (!v) return this.create(config);
    const update: VrfUpdate = { created: false, imported: [], withdrawn: [] };
    const old = v.config;
    v.config = config;
    // Import RTs: exact difference.
    const newKeys = new Set(config.importRts.map(rtNumber));
    const oldKeys = v.importKeys;
    const added = new Set([...newKeys].filter((k) => !oldKeys.has(k)));
    const removed = [...oldKeys].filter((k) => !newKeys.has(k));
    if (added.size || removed.length) {
      this.unindex(v);
      v.importKeys = newKeys;
      this.index(v);
      const moves = new Map<string, Move>();
      if (removed.length) this.dropUnmatched(v, newKeys, update.withdrawn, moves);
      if (added.size) this.importMatching(v, added, oldKeys, update.imported, moves);
      this.applyMoves(v, moves);
    }
    // Export side: a new RD withdraws and re-announces; new RTs or labels re-announce.
    const rdChanged = !rdEquals(old.rd, config.rd);
    const labelsChanged =
      old.labelMode !== config.labelMode || old.label !== config.label || old.ipv6Label !== config.ipv6Label || old.labelBlock?.first !== config.labelBlock?.first || old.labelBlock?.last !== config.labelBlock?.last;
    if (rdChanged || labelsChanged || old.nextHop !== config.nextHop || !sameRts(old.exportRts, config.exportRts)) {
      v.rdChars = rdChars(config);
      v.nextHops = exportNextHops(config);
      v.exportAttrs = new WeakMap();
      this.reexport(v, rdChanged, labelsChanged || rdChanged);
    }
    // The gate switched: CE-learnt bests of prefixes not ready leave the export, or all of them join it.
    if (!!old.gateCeExports !== !!config.gateCeExports) {
      for (let ai = 0; ai < 2; ai++) for (const [dest, best] of v.local[ai]!.bests()) if (isLearnt(best)) this.exportDest(v, ai, dest, best);
    }
    // Multipath on, off or wider: every destination with more than one path may use others now.
    if ((old.multipath ?? 1) !== (config.multipath ?? 1)) this.multipathReconfigured(v, old);
    // Limit: maybe room for held-back routes, maybe already over.
    this.admitPending(v);
    this.checkLimits(v, false);
    return update;
  }

  /** Deletes a VRF: every route leaves its table (reported) and every export is withdrawn. */
  remove(name: string): boolean {
    const v = this.vrfs.get(name);
    if (!v) return false;
    this.unindex(v);
    this.vrfs.delete(name);
    const l = this.o.listener;
    for (let ai = 0; ai < 2; ai++) {
      for (const ep of v.exported[ai]!.values()) {
        this.releaseLabel(v, ep);
        l.exportWithdraw?.(ep);
      }
      v.exported[ai]!.clear();
      const afi = indexAfi(ai);
      v.tables[ai]!.clear(l.route ? (dest, best) => l.route!(name, afi, dest, undefined, best) : undefined);
      v.local[ai]!.clear();
    }
    v.pending.clear();
    return true;
  }

  get(name: string): VrfConfig | undefined {
    return this.vrfs.get(name)?.config;
  }

  list(): VrfConfig[] {
    return [...this.vrfs.values()].map((v) => v.config);
  }

  // ---- reading ----

  /** The VRF's table for an address family (read-only use). */
  table(name: string, afi: number): BestPathTable<Path> | undefined {
    return this.vrfs.get(name)?.tables[afiIndex(afi)];
  }

  /**
   * The imported paths used with the destination's best for load sharing
   * (VrfConfig.multipath), best excluded, in decision order; empty when
   * multipath is off or the best is not an imported path.
   */
  multipath(name: string, afi: number, dest: string): Path[] {
    const v = this.vrfs.get(name);
    return v ? [...this.multipathOf(v, afiIndex(afi), dest)] : [];
  }

  /** Destinations in the VRF (both families), the unit of the route limit. */
  routeCount(name: string): number {
    return this.vrfs.get(name)?.count ?? 0;
  }

  /** Paths held back by the route limit. */
  refused(name: string): Path[] {
    const v = this.vrfs.get(name);
    return v ? [...v.pending.values()].map((p) => p.path) : [];
  }

  /** The VPN routes a VRF exports now. */
  *exports(name: string): IterableIterator<ExportedPath> {
    const v = this.vrfs.get(name);
    if (!v) return;
    yield* v.exported[0].values();
    yield* v.exported[1].values();
  }

  /** Every route target some VRF imports: what this PE asks its peers for (RFC 4684 rtMemberships). */
  importRouteTargets(): RouteTarget[] {
    return [...this.byImportRt.keys()].map(rtFromNumber);
  }

  /** Names of the VRFs a VPN path imports into now (O(RTs), cached per attribute set). */
  importTargets(path: Path): string[] {
    return this.targets(path).map((v) => v.name);
  }

  // ---- VPN routes in ----

  /**
   * The VPN Loc-RIB's best for one RD + prefix changed (either may be
   * undefined; both have the same key). Pass what BestPathTable returned.
   */
  vpnBestChanged(best: Path | undefined, previous: Path | undefined): void {
    if (previous && isVpn(previous)) {
      const keep = best && best.key === previous.key ? this.targets(best) : EMPTY_VRFS;
      for (const v of this.targets(previous)) {
        if (keep.includes(v)) continue;
        this.uninstall(v, afiIndex(previous.family.afi), vpnKeyToDest(previous.key), previous, true);
      }
    }
    if (best && isVpn(best)) {
      const targets = this.targets(best);
      if (targets.length === 0) return;
      const ai = afiIndex(best.family.afi);
      const dest = vpnKeyToDest(best.key);
      for (const v of targets) this.install(v, ai, dest, best, true);
    }
  }

  // ---- local routes (API, CE peers) ----

  /**
   * Adds or replaces a local path (IPv4/IPv6 unicast family, key = routeKey)
   * in a VRF, exported with `label` when given (else the VRF's label mode
   * gives one). Returns false when the route limit held it back (reported as
   * an event; installed later when room frees up).
   */
  addLocal(vrf: string, path: Path, label?: number): boolean {
    const v = this.vrfs.get(vrf);
    if (!v) throw new VrfConfigError('vrf', `no VRF ${vrf}`);
    if (isVpn(path)) throw new VrfConfigError('family', 'a VRF-local path is IPv4/IPv6 unicast');
    if (label !== undefined) {
      if (!Number.isInteger(label) || label < 16 || label > 0xfffff) throw new VrfConfigError('label', `${label} is not in 16..1048575`);
      this.givenLabels.set(path, label);
    }
    return this.install(v, afiIndex(path.family.afi), path.key, path, false);
  }

  /** Removes a local path by family, key and source. Returns whether one was there (installed or held back). */
  removeLocal(vrf: string, family: Family, key: string, source: string): boolean {
    const v = this.vrfs.get(vrf);
    if (!v) return false;
    const probe = { key, source } as Path;
    return this.uninstall(v, afiIndex(family.afi), key, probe, false);
  }

  // ---- internals ----

  private create(config: VrfConfig): VrfUpdate {
    const v = new VrfState(config, this.decision);
    this.vrfs.set(config.name, v);
    this.index(v);
    const update: VrfUpdate = { created: true, imported: [], withdrawn: [] };
    if (v.importKeys.size) {
      const moves = new Map<string, Move>();
      this.importMatching(v, v.importKeys, new Set(), update.imported, moves);
      this.applyMoves(v, moves);
    }
    return update;
  }

  private index(v: VrfState): void {
    for (const k of v.importKeys) {
      const list = this.byImportRt.get(k);
      if (list) list.push(v);
      else this.byImportRt.set(k, [v]);
    }
    this.generation++;
  }

  private unindex(v: VrfState): void {
    for (const k of v.importKeys) {
      const list = this.byImportRt.get(k);
      if (!list) continue;
      const i = list.indexOf(v);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byImportRt.delete(k);
    }
    this.generation++;
  }

  /** VRFs a VPN path imports into, without the VRF it was exported from. */
  private targets(path: Path): readonly VrfState[] {
    const attrs = path.attributes;
    let hit = this.targetCache.get(attrs);
    if (!hit || hit.gen !== this.generation) {
      const keys = routeTargetKeys(attrs);
      let vrfs: VrfState[] | undefined;
      for (const k of keys) {
        const list = this.byImportRt.get(k);
        if (!list) continue;
        for (const v of list) {
          if (!vrfs) vrfs = [v];
          else if (!vrfs.includes(v)) vrfs.push(v);
        }
      }
      hit = { gen: this.generation, vrfs: vrfs ?? EMPTY_VRFS };
      this.targetCache.set(attrs, hit);
    }
    const from = (path as Partial<ExportedPath>).vrf;
    if (from === undefined) return hit.vrfs;
    return hit.vrfs.some((v) => v.name === from) ? hit.vrfs.filter((v) => v.name !== from) : hit.vrfs;
  }

  /** Import RTs removed: the imported paths that carry none of `keep` go (held-back ones at once). */
  private dropUnmatched(v: VrfState, keep: ReadonlySet<number>, out: Path[], moves: Map<string, Move>): void {
    for (let ai = 0; ai < 2; ai++) {
      for (const [dest, p] of v.tables[ai]!.allPaths()) {
        if (!isVpn(p) || intersects(routeTargetKeys(p.attributes), keep)) continue;
        move(moves, ai, dest).drops.push(p);
        out.push(p);
      }
    }
    for (const [k, p] of [...v.pending]) {
      if (!p.imported || intersects(routeTargetKeys(p.path.attributes), keep)) continue;
      v.pending.delete(k);
      out.push(p.path);
    }
  }

  /** Import RTs added: the VPN bests that carry one of `added` and none of `had` (those are in already). */
  private importMatching(v: VrfState, added: ReadonlySet<number>, had: ReadonlySet<number>, out: Path[], moves: Map<string, Move>): void {
    for (const p of this.o.vpnBests()) {
      if (!isVpn(p) || (p as Partial<ExportedPath>).vrf === v.name) continue;
      const keys = routeTargetKeys(p.attributes);
      if (!intersects(keys, added) || intersects(keys, had)) continue;
      move(moves, afiIndex(p.family.afi), vpnKeyToDest(p.key)).adds.push(p);
      out.push(p);
    }
  }

  /**
   * Applies an import change destination by destination: additions first (an
   * existing destination never hits the route limit), then removals, then
   * at most one route event per destination, only if its best changed; so
   * a destination that trades an old-RT path for a new-RT one never flaps.
   */
  private applyMoves(v: VrfState, moves: Map<string, Move>): void {
    for (const m of moves.values()) {
      const table = v.tables[m.ai]!;
      const before = table.best(m.dest);
      const mpBefore = this.multipathOf(v, m.ai, m.dest);
      for (const p of m.adds) this.install(v, m.ai, m.dest, p, true, false);
      for (const p of m.drops) this.uninstall(v, m.ai, m.dest, p, true, false);
      const after = table.best(m.dest);
      if (after !== before || !samePaths(mpBefore, this.multipathOf(v, m.ai, m.dest))) this.o.listener.route?.(v.name, indexAfi(m.ai), m.dest, after, before);
    }
  }

  /** Puts a path in the VRF unless the route limit holds it back. */
  private install(v: VrfState, ai: number, dest: string, path: Path, imported: boolean, emit = true): boolean {
    const table = v.tables[ai]!;
    const mr = v.config.maxRoutes;
    if (mr && !table.has(dest) && v.count >= mr.limit) {
      if (!mr.warningOnly) {
        v.pending.set(pendingKey(ai, dest, path, imported), { ai, dest, path, imported });
        this.checkLimits(v, true);
        this.o.listener.event?.({ type: 'route-refused', vrf: v.name, afi: indexAfi(ai), dest, path });
        return false;
      }
    }
    const mpBefore = emit ? this.multipathOf(v, ai, dest) : NO_PATHS;
    const c = table.upsert(dest, path, imported);
    const changed = c.changed;
    const best = c.best;
    const previous = c.previous;
    if (!imported) {
      const lc = v.local[ai]!.upsert(dest, path);
      if (lc.changed) this.exportDest(v, ai, dest, lc.best);
    }
    if (emit && (changed || !samePaths(mpBefore, this.multipathOf(v, ai, dest)))) this.o.listener.route?.(v.name, indexAfi(ai), dest, best, previous);
    this.checkLimits(v, false);
    return true;
  }

  /** Takes a path (by key, and source for local ones) out of the VRF or its held-back list. */
  private uninstall(v: VrfState, ai: number, dest: string, path: Path, imported: boolean, emit = true): boolean {
    if (v.pending.delete(pendingKey(ai, dest, path, imported))) return true;
    const table = v.tables[ai]!;
    const mpBefore = emit ? this.multipathOf(v, ai, dest) : NO_PATHS;
    const c = table.remove(dest, path.key, imported ? undefined : path.source);
    if (c.replaced === undefined) return false;
    const changed = c.changed;
    const best = c.best;
    const previous = c.previous;
    if (!imported) {
      const lc = v.local[ai]!.remove(dest, path.key, path.source);
      if (lc.changed) this.exportDest(v, ai, dest, lc.best);
    }
    if (emit && (changed || !samePaths(mpBefore, this.multipathOf(v, ai, dest)))) this.o.listener.route?.(v.name, indexAfi(ai), dest, best, previous);
    if (!table.has(dest)) this.admitPending(v);
    this.checkLimits(v, false);
    return true;
  }

  /** The paths used with the best of one destination (see multipath()). */
  private multipathOf(v: VrfState, ai: number, dest: string): readonly Path[] {
    const max = v.config.multipath ?? 1;
    if (max <= 1) return NO_PATHS;
    const table = v.tables[ai]!;
    const best = table.best(dest);
    if (!best || !isVpn(best)) return NO_PATHS;
    const paths = table.paths(dest);
    if (paths.length < 2) return NO_PATHS;
    return selectMultipath(paths.filter(isVpn), best, max, this.decision);
  }

  /** Reports every destination whose multipath set the new setting changes (its best stays). */
  private multipathReconfigured(v: VrfState, old: VrfConfig): void {
    const now = v.config;
    for (let ai = 0; ai < 2; ai++) {
      for (const dest of v.tables[ai]!.destinations()) {
        if (v.tables[ai]!.paths(dest).length < 2) continue;
        v.config = old;
        const before = this.multipathOf(v, ai, dest);
        v.config = now;
        if (samePaths(before, this.multipathOf(v, ai, dest))) continue;
        const best = v.tables[ai]!.best(dest);
        this.o.listener.route?.(v.name, indexAfi(ai), dest, best, best);
      }
    }
  }

  /** Installs held-back paths, oldest first, while there is room (or their destination is already in). */
  private admitPending(v: VrfState): void {
    if (v.pending.size === 0) return;
    const mr = v.config.maxRoutes;
    for (const [k, p] of v.pending) {
      if (mr && !mr.warningOnly && v.count >= mr.limit && !v.tables[p.ai]!.has(p.dest)) continue;
      v.pending.delete(k);
      this.install(v, p.ai, p.dest, p.path, p.imported);
      this.o.listener.event?.({ type: 'route-admitted', vrf: v.name, afi: indexAfi(p.ai), dest: p.dest, path: p.path });
    }
  }

  /** Warning and limit events, once per crossing; re-armed below the mark. */
  private checkLimits(v: VrfState, refusing: boolean): void {
    const mr = v.config.maxRoutes;
    const l = this.o.listener;
    if (!mr) {
      v.warned = v.exceeded = false;
      return;
    }
    const count = v.count;
    const warnAt = Math.ceil((mr.limit * mr.warningPercent) / 100);
    if (count >= warnAt && !v.warned) {
      v.warned = true;
      l.event?.({ type: 'max-routes-warning', vrf: v.name, count, limit: mr.limit, warningPercent: mr.warningPercent });
    } else if (count < warnAt) v.warned = false;
    const over = refusing || v.pending.size > 0 || count > mr.limit;
    if (over && !v.exceeded) {
      v.exceeded = true;
      l.event?.({ type: 'max-routes-exceeded', vrf: v.name, count, limit: mr.limit, refusing: !mr.warningOnly });
    } else if (!over) v.exceeded = false;
  }

  // ---- export ----

  /**
   * Export gating (VrfConfig.gateCeExports): makes `ready` (per family, VRF
   * destination keys) the complete set of destinations whose CE-learnt best
   * may be exported; the others' are withdrawn or held back. Returns the
   * CE-learnt bests exported and held after it.
   */
  setExportReady(name: string, ready: readonly [ReadonlySet<string>, ReadonlySet<string>]): { exported: number; held: number } {
    const v = this.vrfs.get(name);
    if (!v) throw new VrfConfigError('vrf', `no VRF ${name}`);
    let exported = 0;
    let held = 0;
    for (let ai = 0; ai < 2; ai++) {
      const before = v.exportReady[ai]!;
      const after = new Set(ready[ai]);
      v.exportReady[ai] = after;
      for (const [dest, best] of v.local[ai]!.bests()) {
        if (!isLearnt(best)) continue;
        if (before.has(dest) !== after.has(dest)) this.exportDest(v, ai, dest, best);
        if (v.exported[ai]!.has(dest)) exported++;
        else held++;
      }
    }
    return { exported, held };
  }

  private reexport(v: VrfState, withdrawFirst: boolean, newLabels: boolean): void {
    const l = this.o.listener;
    for (let ai = 0; ai < 2; ai++) {
      const exported = v.exported[ai]!;
      if (withdrawFirst || newLabels) {
        for (const ep of exported.values()) {
          this.releaseLabel(v, ep);
          if (withdrawFirst) l.exportWithdraw?.(ep);
        }
        exported.clear();
      }
      for (const [dest, best] of v.local[ai]!.bests()) this.exportDest(v, ai, dest, best);
    }
  }

  /** Exports (or withdraws) the VPN route for one VRF destination from its best local path. */
  private exportDest(v: VrfState, ai: number, dest: string, best: Path | undefined): void {
    const l = this.o.listener;
    // Gated: a CE-learnt best is not exported before its egress forwarding is installed (a label must lead somewhere, RFC 4364 §4.3.2).
    if (best && v.config.gateCeExports && isLearnt(best) && !v.exportReady[ai]!.has(dest)) best = undefined;
    const exported = v.exported[ai]!;
    const old = exported.get(dest);
    if (!best) {
      if (old) {
        exported.delete(dest);
        this.releaseLabel(v, old);
        l.exportWithdraw?.(old);
      }
      return;
    }
    const label = this.labelFor(v, ai, dest, best, old);
    if (label === undefined) {
      l.event?.({ type: 'label-exhausted', vrf: v.name, afi: indexAfi(ai), dest });
      if (old) {
        exported.delete(dest);
        this.releaseLabel(v, old);
        l.exportWithdraw?.(old);
      }
      return;
    }
    let labels = v.labelArrays.get(label);
    if (!labels) v.labelArrays.set(label, (labels = Object.freeze([label])));
    const ep: ExportedPath = {
      family: ai === 1 ? VPNV6_FAMILY : VPNV4_FAMILY,
      key: dest.charAt(0) + v.rdChars + dest.slice(1),
      route: { prefix: best.route.prefix, length: best.route.length, rd: v.config.rd, labels },
      nextHop: v.nextHops[ai],
      attributes: this.exportAttributes(v, best.attributes),
      source: 'local',
      since: best.since,
      stale: false,
      vrf: v.name,
      origin: best,
      labelOwner: this.owner,
    };
    exported.set(dest, ep);
    // A per-prefix label stays with the destination; anything else the old export held is given back.
    if (old && !(old.labelOwner !== undefined && old.labelOwner === ep.labelOwner && !old.labelOwner.startsWith('ce:'))) this.releaseLabel(v, old);
    l.exportAnnounce?.(ep);
  }

  /** One exported attribute set per local attribute set, so an UPDATE's routes stay packed together. */
  private exportAttributes(v: VrfState, a: Readonly<PathAttributes>): PathAttributes {
    let out = v.exportAttrs.get(a);
    if (!out) {
      out = { ...a, extendedCommunities: withRouteTargets(a.extendedCommunities, v.config.exportRts) };
      // The IPv4 NEXT_HOP attribute does not travel with a VPN route (MP_REACH_NLRI carries it).
      delete out.nextHop;
      if (out.extendedCommunities!.length === 0) delete out.extendedCommunities;
      v.exportAttrs.set(a, out);
    }
    return out;
  }

  private ceOf(p: Path): string {
    return p.nextHop?.address ?? 'self';
  }

  /** The label for an export, and (in `this.owner`) who holds it. The old export's label is released by the caller. */
  private labelFor(v: VrfState, ai: number, dest: string, best: Path, old: ExportedPath | undefined): number | undefined {
    const c = v.config;
    this.owner = undefined;
    const given = this.givenLabels.get(best);
    if (given !== undefined) return given;
    // A per-VRF label per address family: VPN-IPv6 exports (ai 1) carry the IPv6 label when there is one.
    if (c.labelMode === 'per-vrf') return ai === 1 ? (c.ipv6Label ?? c.label) : c.label;
    if (c.labelMode === 'per-prefix') {
      this.owner = `${ai}:${dest}`;
      // The destination keeps its label across updates.
      if (old && old.labelOwner === this.owner) return old.route.labels![0];
      return this.o.labels!.allocate(c.name, this.owner);
    }
    // per-ce: one label per CE next hop, counted by use.
    const ce = this.ceOf(best);
    this.owner = `ce:${ce}`;
    const held = v.ceLabels.get(ce);
    if (held) {
      held.refs++;
      return held.label;
    }
    const label = this.o.labels!.allocate(c.name, this.owner);
    if (label !== undefined) v.ceLabels.set(ce, { label, refs: 1 });
    return label;
  }

  private owner: string | undefined;

  private releaseLabel(v: VrfState, ep: ExportedPath): void {
    const owner = ep.labelOwner;
    if (owner === undefined) return;
    if (owner.startsWith('ce:')) {
      const ce = owner.slice(3);
      const held = v.ceLabels.get(ce);
      if (!held || --held.refs > 0) return;
      v.ceLabels.delete(ce);
    }
    this.o.labels?.release(v.config.name, owner);
  }
}
