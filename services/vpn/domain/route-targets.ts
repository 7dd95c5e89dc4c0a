// Route targets of a VRF (RFC 4364 §4.3.5): any-to-any imports and exports
// the VPN's one RT; a hub VRF exports the hub RT and imports the spoke RT, a
// spoke VRF the reverse; extranet adds the exporters' export RTs to imports.
import type { RouteTargets, SiteRole, Topology } from '../intent/types.js';
import type { RouteTarget, Vpn } from './node-intent.js';

/** What the rule needs of a VPN. */
export interface RouteTargetPolicy {
  topology: Topology;
  routeTargets: RouteTargets;
}

/** `exporters`: the VPNs this one imports (extranet); `roles`: those of the VRF's sites. */
export function vrfRouteTargets(vpn: RouteTargetPolicy, exporters: RouteTargetPolicy[], roles: SiteRole[]): { imports: RouteTarget[]; exports: RouteTarget[] } {
  const imports = new Set<RouteTarget>();
  const exports = new Set<RouteTarget>();
  const add = (set: Set<RouteTarget>, v: RouteTarget | null | undefined) => v && set.add(v);
  const rts = vpn.routeTargets;
  if (vpn.topology === 'any-to-any') {
    add(imports, rts.anyToAny);
    add(exports, rts.anyToAny);
  } else {
    const hub = roles.includes('hub');
    add(imports, hub ? rts.spoke : rts.hub);
    add(exports, hub ? rts.hub : rts.spoke);
  }
  for (const e of exporters) add(imports, e.topology === 'any-to-any' ? e.routeTargets.anyToAny : e.routeTargets.hub);
  return { imports: [...imports].sort(), exports: [...exports].sort() };
}

/** The route targets of the VPN's VRF with these sites; `vpns` holds the VPNs it imports (extranet). */
export function routeTargetsOfVrf(vpn: Vpn, vpns: ReadonlyMap<string, Vpn>, sites: readonly { role: SiteRole }[]) {
  const exporters = vpn.extranetImports.map((id) => vpns.get(id)).filter((v): v is Vpn => Boolean(v));
  return vrfRouteTargets(vpn, exporters, sites.map((s) => s.role));
}
