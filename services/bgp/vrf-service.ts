// The VRFs of the bgp service: VrfManager (pure) wired to the speaker's
// Loc-RIB. VPN best changes go in as imports; exports go out as local VPN
// paths (the VRF's next hop, or next-hop-self); VRF best changes and route-limit events go to
// watchers (the gRPC stream) and to the VRF's PE-CE peers (ce-binding.ts).
//
// VrfManager must not be re-entered from its own callbacks, and putting an
// export in the Loc-RIB may report a best change synchronously: exports and
// best changes are queued while a manager call runs and applied after it.
import type { Logger } from '../common/logger.js';
import type { DecisionOptions } from './decision/decision.js';
import { routeKey, type Path } from './rib/path.js';
import { IPV4_UNICAST, IPV6_UNICAST } from './speaker/config.js';
import { Afi, Safi } from './wire/constants.js';
import { familyKey, type Family, type Route } from './wire/nlri.js';
import { CeBinding, type CeHost } from './vrf/ce-binding.js';
import { vrfConfig, VrfConfigError, type VrfConfig, type VrfConfigInput } from './vrf/config.js';
import { VrfBlockLabelAllocator } from './vrf/labels.js';
import type { LocalPathInput, LocRibPort } from './vrf/loc-rib-port.js';
import type { Speaker } from './speaker/speaker.js';
import { VrfManager, VPNV4_FAMILY, VPNV6_FAMILY, type ExportedPath, type VrfEvent, type VrfUpdate } from './vrf/manager.js';
import { quoteId } from '../common/quote.js';

export class VrfNotFound extends Error {
  constructor(readonly vrf: string) {
    super(`no VRF ${quoteId(vrf)}`);
    this.name = 'VrfNotFound';
  }
}

/** A VRF managed by another owner (VrfConfig.owner), or by none, than the caller says. */
export class VrfOwnerMismatch extends Error {
  constructor(vrf: string, owner: string | undefined) {
    super(owner ? `VRF ${quoteId(vrf)} is managed by '${quoteId(owner)}'` : `VRF ${vrf} has no owner (a VRF of the bgp config file, or created without one)`);
    this.name = 'VrfOwnerMismatch';
  }
}

export class VrfExists extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VrfExists';
  }
}

export type VrfWatchEvent =
  /** A destination's best changed; `best` undefined: it left the VRF. `previous` gives the prefix then. */
  /** best === previous: only the paths used with the best changed (VrfConfig.multipath); `dest` is the destination's key. */
  | { readonly type: 'route'; readonly vrf: string; readonly afi: number; readonly best: Path | undefined; readonly previous: Path | undefined; readonly dest: string }
  | { readonly type: 'limit'; readonly event: VrfEvent; readonly at: number }
  | { readonly type: 'deleted'; readonly vrf: string };

export interface VrfCounters {
  warnings: number;
  exceeded: number;
  refused: number;
  labelExhausted: number;
}

export type MaxRoutesState = 'ok' | 'warning' | 'exceeded';

export type VrfPathOrigin = 'local' | 'ce' | 'imported';

/** A path to originate in a VRF, with the label to export it with (else the VRF's label mode gives it). */
export interface VrfPathAddition {
  readonly spec: LocalPathInput;
  readonly label?: number;
}

export interface VrfServiceOptions {
  /** Best path inside each VRF: the Loc-RIB's rules (peer facts, next-hop resolver). */
  readonly decision: DecisionOptions;
  readonly log: Logger;
  /** PE-CE sessions; without it only API-originated VRF routes exist. */
  readonly ce?: CeHost;
}

const familyOfAfi = (afi: number): Family => (afi === Afi.IPV6 ? IPV6_UNICAST : IPV4_UNICAST);

export function isVpnFamily(f: Family): boolean {
  return f.safi === Safi.MPLS_VPN;
}

export class VrfService {
  readonly manager: VrfManager;
  private readonly labels: VrfBlockLabelAllocator;
  private readonly watchers = new Set<(e: VrfWatchEvent) => void>();
  private readonly counters = new Map<string, VrfCounters>();
  /** Export of each local path that is exported now (the VRF's best local path per destination). */
  private readonly exportOf = new WeakMap<Path, ExportedPath>();
  /** Exports in the Loc-RIB, by family and key; and the Loc-RIB's path objects back to our exports. */
  private readonly exportsByKey = new Map<string, ExportedPath>();
  private readonly ribToExport = new WeakMap<Path, ExportedPath>();
  private readonly exportQueue: { path: ExportedPath; withdraw: boolean }[] = [];
  private readonly bestQueue: [Path | undefined, Path | undefined][] = [];
  private depth = 0;
  private draining = false;
  private readonly unsubscribe: () => void;
  readonly ce: CeBinding | undefined;

