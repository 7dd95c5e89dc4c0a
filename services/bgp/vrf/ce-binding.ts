// PE-CE sessions (RFC 4364 §7): a peer whose config names a VRF feeds its
// IPv4/IPv6 unicast routes into that VRF as local routes, and is offered
// the VRF's best paths as plain unicast (Peer.announce / withdraw: its
// Adj-RIB-Out is computed from what it is offered, with the eBGP rules of
// export.ts: our AS prepended, next hop self). A route is not offered back to
// the CE it came from. Route targets stay inside the provider network.
//
// The speaker keeps such a peer's routes out of the global Loc-RIB and sends
// it nothing global; its routes reach the VRF through the speaker's route events.
//
// A CE peer with a route_label (the per-CE label the controller allocated
// for its access) has its routes exported from the VRF with that label,
// whatever the VRF's label mode.
//
// Site of origin (RFC 4364 §7, RFC 4360 §5): a CE peer with a site_of_origin
// has its routes stamped with that route origin (replacing any the CE sent),
// so the VRF's export carries it to the other PEs; a route carrying a CE
// peer's own site of origin is never offered to it (the route came from
// its own site, through another of the site's accesses).
import type { Logger } from '../../common/logger.js';
import type { Path } from '../rib/path.js';
import { IPV4_UNICAST, IPV6_UNICAST, sameAdministeredValue, type PeerConfig } from '../speaker/config.js';
import type { AdministeredValue } from '../../common/vpn/administered-value.js';
import type { PathAttributes } from '../wire/attributes.js';
import type { ExtendedCommunity } from '../wire/communities.js';
import { Afi, Safi } from '../wire/constants.js';
import type { Family } from '../wire/nlri.js';
import { vpnKeyToDest } from './manager.js';

/** The part of a speaker Peer the binding uses. */
export interface CePeer {
  readonly address: string;
  readonly config: PeerConfig;
  readonly adjRibIn: { readonly table: { paths(family: Family): Iterable<Path> } };
  /** Offers paths to this peer alone (replacing those with the same key). */
  announce(family: Family, paths: readonly Path[]): void;
  /** Takes offered paths back, by key. */
  withdraw(family: Family, paths: readonly Path[]): void;
}

type CeEvent =
  | { readonly type: 'state'; readonly peer: string }
  | { readonly type: 'routes'; readonly peer: string; readonly announced: readonly Path[]; readonly withdrawn: readonly Path[] };

/** What the binding needs of the speaker. */
export interface CeHost {
  subscribe(listener: (e: CeEvent) => void, routes: boolean): () => void;
  listPeers(): readonly CePeer[];
}

export interface CeVrfs {
  readonly log: Logger;
  exists(vrf: string): boolean;
  /** `label`: the VPN label its export carries (the peer's route_label); undefined: the VRF's label mode decides. */
  add(vrf: string, path: Path, label?: number): void;
  remove(vrf: string, path: Path): void;
  bests(vrf: string, afi: number): Iterable<Path>;
}

const UNICAST: readonly Family[] = [IPV4_UNICAST, IPV6_UNICAST];

function isUnicast(f: Family): boolean {
  return f.safi === Safi.UNICAST;
}

