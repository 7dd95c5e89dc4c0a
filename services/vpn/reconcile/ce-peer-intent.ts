// The PE-CE eBGP sessions (RFC 4364 §7) a node's intent asks for: one per
// address family of each access of a site with routing.bgp, on the VRF of
// the site's VPN on the node. BGP-as-a-service: the session's speaker is
// the bgp service (a relayed peer, routes/bgp-ce-peers.ts), the PE's agent
// only relays its TCP stream (VrfInterface.bgp_sessions, state/ce-session-relay.ts).
//
// The VPN label the VRF exports the CE's routes with (PeerConfig.route_label):
// - per-ce:     the access's per-CE label of the family, whose LFIB entry
//               pops and forwards to the CE (desired-state compute);
// - per-prefix: the same per-CE label: prefixes a CE advertises are not
//               known in advance, so they cannot each have one allocated;
//               they share their CE's (desired-input.ts allocates it for
//               eBGP sites in per-prefix VPNs too);
// - per-vrf:    0, the VRF's label (pop and look up).
import { canonicalAddress, parseInterfaceAddress } from '../../common/desired-state/prefix.js';
import type { NodeIntent, Site, VrfIntent } from '../domain/node-intent.js';
import type { SiteBgpMaxPrefix } from '../intent/types.js';
import { localPreference } from '../domain/site-access.js';
import { owners } from './owners.js';

export interface CePeer {
  vpn: string;
  node: string;
  site: string;
  access: string;
  family: 4 | 6;
  /** Canonical, without length. */
  ceAddress: string;
  /** The PE's address on the access, canonical, without length. */
  peAddress: string;
  peerAs: number;
  /** Canonical route origin community; absent when the site has none. */
  siteOfOrigin?: string;
  asOverride: boolean;
  allowasIn: number;
  maxPrefix?: SiteBgpMaxPrefix;
  /** 0: the VRF's label. */
  routeLabel: number;
  /** A multi-homed site's access preference on the CE's routes (domain/site-access.ts); absent: one access. */
  localPref?: number;
}

function routeLabel(vi: VrfIntent, site: Site, family: 4 | 6, labels: ReadonlyMap<string, number>): number {
  if (vi.vpn.labelMode === 'per-vrf') return 0;
  return labels.get(owners.ce(vi.vpn.id, site.id, family)) ?? 0;
}

/** The peers of one site's access on this node; an address that cannot be parsed is left out (the node's reconcile reports it: desired-input.ts). */
export function sitePeers(vi: VrfIntent, site: Site, node: string, labels: ReadonlyMap<string, number>): CePeer[] {
  const bgp = site.routing?.bgp;
  if (!bgp) return [];
  const out: CePeer[] = [];
  const localPref = localPreference(site, site.access.id);
  for (const [family, attachment] of [
    [4, site.ipv4],
    [6, site.ipv6],
  ] as const) {
    if (!attachment) continue;
    let ceAddress: string;
    let peAddress: string;
    try {
      ceAddress = canonicalAddress(attachment.ceAddress, 'CE address');
      peAddress = parseInterfaceAddress(attachment.peAddress, 'PE address').address;
    } catch {
      continue;
    }
    out.push({
      vpn: vi.vpn.id,
      node,
      site: site.id,
      access: site.access.id,
      family,
      ceAddress,
      peAddress,
      peerAs: bgp.peerAs,
      ...(site.siteOfOrigin ? { siteOfOrigin: site.siteOfOrigin } : {}),
      asOverride: bgp.asOverride ?? false,
      allowasIn: bgp.allowasIn ?? 0,
      ...(bgp.maxPrefix ? { maxPrefix: bgp.maxPrefix } : {}),
      routeLabel: routeLabel(vi, site, family, labels),
      ...(localPref !== undefined ? { localPref } : {}),
    });
  }
  return out;
}

/** Every session of the node's VRFs that exist on the speaker (allocated an RD), sorted by VPN then CE address. */
export function cePeersOf(intent: NodeIntent): CePeer[] {
  const out: CePeer[] = [];
  for (const vi of intent.vrfs) {
    if (!vi.allocation?.rd) continue;
    for (const site of vi.sites) out.push(...sitePeers(vi, site, intent.node.id, intent.labels));
  }
  return out.sort((a, b) => (a.vpn < b.vpn ? -1 : a.vpn > b.vpn ? 1 : a.ceAddress < b.ceAddress ? -1 : a.ceAddress > b.ceAddress ? 1 : 0));
}