  constructor(
    private readonly rib: LocRibPort,
    private readonly o: VrfServiceOptions,
  ) {
    this.labels = new VrfBlockLabelAllocator((vrf) => this.manager.get(vrf)?.labelBlock);
    this.manager = new VrfManager({
      decision: o.decision,
      labels: this.labels,
      vpnBests: () => this.vpnBests(),
      listener: {
        route: (vrf, afi, dest, best, previous) => {
          // A multipath change alone leaves what CEs are told as it is.
          if (best !== previous) this.ce?.routeChanged(vrf, afi, best, previous);
          this.emit({ type: 'route', vrf, afi, best, previous, dest });
        },
        exportAnnounce: (p) => {
          this.exportOf.set(p.origin, p);
          this.exportQueue.push({ path: p, withdraw: false });
        },
        exportWithdraw: (p) => {
          if (this.exportOf.get(p.origin) === p) this.exportOf.delete(p.origin);
          this.exportQueue.push({ path: p, withdraw: true });
        },
        event: (e) => this.limitEvent(e),
      },
    });
    this.unsubscribe = rib.onBestChange((family, best, previous) => {
      if (!isVpnFamily(family)) return;
      this.bestQueue.push([best, previous]);
      if (this.depth === 0) this.drain();
    });
    this.ce = o.ce
      ? new CeBinding(o.ce, {
          log: o.log,
          exists: (vrf) => this.manager.get(vrf) !== undefined,
          add: (vrf, path, label) => this.run(() => this.manager.addLocal(vrf, path, label)),
          remove: (vrf, path) => this.run(() => this.manager.removeLocal(vrf, path.family, path.key, path.source)),
          bests: (vrf, afi) => this.bestsOf(vrf, afi),
        })
      : undefined;
  }

  close(): void {
    this.unsubscribe();
    this.ce?.close();
  }

  // ---- definitions ----

  /** Creates a VRF; VrfExists when the name (or its RD) is taken, VrfConfigError naming a bad field. */
  add(input: VrfConfigInput): VrfUpdate {
    const config = this.check(input);
    if (this.manager.get(config.name)) throw new VrfExists(`VRF ${config.name} exists`);
    this.checkRd(config);
    this.counters.set(config.name, { warnings: 0, exceeded: 0, refused: 0, labelExhausted: 0 });
    const update = this.run(() => this.manager.define(config));
    this.ce?.vrfDefined(config.name);
    this.importRtsChanged();
    return update;
  }

  /** Replaces a VRF's definition: exactly the difference is imported, withdrawn and re-exported. */
  update(input: VrfConfigInput): VrfUpdate {
    const config = this.check(input);
    const current = this.manager.get(config.name);
    if (!current) throw new VrfNotFound(config.name);
    // Ownership is fixed at creation: no controller takes over another's VRF or a static one.
    if (current.owner !== config.owner) throw new VrfOwnerMismatch(config.name, current.owner);
    this.checkRd(config);
    const update = this.run(() => this.manager.define(config));
    this.importRtsChanged();
    return update;
  }

  /** `owner`: remove it only if it is that owner's VRF (VrfOwnerMismatch otherwise). */
  remove(name: string, owner?: string): void {
    const current = this.manager.get(name);
    if (!current) throw new VrfNotFound(name);
    if (owner !== undefined && current.owner !== owner) throw new VrfOwnerMismatch(name, current.owner);
    this.run(() => this.manager.remove(name));
    this.counters.delete(name);
    this.ce?.vrfDeleted(name);
    this.emit({ type: 'deleted', vrf: name });
    this.importRtsChanged();
  }

  /**
   * Export gating (VrfConfig.gateCeExports): the complete set of routes whose
   * CE-learnt best the VRF may export. `owner`: only that owner's VRF.
   */
  setExportReady(name: string, owner: string | undefined, ready: readonly { family: Family; route: Route }[]): { exported: number; held: number } {
    const current = this.manager.get(name);
    if (!current) throw new VrfNotFound(name);
    if (current.owner !== owner) throw new VrfOwnerMismatch(name, current.owner);
    const dests: [Set<string>, Set<string>] = [new Set(), new Set()];
    for (const r of ready) dests[r.family.afi === Afi.IPV6 ? 1 : 0].add(routeKey(r.family, r.route));
    return this.run(() => this.manager.setExportReady(name, dests));
  }

  /** RFC 4684: the speaker advertises the difference to its RT-constraint peers (a no-op when the set is unchanged). */
  private importRtsChanged(): void {
    this.rib.importRouteTargetsChanged?.(this.manager.importRouteTargets());
  }

  get(name: string): VrfConfig {
    const c = this.manager.get(name);
    if (!c) throw new VrfNotFound(name);
    return c;
  }

  list(): VrfConfig[] {
    return this.manager.list();
  }

