// Export gating of CE-learnt routes (PE-CE eBGP): a route a CE announces
// reaches the other PEs as a VPN route only once this egress PE delivers
// it: the VRF route towards the CE installed and the LFIB entry of the
// label it is exported with (RFC 4364 §4.3.2: a label must lead somewhere
// before anyone sends to it). The speaker holds the route in the VRF (the
// node learns it from there, installs it, reports) and exports it when the
// next reconcile names its prefix as ready (bgp.proto SetVrfExportReady).
import type { SelectedVpnRoute } from '../../common/desired-state/index.js';
import type { NodeIntent, VrfIntent } from '../domain/node-intent.js';
import type { NodeForwarding } from '../state/forwarding.js';
import type { CePeer } from './ce-peer-intent.js';
import { vrfIpv6Label } from './desired-input.js';

/** A VRF whose exports of CE-learnt routes are gated: one with a site peering eBGP. */
export function gatesCeExports(vi: VrfIntent): boolean {
  return vi.sites.some((s) => s.routing?.bgp);
}

/** A best the node's VRF learnt from one of its CEs (bgp-routing.ts selectedRoutes: no RD, the CE as next hop). */
function isCeLearnt(r: SelectedVpnRoute): boolean {
  return r.rd === '' && !r.multipath;
}

/**
 * The prefixes of the VRF's CE-learnt bests that the node delivers now. The
 * label each is exported with: its CE's per-CE label (PeerConfig.route_label),
 * else the VRF's label of the family.
 */
export function readyCeExports(intent: NodeIntent, vi: VrfIntent, routes: readonly SelectedVpnRoute[], peers: readonly CePeer[], egress: Pick<NodeForwarding, 'delivered'>): string[] {
  const vpn = vi.vpn.id;
  const routeLabel = new Map(peers.filter((p) => p.vpn === vpn && p.routeLabel).map((p) => [p.ceAddress, p.routeLabel]));
  const v4 = vi.allocation?.label ?? undefined;
  const v6 = vrfIpv6Label(intent, vpn).vrfLabelIpv6 ?? v4;
  const candidates: { prefix: string; label: number }[] = [];
  for (const r of routes) {
    if (r.vrf !== vpn || !isCeLearnt(r)) continue;
    const label = routeLabel.get(r.nextHop) ?? (r.prefix.includes(':') ? v6 : v4);
    if (label !== undefined) candidates.push({ prefix: r.prefix, label });
  }
  return egress.delivered(vpn, candidates);
}
