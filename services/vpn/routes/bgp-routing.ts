// VpnRouting over the bgp service: each managed PE's VRFs are VRFs of the
// one speaker ("<vpn>@<node>", bgp-client.ts), exporting with the PE's
// loopback as next hop and the labels the labels service gave (the ones the
// PE's agent installs in its LFIB). What the speaker selected into them —
// from other managed PEs' VRFs and from external PEs over MP-BGP — is read
// back with ListVrfPaths.
//
// Every call converges: originate() diffs against the VRF's local paths, so
// it is idempotent, and after the bgp service restarts empty the next
// reconcile of each node defines and originates everything again
// (vrf-route-watch.ts queues them).
//
// Every VRF is created with this controller's owner marker
// (VrfConfig.owner, `vpn.bgp-vrf-owner`): heldVrfs() lists only those and
// deleteVrf() removes only those, so the sweep (reconcile/speaker-sweep.ts)
// never touches the VRFs of the bgp config file or of another controller.
import { status } from '@grpc/grpc-js';
import { Family, LabelMode, Origin, VrfPathOrigin, Path, type VrfConfig, type VrfPath, type VrfPathAddition } from '../../common/gen/proto/l3vpn/v1/bgp.js';
import type { SelectedVpnRoute, VpnPathCandidate } from '../../common/desired-state/index.js';
import type { VrfPlacements } from '../store/reconcile-store.js';
import { bgpVrfName, isGrpcStatus, listVrfPaths, parseBgpVrfName, unmappedNextHop, type BgpApi } from './bgp-client.js';
import type { HeldVrf, OriginatedRoute, VpnRouting, VrfDefinition } from './vpn-routing.js';
import type { BgpCePeers, CeSessionStatus } from './bgp-ce-peers.js';
import type { CePeer } from '../reconcile/ce-peer-intent.js';

const familyOf = (prefix: string): Family => (prefix.includes(':') ? Family.FAMILY_IPV6_UNICAST : Family.FAMILY_IPV4_UNICAST);

function unicastPath(r: OriginatedRoute): Path {
  return Path.fromPartial({
    family: familyOf(r.prefix),
    prefix: r.prefix,
    nextHop: r.ceNextHop,
    origin: Origin.ORIGIN_IGP,
    routeOrigins: r.routeOrigins ?? [],
    ...(r.localPref !== undefined ? { localPref: r.localPref } : {}),
  });
}

/** Whether the VRF's local path already is the route as wanted (the speaker shows route origins canonical, as the intent stores them). */
function sameRoute(current: VrfPath, r: OriginatedRoute): boolean {
  const p = current.path;
  const origins = r.routeOrigins ?? [];
  return (
    current.label === r.label &&
    current.nextHop === r.ceNextHop &&
    (p?.localPref ?? undefined) === r.localPref &&
    (p?.routeOrigins.length ?? 0) === origins.length &&
    origins.every((o, i) => p?.routeOrigins[i] === o)
  );
}

/**
 * BGP multipath of every VRF (VrfConfig.multipath): the PEs of an
 * all-active site export its prefixes at equal LOCAL_PREF under their own
 * RDs, and every importing PE balances over them (up to this many). On for
 * every VRF, not only those of VPNs with an all-active site: a single-active
 * site's accesses differ in LOCAL_PREF and a single-homed prefix has one
 * path, so nothing else ties; an all-active site reached through an
 * extranet's route targets is covered without looking at other VPNs; and a
 * site changing its multihoming never redefines VRFs.
 */
export const VRF_MULTIPATH = 8;

/** The speaker's VRF for a definition. Every originated path brings its label, so only a per-VRF label needs the VRF's. */
function bgpVrfConfig(node: string, vrf: VrfDefinition, owner: string): VrfConfig {
  const mode = vrf.label !== undefined ? LabelMode.LABEL_MODE_PER_VRF : vrf.labelMode === 'per-prefix' ? LabelMode.LABEL_MODE_PER_PREFIX : LabelMode.LABEL_MODE_PER_CE;
  return {
    name: bgpVrfName(vrf.name, node),
    rd: vrf.rd,
    importRouteTargets: vrf.importRouteTargets,
    exportRouteTargets: vrf.exportRouteTargets,
    labelMode: mode,
    label: vrf.label ?? 0,
    ipv6Label: mode === LabelMode.LABEL_MODE_PER_VRF ? (vrf.ipv6Label ?? 0) : 0,
    nextHop: vrf.nextHop,
    // Unset warning percent: the speaker's 75; past the limit new destinations are held back, not installed (bgp README, max-routes).
    maxRoutes: vrf.maxRoutes !== undefined ? { limit: vrf.maxRoutes, warningPercent: 0, warningOnly: false } : undefined,
    owner,
    multipath: VRF_MULTIPATH,
    ...(vrf.gateCeExports ? { gateCeExports: true } : {}),
  };
}