  private check(input: VrfConfigInput): VrfConfig {
    // per-prefix and per-ce VRFs without a label block export only the paths added with their own label.
    return vrfConfig(input);
  }

  private checkRd(config: VrfConfig): void {
    for (const other of this.manager.list()) {
      if (other.name === config.name) continue;
      const a = other.rd;
      const b = config.rd;
      if (a.form === b.form && a.administrator === b.administrator && a.assigned === b.assigned) {
        throw new VrfExists(`rd: VRF ${other.name} already uses this route distinguisher`);
      }
    }
  }

  // ---- status ----

  counts(name: string): VrfCounters {
    return this.counters.get(name) ?? { warnings: 0, exceeded: 0, refused: 0, labelExhausted: 0 };
  }

  maxRoutesState(name: string): MaxRoutesState {
    const mr = this.manager.get(name)?.maxRoutes;
    if (!mr) return 'ok';
    const count = this.manager.routeCount(name);
    if (this.manager.refused(name).length > 0 || count > mr.limit) return 'exceeded';
    return count >= Math.ceil((mr.limit * mr.warningPercent) / 100) ? 'warning' : 'ok';
  }

  exportedCount(name: string, afi: number): number {
    let n = 0;
    for (const e of this.manager.exports(name)) if (e.family.afi === afi) n++;
    return n;
  }

  /** Addresses of the peers bound to the VRF (config `vrf`). */
  cePeers(name: string): string[] {
    return this.ce?.peersOf(name) ?? [];
  }

  // ---- routes ----

  /**
   * Originates a route in the VRF (unicast family), exported with `label`
   * when given. Returns whether it was installed (not held back by the
   * limit) and its export.
   */
  addPath(vrf: string, spec: LocalPathInput, label?: number): { installed: boolean; path: Path; exported: ExportedPath | undefined } {
    const path = this.localPath(this.get(vrf), spec, label, '');
    const installed = this.run(() => this.manager.addLocal(vrf, path, label));
    return { installed, path, exported: this.exportOf.get(path) };
  }

  deletePath(vrf: string, family: Family, route: Route): boolean {
    this.get(vrf);
    return this.run(() => this.removeLocal(vrf, family, route));
  }

  /**
   * Many deletions, then additions, in one run of the manager (one pass of
   * exports into the Loc-RIB). Every addition is checked first, so a bad one
   * (VrfConfigError naming `add[i].…`) applies nothing.
   */
  changePaths(vrf: string, add: readonly VrfPathAddition[], del: readonly { family: Family; route: Route }[]): { installed: number; heldBack: number; deleted: number } {
    const config = this.get(vrf);
    const paths = add.map((a, i) => this.localPath(config, a.spec, a.label, `add[${i}].`));
    return this.run(() => {
      let deleted = 0;
      for (const d of del) if (this.removeLocal(vrf, d.family, d.route)) deleted++;
      let installed = 0;
      paths.forEach((p, i) => {
        if (this.manager.addLocal(vrf, p, add[i]!.label)) installed++;
      });
      return { installed, heldBack: paths.length - installed, deleted };
    });
  }

  /** A checked local path of the VRF; `field` prefixes the names of bad fields. */
  private localPath(config: VrfConfig, spec: LocalPathInput, label: number | undefined, field: string): Path {
    if (isVpnFamily(spec.family)) throw new VrfConfigError(`${field}path.family`, 'a VRF route is IPv4 or IPv6 unicast');
    if (label === undefined && config.labelMode !== 'per-vrf' && !config.labelBlock) {
      throw new VrfConfigError(`${field}label`, `VRF ${config.name} is ${config.labelMode} without a label block: give the path its label`);
    }
    if (label !== undefined && (!Number.isInteger(label) || label < 16 || label > 0xfffff)) throw new VrfConfigError(`${field}label`, `${label} is not in 16..1048575`);
    const family = familyOfAfi(spec.family.afi);
    const route: Route = { prefix: spec.route.prefix, length: spec.route.length };
    return { family, key: routeKey(family, route), route, nextHop: spec.nextHop, attributes: spec.attributes, source: 'local', since: Date.now(), stale: false };
  }

  private removeLocal(vrf: string, family: Family, route: Route): boolean {
    const f = familyOfAfi(family.afi);
    return this.manager.removeLocal(vrf, f, routeKey(f, { prefix: route.prefix, length: route.length }), 'local');
  }

  /** The VPN route a local path is exported as now, if it is. */
  exportOfPath(p: Path): ExportedPath | undefined {
    return this.exportOf.get(p);
  }

