// Test support: a PE (VPN Loc-RIB + VrfManager, wired the way the speaker
// should wire them) and a route reflector joining several PEs.
import assert from 'node:assert/strict';
import { parseRd } from '../../common/vpn/rd.js';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import { BestPathTable } from '../decision/best-path-table.js';
import { DecisionOptions, PeerRegistry } from '../decision/decision.js';
import { StaticNextHopResolver } from '../decision/resolver.js';
import { routeKey, type Path } from '../rib/path.js';
import type { PathAttributes } from '../wire/attributes.js';
import { Afi, Safi } from '../wire/constants.js';
import { parsePrefix } from '../wire/nlri.js';
import { vrfConfig, VrfConfigInput } from './config.js';
import { RangeLabelAllocator } from './labels.js';
import { ExportedPath, VrfEvent, VrfManager, VPNV4_FAMILY, VPNV6_FAMILY } from './manager.js';

export const V4 = { afi: Afi.IPV4, safi: Safi.UNICAST };
export const V6 = { afi: Afi.IPV6, safi: Safi.UNICAST };

export function rtAttrs(rts: string[], extra: PathAttributes = {}): PathAttributes {
  return {
    origin: 0,
    asPath: [{ type: 2, asns: [65100] }],
    localPref: 100,
    ...extra,
    extendedCommunities: rts.map((r) => ({ kind: 'route-target' as const, value: parseRouteTarget(r) })),
  };
}

/** A VPN path as received from `source`. */
export function vpnPath(source: string, rd: string, prefix: string, attributes: PathAttributes, label = 100, nextHop = source): Path {
  const { prefix: bytes, length } = parsePrefix(prefix);
  const family = bytes.length === 4 ? VPNV4_FAMILY : VPNV6_FAMILY;
  const route = { prefix: bytes, length, rd: parseRd(rd), labels: [label] };
  return { family, key: routeKey(family, route), route, nextHop: { address: nextHop }, attributes, source, since: 0, stale: false };
}

/** A VRF-local (CE or API) path. */
export function localPath(prefix: string, attributes: PathAttributes = { origin: 0, asPath: [] }, source = 'local', nextHop?: string): Path {
  const { prefix: bytes, length } = parsePrefix(prefix);
  const family = bytes.length === 4 ? V4 : V6;
  const route = { prefix: bytes, length };
  return { family, key: routeKey(family, route), route, nextHop: nextHop ? { address: nextHop } : undefined, attributes, source, since: 0, stale: false };
}

export function destOf(prefix: string): string {
  const { prefix: bytes, length } = parsePrefix(prefix);
  return routeKey(bytes.length === 4 ? V4 : V6, { prefix: bytes, length });
}

/** One PE: VPN Loc-RIB per VPN family, the VRF manager, and a mirror of the VRF route stream. */
export class Pe {
  readonly peers = new PeerRegistry();
  readonly resolver = new StaticNextHopResolver(0);
  readonly decision: DecisionOptions = { peers: this.peers.get, resolver: this.resolver };
  readonly vpn = [new BestPathTable<Path>(this.decision), new BestPathTable<Path>(this.decision)];
  readonly labels = new RangeLabelAllocator(1000, 1999);
  readonly events: VrfEvent[] = [];
  /** vrf -> dest -> best, built only from the listener's route callbacks. */
  readonly mirror = new Map<string, Map<string, Path>>();
  /** Exports announced and not withdrawn, by key, built from the listener. */
  readonly announced = new Map<string, ExportedPath>();
  readonly routeEvents: { vrf: string; dest: string; best: Path | undefined }[] = [];
  /** Called with each export change after it reached the VPN Loc-RIB (a route reflector listens here). */
  onExport: ((p: ExportedPath, withdrawn: boolean) => void) | undefined;
  private readonly queue: { path: ExportedPath; withdraw: boolean }[] = [];
  readonly manager: VrfManager;

