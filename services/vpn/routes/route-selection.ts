// What BGP would select into a PE's VRFs (RFC 4364 §4.3): every other PE's
// VRF exports its sites' routes with its RD, export route targets and
// labels; a VRF imports the routes carrying one of its import route targets.
// Pure; works for any-to-any, hub-and-spoke and extranet alike because it
// follows the route targets, not the VPN.
import type { LabelModeName, SelectedVpnRoute } from '../../common/desired-state/index.js';
import { canonicalPrefix } from '../../common/desired-state/index.js';

export interface ExportingSite {
  /** Connected subnet ("10.1.0.0/30") per attachment, and the static prefixes behind its CE. */
  connected: string[];
  statics: string[];
  /** Per-CE mode: the site's label per address family of its CE (4 or 6). */
  ceLabels: Partial<Record<4 | 6, number>>;
  /** Per-prefix mode: label per canonical prefix. */
  prefixLabels: Record<string, number>;
}

export interface ExportingVrf {
  node: string;
  /** The BGP next hop of its routes: the PE's loopback. */
  nextHop: string;
  name: string;
  rd: string;
  labelMode: LabelModeName;
  exportRouteTargets: string[];
  vrfLabel?: number;
  /** The VRF's IPv6 label (a per-VRF label per address family): its IPv6 routes carry it where the others carry vrfLabel. */
  vrfLabelIpv6?: number;
  sites: ExportingSite[];
}

export interface ImportingVrf {
  name: string;
  importRouteTargets: string[];
}

const family = (prefix: string): 4 | 6 => (prefix.includes(':') ? 6 : 4);

/** The routes a VRF exports with the label each is advertised with; unlabelled ones are not exported. */
export function exportedRoutes(vrf: ExportingVrf): { prefix: string; label: number }[] {
  const out: { prefix: string; label: number }[] = [];
  for (const site of vrf.sites) {
    for (const [prefixes, connected] of [[site.connected, true], [site.statics, false]] as const) {
      for (const p of prefixes) {
        const prefix = canonicalPrefix(p);
        const vrfLabel = family(prefix) === 6 ? (vrf.vrfLabelIpv6 ?? vrf.vrfLabel) : vrf.vrfLabel;
        let label: number | undefined;
        if (vrf.labelMode === 'per-vrf') label = vrfLabel;
        else if (vrf.labelMode === 'per-ce') label = connected ? (vrfLabel ?? site.ceLabels[family(prefix)]) : site.ceLabels[family(prefix)];
        else label = site.prefixLabels[prefix] ?? (connected ? vrfLabel : undefined);
        if (label !== undefined) out.push({ prefix, label });
      }
    }
  }
  return out;
}

export function selectRoutes(node: string, importers: ImportingVrf[], exporters: ExportingVrf[]): SelectedVpnRoute[] {
  const exports = exporters.filter((e) => e.node !== node).map((e) => ({ vrf: e, routes: exportedRoutes(e), rts: new Set(e.exportRouteTargets) }));
  const out: SelectedVpnRoute[] = [];
  for (const imp of importers) {
    for (const e of exports) {
      if (!imp.importRouteTargets.some((rt) => e.rts.has(rt))) continue;
      for (const r of e.routes) out.push({ vrf: imp.name, prefix: r.prefix, nextHop: e.vrf.nextHop, label: r.label, rd: e.vrf.rd });
    }
  }
  return out;
}