export class BgpVpnRouting implements VpnRouting {
  /** Importing PEs hear of a change on the WatchVrfRoutes stream (vrf-route-watch.ts). */
  readonly predicted = false;

  constructor(
    private readonly bgp: BgpApi,
    private readonly vrfs: VrfPlacements,
    /** The owner marker of this controller's VRFs on the speaker. */
    private readonly owner: string,
    /** The PE-CE sessions (relayed peers); absent: none are configured. */
    private readonly peers?: BgpCePeers,
  ) {}

  async reconcilePeers(node: string, peers: CePeer[]): Promise<void> {
    await this.peers?.reconcile(node, peers);
  }

  async setCeExportsReady(node: string, vrf: string, prefixes: string[]): Promise<void> {
    await this.bgp.setVrfExportReady({ vrf: bgpVrfName(vrf, node), owner: this.owner, prefixes });
  }

  async ceSessions(node: string): Promise<CeSessionStatus[]> {
    return (await this.peers?.sessions(node)) ?? [];
  }

  async heldPeerVrfs(): Promise<HeldVrf[]> {
    if (!this.peers) return [];
    const out = new Map<string, HeldVrf>();
    for (const p of await this.peers.held()) {
      const v = parseBgpVrfName(p.config!.vrf)!;
      out.set(JSON.stringify([v.vpn, v.node]), v);
    }
    return [...out.values()];
  }

  async defineVrf(node: string, vrf: VrfDefinition): Promise<void> {
    const config = bgpVrfConfig(node, vrf, this.owner);
    try {
      await this.bgp.updateVrf({ vrf: config });
    } catch (err) {
      if (!isGrpcStatus(err, status.NOT_FOUND)) throw err;
      await this.bgp.addVrf({ vrf: config });
    }
  }

  async deleteVrf(node: string, vrf: string): Promise<void> {
    try {
      await this.bgp.deleteVrf({ name: bgpVrfName(vrf, node), owner: this.owner });
    } catch (err) {
      if (!isGrpcStatus(err, status.NOT_FOUND)) throw err;
    }
  }

  async heldVrfs(node?: string): Promise<HeldVrf[]> {
    const { vrfs } = await this.bgp.listVrfs({ name: '', owner: this.owner, nameSuffix: node === undefined ? '' : bgpVrfName('', node) });
    const out: HeldVrf[] = [];
    for (const v of vrfs) {
      const held = parseBgpVrfName(v.config?.name ?? '');
      if (held && (node === undefined || held.node === node)) out.push(held);
    }
    return out;
  }

  /** One ChangeVrfPaths for the difference from the VRF's local paths: a reconcile's cost does not grow with round trips per route. */
  async originate(node: string, vrf: string, routes: OriginatedRoute[]): Promise<boolean> {
    const name = bgpVrfName(vrf, node);
    const have = new Map<string, VrfPath>();
    for (const p of await listVrfPaths(this.bgp, name, true)) if (p.origin === VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL) have.set(p.prefix, p);
    const wanted = new Set<string>();
    const add: VrfPathAddition[] = [];
    for (const r of routes) {
      // One path per prefix: the first wins, the same one every time.
      if (wanted.has(r.prefix)) continue;
      wanted.add(r.prefix);
      const current = have.get(r.prefix);
      if (current && sameRoute(current, r)) continue;
      add.push({ path: unicastPath(r), label: r.label });
    }
    const del = [...have.keys()].filter((prefix) => !wanted.has(prefix)).map((prefix) => ({ family: familyOf(prefix), prefix }));
    if (!add.length && !del.length) return false;
    await this.bgp.changeVrfPaths({ vrf: name, add, delete: del });
    return true;
  }

