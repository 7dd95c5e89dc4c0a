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

/**
 * The labels the VRF's CE-learnt routes are exported with: each CE's per-CE
 * label (PeerConfig.route_label), and the VRF's own of the family for a CE
 * without one (per-VRF label mode).
 */
function exportLabels(intent: NodeIntent, vi: VrfIntent, peers: readonly CePeer[]): number[] | undefined {
  const vpn = vi.vpn.id;
  const out = new Set<number>();
  for (const p of peers) {
    if (p.vpn !== vpn) continue;
    const label = p.routeLabel || (p.family === 6 ? (vrfIpv6Label(intent, vpn).vrfLabelIpv6 ?? vi.allocation?.label) : vi.allocation?.label);
    if (label === undefined || label === null) return undefined;
    out.add(label);
  }
  return [...out];
}

/**
 * The VRF prefixes whose CE-learnt routes may be exported now: the node has
 * some route for the prefix installed in the VRF, whatever BGP chose for
 * it, and the LFIB entries of the labels its CE routes are exported with.
 * Not only the prefixes whose best is the CE's own: a single-active site's
 * backup PE prefers the primary PE's route over its own CE's (LOCAL_PREF),
 * and its CE route must still be exported (every importer keeps it as the
 * fallback, and it is the best once the primary's route goes); traffic that
 * reaches the backup meanwhile follows the backup's VRF route, to the
 * primary, and is delivered.
 */
export function readyCeExports(intent: NodeIntent, vi: VrfIntent, routes: readonly SelectedVpnRoute[], peers: readonly CePeer[], egress: Pick<NodeForwarding, 'delivered'>): string[] | undefined {
  const labels = exportLabels(intent, vi, peers);
  if (!labels) return [];
  const prefixes = new Set<string>();
  for (const r of routes) if (r.vrf === vi.vpn.id) prefixes.add(r.prefix);
  return egress.delivered(vi.vpn.id, [...prefixes], labels);
}