  /** [dest, path, best] of a VRF's table for one address family. */
  /**
   * The VRF's paths: every candidate (`all`), or the bests followed by the
   * paths used with them for load sharing (VrfConfig.multipath).
   */
  *paths(vrf: string, afi: number, all: boolean): IterableIterator<{ path: Path; best: boolean; multipath: boolean; dest: string }> {
    const t = this.manager.table(vrf, afi);
    if (!t) return;
    const multipath = this.manager.get(vrf)?.multipath ?? 1;
    if (!all) {
      const more: { path: Path; best: boolean; multipath: boolean; dest: string }[] = [];
      for (const [dest, p] of t.bests()) {
        yield { path: p, best: true, multipath: false, dest };
        if (multipath > 1) for (const m of this.manager.multipath(vrf, afi, dest)) more.push({ path: m, best: false, multipath: true, dest });
      }
      yield* more;
      return;
    }
    let dest = '';
    let used = new Set<Path>();
    for (const [d, p] of t.allPaths()) {
      if (d !== dest) {
        dest = d;
        used = multipath > 1 ? new Set(this.manager.multipath(vrf, afi, d)) : new Set();
      }
      yield { path: p, best: t.best(d) === p, multipath: used.has(p), dest: d };
    }
  }

  origin(p: Path): VrfPathOrigin {
    if (isVpnFamily(p.family)) return 'imported';
    return p.source === 'local' ? 'local' : 'ce';
  }

  private *bestsOf(vrf: string, afi: number): IterableIterator<Path> {
    const t = this.manager.table(vrf, afi);
    if (t) for (const [, p] of t.bests()) yield p;
  }

  // ---- watchers ----

  /** Every route and limit event from now on; returns the unsubscribe function. */
  watch(listener: (e: VrfWatchEvent) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  private emit(e: VrfWatchEvent): void {
    for (const w of this.watchers) {
      try {
        w(e);
      } catch (err) {
        this.o.log.error({ err }, 'VRF watcher failed');
      }
    }
  }

  private limitEvent(e: VrfEvent): void {
    const c = this.counters.get(e.vrf);
    if (c) {
      if (e.type === 'max-routes-warning') c.warnings++;
      else if (e.type === 'max-routes-exceeded') c.exceeded++;
      else if (e.type === 'route-refused') c.refused++;
      else if (e.type === 'label-exhausted') c.labelExhausted++;
    }
    if (e.type === 'max-routes-warning' || e.type === 'max-routes-exceeded') this.o.log.warn({ vrf: e.vrf, count: e.count, limit: e.limit }, `VRF ${e.type}`);
    this.emit({ type: 'limit', event: e, at: Date.now() });
  }

  // ---- the Loc-RIB side ----

  private *vpnBests(): IterableIterator<Path> {
    for (const f of [VPNV4_FAMILY, VPNV6_FAMILY]) for (const p of this.rib.bests(f)) yield this.ours(p)!;
  }

  /** A Loc-RIB path that is one of our exports, as the ExportedPath (so its VRF does not import it back). */
  private ours(p: Path | undefined): Path | undefined {
    if (!p || p.source !== 'local') return p;
    return this.ribToExport.get(p) ?? this.exportsByKey.get(`${familyKey(p.family.afi, p.family.safi)}|${p.key}`) ?? p;
  }

  private run<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
      if (this.depth === 0) this.drain();
    }
  }

  /** Applies queued exports to the Loc-RIB and queued best changes to the VRFs, until both are empty. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        const change = this.bestQueue.shift();
        if (change) {
          this.depth++;
          try {
            this.manager.vpnBestChanged(this.ours(change[0]), this.ours(change[1]));
          } finally {
            this.depth--;
          }
          continue;
        }
        const x = this.exportQueue.shift();
        if (!x) break;
        this.applyExport(x.path, x.withdraw);
      }
    } finally {
      this.draining = false;
    }
  }

  private applyExport(ep: ExportedPath, withdraw: boolean): void {
    const k = `${familyKey(ep.family.afi, ep.family.safi)}|${ep.key}`;
    try {
      if (withdraw) {
        // A later announce of the same key replaced it already: nothing to withdraw.
        if (this.exportsByKey.get(k) !== ep) return;
        this.rib.deletePath(ep.family, ep.route);
        this.exportsByKey.delete(k);
        return;
      }
      this.exportsByKey.set(k, ep);
      const rib = this.rib.addPath({
        family: ep.family,
        route: ep.route,
        ...(ep.nextHop ? { nextHop: ep.nextHop } : {}),
        attributes: ep.attributes as LocalPathInput['attributes'],
      });
      this.ribToExport.set(rib, ep);
    } catch (err) {
      this.o.log.error({ err, vrf: ep.vrf }, 'VRF export not applied');
    }
  }
}

/** The VrfService of a running speaker: its Loc-RIB, its decision rules, its PE-CE peers. */
export function vrfServiceFor(speaker: Speaker, log: Logger): VrfService {
  return new VrfService(speaker, { decision: speaker.decision, log, ce: speaker });
}