  constructor(readonly address = '192.0.2.1') {
    this.manager = new VrfManager({
      decision: this.decision,
      labels: this.labels,
      vpnBests: () => this.vpnBests(),
      listener: {
        route: (vrf, afi, dest, best) => {
          const k = `${afi}|${dest}`;
          let m = this.mirror.get(vrf);
          if (!m) this.mirror.set(vrf, (m = new Map()));
          if (best) m.set(k, best);
          else m.delete(k);
          this.routeEvents.push({ vrf, dest: k, best });
        },
        exportAnnounce: (p) => {
          this.announced.set(p.key, p);
          this.queue.push({ path: p, withdraw: false });
        },
        exportWithdraw: (p) => {
          assert.equal(this.announced.get(p.key), p, 'withdrawn export was the announced one');
          this.announced.delete(p.key);
          this.queue.push({ path: p, withdraw: true });
        },
        event: (e) => this.events.push(e),
      },
    });
  }

  *vpnBests(): IterableIterator<Path> {
    for (const t of this.vpn) for (const [, p] of t.bests()) yield p;
  }

  define(input: VrfConfigInput) {
    const r = this.manager.define(vrfConfig(input));
    this.drain();
    return r;
  }

  removeVrf(name: string) {
    this.manager.remove(name);
    this.drain();
  }

  /** A VPN path received from a peer. */
  receive(p: Path): void {
    const c = this.vpn[p.family.afi === Afi.IPV6 ? 1 : 0]!.upsert(p.key, p);
    if (c.changed) this.manager.vpnBestChanged(c.best, c.previous);
    this.drain();
  }

  withdraw(p: Path): void {
    const c = this.vpn[p.family.afi === Afi.IPV6 ? 1 : 0]!.remove(p.key, p.key, p.source);
    if (c.changed) this.manager.vpnBestChanged(c.best, c.previous);
    this.drain();
  }

  addLocal(vrf: string, p: Path): boolean {
    const r = this.manager.addLocal(vrf, p);
    this.drain();
    return r;
  }

  removeLocal(vrf: string, p: Path): boolean {
    const r = this.manager.removeLocal(vrf, p.family, p.key, p.source);
    this.drain();
    return r;
  }

  /** Exports go into the VPN Loc-RIB; its best changes come back as imports into the other VRFs. */
  drain(): void {
    while (this.queue.length) {
      const { path, withdraw } = this.queue.shift()!;
      const t = this.vpn[path.family.afi === Afi.IPV6 ? 1 : 0]!;
      const c = withdraw ? t.remove(path.key, path.key, 'local') : t.upsert(path.key, path);
      if (c.changed) this.manager.vpnBestChanged(c.best, c.previous);
      this.onExport?.(path, withdraw);
    }
  }

  /** Best per destination of a VRF as "prefix-key -> best", read from the manager's tables. */
  bests(vrf: string): Map<string, Path> {
    const out = new Map<string, Path>();
    for (const afi of [Afi.IPV4, Afi.IPV6]) {
      const t = this.manager.table(vrf, afi);
      if (t) for (const [dest, p] of t.bests()) out.set(`${afi}|${dest}`, p);
    }
    return out;
  }

  has(vrf: string, prefix: string): boolean {
    const { prefix: bytes } = parsePrefix(prefix);
    return this.manager.table(vrf, bytes.length === 4 ? Afi.IPV4 : Afi.IPV6)?.best(destOf(prefix)) !== undefined;
  }

  /** The listener's stream reconstructs the tables exactly. */
  checkMirror(): void {
    for (const c of this.manager.list()) {
      const want = this.bests(c.name);
      const got = this.mirror.get(c.name) ?? new Map();
      assert.deepEqual([...got.entries()].sort(), [...want.entries()].sort(), `mirror of ${c.name}`);
    }
  }
}

/** Route reflector joining PEs: each PE's exports reach every other PE as iBGP paths with the PE as next hop. */
export function connect(pes: Pe[]): void {
  for (const from of pes) {
    for (const to of pes) if (to !== from) to.peers.set(from.address, { external: false, routerId: from.address });
    from.onExport = (p, withdrawn) => {
      const received: Path = { family: p.family, key: p.key, route: p.route, nextHop: { address: from.address }, attributes: p.attributes, source: from.address, since: 0, stale: false };
      for (const to of pes) {
        if (to === from) continue;
        if (withdrawn) to.withdraw(received);
        else to.receive(received);
      }
    };
  }
}

export function vrf(name: string, rd: string, importRts: string[], exportRts: string[], extra: Partial<VrfConfigInput> = {}): VrfConfigInput {
  return { name, rd, importRts, exportRts, labelMode: 'per-vrf', label: 500, ...extra };
}