export class CeBinding {
  /** Peer address -> the VRF its routes went into (the peer's config may have changed since). */
  private readonly fedInto = new Map<string, string>();
  /** Peer address -> the VRF whose table it is offered, and the site of origin it was offered for. */
  private readonly offering = new Map<string, { readonly vrf: string; readonly soo: AdministeredValue | undefined }>();
  private byVrf = new Map<string, CePeer[]>();
  private peers = new Map<string, CePeer>();
  /** Per CE attribute set, the same set with the site of origin stamped (and the site it was stamped with). */
  private readonly stampedAttributes = new WeakMap<object, { soo: AdministeredValue | undefined; localPref: number | undefined; attributes: PathAttributes }>();
  private readonly ceAttributes = new WeakMap<object, PathAttributes>();
  private readonly ceRoutes = new WeakMap<Path, Path>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly host: CeHost,
    private readonly vrfs: CeVrfs,
  ) {
    this.unsubscribe = host.subscribe((e) => this.event(e), true);
    this.refresh();
  }

  close(): void {
    this.unsubscribe();
  }

  peersOf(vrf: string): string[] {
    return (this.byVrf.get(vrf) ?? []).map((p) => p.address);
  }

  /** A VRF came into being: the routes its CEs already sent go in (the table reaches them as it fills). */
  vrfDefined(vrf: string): void {
    this.refresh();
    for (const p of this.byVrf.get(vrf) ?? []) {
      for (const f of UNICAST) for (const path of p.adjRibIn.table.paths(f)) this.feed(p.address, vrf, path);
    }
  }

  vrfDeleted(vrf: string): void {
    for (const [address, v] of this.fedInto) if (v === vrf) this.fedInto.delete(address);
  }

  /** A VRF best changed: its CEs are offered the new best, or the route is taken back. */
  routeChanged(vrf: string, afi: number, best: Path | undefined, previous: Path | undefined): void {
    const peers = this.byVrf.get(vrf);
    if (!peers) return;
    const family = afi === Afi.IPV6 ? IPV6_UNICAST : IPV4_UNICAST;
    for (const p of peers) {
      if (best && offers(p, best)) p.announce(family, [this.toCe(best)]);
      else if (best || previous) p.withdraw(family, [this.toCe((best ?? previous)!)]);
    }
  }

  private event(e: CeEvent): void {
    if (e.type === 'state') {
      this.refresh();
      return;
    }
    const into = this.fedInto.get(e.peer);
    for (const path of e.withdrawn) if (isUnicast(path.family) && into) this.vrfs.remove(into, path);
    if (e.announced.length === 0) return;
    const target = this.vrfOf(e.peer);
    if (!target || !this.vrfs.exists(target)) return;
    for (const path of e.announced) if (isUnicast(path.family)) this.feed(e.peer, target, path);
  }

  private feed(address: string, vrf: string, path: Path): void {
    const was = this.fedInto.get(address);
    if (was !== undefined && was !== vrf) {
      // Rebound to another VRF: what it sent before leaves the old one.
      for (const f of UNICAST) for (const old of [...this.vrfs.bests(was, f.afi)]) if (old.source === address) this.vrfs.remove(was, old);
    }
    this.fedInto.set(address, vrf);
    const config = this.peers.get(address)?.config;
    const soo = config?.siteOfOrigin;
    const localPref = config?.localPref;
    this.vrfs.add(vrf, soo || localPref !== undefined ? this.stamped(path, soo, localPref) : path, config?.routeLabel);
  }

  /**
   * The CE's path with its site of origin as the only route origin (RFC 4364
   * §7) and the access's LOCAL_PREF (a multi-homed site's preference; an
   * eBGP path carries none of its own, RFC 4271 §5.1.5).
   */
  private stamped(path: Path, soo: AdministeredValue | undefined, localPref: number | undefined): Path {
    const a = path.attributes;
    let hit = this.stampedAttributes.get(a);
    if (!hit || !(hit.soo === soo || sameAdministeredValue(hit.soo, soo)) || hit.localPref !== localPref) {
      let attributes: PathAttributes = { ...a };
      if (soo) {
        const ext: ExtendedCommunity[] = (a.extendedCommunities ?? []).filter((e) => e.kind !== 'route-origin');
        ext.push({ kind: 'route-origin', value: soo });
        attributes = { ...attributes, extendedCommunities: ext };
      }
      if (localPref !== undefined) attributes = { ...attributes, localPref };
      hit = { soo, localPref, attributes };
      this.stampedAttributes.set(a, hit);
    }
    return new SitePath(path, hit.attributes);
  }

  private vrfOf(address: string): string | undefined {
    for (const [vrf, peers] of this.byVrf) if (peers.some((p) => p.address === address)) return vrf;
    return undefined;
  }

  /** Re-reads which peer is bound to which VRF; a peer newly bound is offered its VRF's table. */
  private refresh(): void {
    const m = new Map<string, CePeer[]>();
    const peers = new Map<string, CePeer>();
    for (const p of this.host.listPeers()) {
      const v = p.config.vrf;
      if (!v) continue;
      peers.set(p.address, p);
      const list = m.get(v);
      if (list) list.push(p);
      else m.set(v, [p]);
      const was = this.offering.get(p.address);
      const soo = p.config.siteOfOrigin;
      if (was?.vrf === v) {
        // A new site of origin: what the peer may be sent changes.
        if (!sameSite(was.soo, soo)) {
          this.offering.set(p.address, { vrf: v, soo });
          this.reoffer(p, v);
        }
        continue;
      }
      if (was !== undefined) this.offerTable(p, was.vrf, false);
      this.offering.set(p.address, { vrf: v, soo });
      this.offerTable(p, v, true);
    }
    this.byVrf = m;
    this.peers = peers;
  }

  /** Every best of the VRF offered or taken back by the peer's current rules. */
  private reoffer(p: CePeer, vrf: string): void {
    if (!this.vrfs.exists(vrf)) return;
    for (const f of UNICAST) {
      const give: Path[] = [];
      const take: Path[] = [];
      for (const best of this.vrfs.bests(vrf, f.afi)) (offers(p, best) ? give : take).push(this.toCe(best));
      if (take.length) p.withdraw(f, take);
      if (give.length) p.announce(f, give);
    }
  }

  private offerTable(p: CePeer, vrf: string, announce: boolean): void {
    if (!this.vrfs.exists(vrf)) return;
    for (const f of UNICAST) {
      const paths: Path[] = [];
      for (const best of this.vrfs.bests(vrf, f.afi)) if (offers(p, best)) paths.push(this.toCe(best));
      if (paths.length === 0) continue;
      if (announce) p.announce(f, paths);
      else p.withdraw(f, paths);
    }
  }

  /** The unicast form of a VRF path: its prefix's unicast key, no RD or label, route targets and origins left out. */
  private toCe(p: Path): Path {
    const unicast = isUnicast(p.family);
    if (unicast && !p.attributes.extendedCommunities?.some(isProviderCommunity)) return p;
    let out = this.ceRoutes.get(p);
    if (out) return out;
    out = {
      family: p.family.afi === Afi.IPV6 ? IPV6_UNICAST : IPV4_UNICAST,
      key: unicast ? p.key : vpnKeyToDest(p.key),
      route: { prefix: p.route.prefix, length: p.route.length },
      nextHop: undefined,
      attributes: this.attributes(p.attributes),
      source: p.source,
      since: p.since,
      stale: false,
    };
    this.ceRoutes.set(p, out);
    return out;
  }
  private attributes(a: Readonly<PathAttributes>): PathAttributes {
    let out = this.ceAttributes.get(a);
    if (!out) {
      out = { ...a };
      const ext = a.extendedCommunities?.filter((e) => !isProviderCommunity(e));
      if (ext?.length) out.extendedCommunities = ext;
      else delete out.extendedCommunities;
      this.ceAttributes.set(a, out);
    }
    return out;
  }
}