  async withdraw(node: string, vrf: string, prefixes: string[]): Promise<void> {
    if (!prefixes.length) return;
    try {
      await this.bgp.changeVrfPaths({ vrf: bgpVrfName(vrf, node), add: [], delete: prefixes.map((prefix) => ({ family: familyOf(prefix), prefix })) });
    } catch (err) {
      if (!isGrpcStatus(err, status.NOT_FOUND)) throw err;
    }
  }

  async advertisedLabels(node: string): Promise<Set<number>> {
    const labels = new Set<number>();
    for (const { paths } of await this.tables(node, true)) for (const p of paths) if (p.origin === VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL && p.label) labels.add(p.label);
    return labels;
  }

  /**
   * The best path each of the node's CEs announced (PE-CE eBGP), and the
   * best imported path of each prefix in the node's VRFs, with the other
   * imported paths as its fallbacks: the speaker cannot see the transport,
   * the desired-state computation uses the first of them whose next hop it
   * reaches when the best one's it cannot (a PE cut off from this one).
   * A best learnt from one of the node's CEs (PE-CE eBGP) is its route with
   * that CE as next hop: the node forwards to the CE (a per-VRF label's
   * lookup, and the node's other sites, need it).
   */
  async selectedRoutes(node: string): Promise<SelectedVpnRoute[]> {
    const tables = await this.tables(node, true);
    const out: SelectedVpnRoute[] = [];
    for (const { vpnId, paths } of tables) {
      // What the node's CEs announced over PE-CE eBGP: forwarded to the CE (its next hop), no label.
      for (const p of paths) if (p.best && p.origin === VrfPathOrigin.VRF_PATH_ORIGIN_CE) out.push({ vrf: vpnId, prefix: p.prefix, nextHop: unmappedNextHop(p.nextHop), label: 0, rd: '' });
      const imported = paths.filter((p) => p.origin === VrfPathOrigin.VRF_PATH_ORIGIN_IMPORTED);
      const others = new Map<string, VrfPath[]>();
      for (const p of imported) if (!p.best) others.set(p.prefix, [...(others.get(p.prefix) ?? []), p]);
      for (const p of imported) {
        // The paths BGP uses with a best (multipath) join the best's route as ECMP members.
        if (p.multipath) out.push({ vrf: vpnId, prefix: p.prefix, ...candidate(p), multipath: true });
        if (!p.best) continue;
        const fallbacks = byPreference(others.get(p.prefix) ?? []).map(candidate);
        out.push({ vrf: vpnId, prefix: p.prefix, ...candidate(p), ...(fallbacks.length ? { fallbacks } : {}) });
      }
    }
    return out;
  }

  /** The tables of the node's VRFs on the speaker; a VRF not defined there yet (no RD allocated, or the speaker restarted) holds nothing. */
  private async tables(node: string, allPaths: boolean): Promise<{ vpnId: string; paths: VrfPath[] }[]> {
    const vpnIds = (await this.vrfs.on([node])).map((v) => v.vpn).sort();
    return Promise.all(
      vpnIds.map(async (vpnId) => {
        try {
          return { vpnId, paths: await listVrfPaths(this.bgp, bgpVrfName(vpnId, node), allPaths) };
        } catch (err) {
          if (isGrpcStatus(err, status.NOT_FOUND)) return { vpnId, paths: [] };
          throw err;
        }
      }),
    );
  }
}

const candidate = (p: VrfPath): VpnPathCandidate => ({ nextHop: unmappedNextHop(p.nextHop), label: p.label, rd: p.rd });

/** Candidates that lost to the best path, most preferred first: the higher LOCAL_PREF (RFC 4271 §9.1.1; unset: the default 100), then the lower next hop and RD, so the order is stable. */
function byPreference(paths: VrfPath[]): VrfPath[] {
  const pref = (p: VrfPath) => p.path?.localPref ?? 100;
  return [...paths].sort((a, b) => pref(b) - pref(a) || (a.nextHop < b.nextHop ? -1 : a.nextHop > b.nextHop ? 1 : a.rd < b.rd ? -1 : a.rd > b.rd ? 1 : 0));
}