function sameSite(a: AdministeredValue | undefined, b: AdministeredValue | undefined): boolean {
  return a === b || sameAdministeredValue(a, b);
}

/** Route targets and route origins: the provider's, not passed to a CE. */
function isProviderCommunity(e: ExtendedCommunity): boolean {
  return e.kind === 'route-target' || e.kind === 'route-origin';
}

/** Whether a VRF best goes to a CE peer: not its own route, nor one from its own site (RFC 4364 §7). */
export function offers(p: CePeer, best: Path): boolean {
  if (best.source === p.address) return false;
  const soo = p.config.siteOfOrigin;
  return !(soo && fromSite(best, soo));
}

/** Whether a path carries the route origin (site of origin) `soo`. */
export function fromSite(path: Path, soo: AdministeredValue): boolean {
  const ext = path.attributes.extendedCommunities;
  if (!ext) return false;
  for (const e of ext) if (e.kind === 'route-origin' && sameAdministeredValue(e.value, soo)) return true;
  return false;
}

/** A CE's path as the VRF holds it: the received path with the site of origin and LOCAL_PREF stamped. */
class SitePath implements Path {
  constructor(
    private readonly received: Path,
    readonly attributes: Readonly<PathAttributes>,
  ) {}
  get family() {
    return this.received.family;
  }
  get key() {
    return this.received.key;
  }
  get route() {
    return this.received.route;
  }
  get nextHop() {
    return this.received.nextHop;
  }
  get source() {
    return this.received.source;
  }
  get since() {
    return this.received.since;
  }
  get stale() {
    return this.received.stale;
  }
  set stale(v: boolean) {
    this.received.stale = v;
  }
}
