// What we send a peer for a path (RFC 4271 §5.1, §9.1.3, RFC 6793 §4.2.2),
// and the UPDATEs that carry it. Pure: the peer glue writes the result.
//
// eBGP: our AS prepended to AS_PATH, next hop set to our session address,
// LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST removed, MED only when we set
// it. iBGP: AS_PATH and next hop unchanged (ours when the path has none),
// LOCAL_PREF always present (100 unless set). A 2-octet peer gets AS_TRANS
// and AS4_PATH from the encoder, which knows the session.
import type { AsPath } from '../wire/as-path.js';
import { PathAttributes, forwardableUnknown } from '../wire/attributes.js';
import { Afi, AsPathSegmentType, Origin, Safi } from '../wire/constants.js';
import { WellKnownCommunity } from '../wire/communities.js';
import type { NextHop } from '../wire/next-hop.js';
import type { Family, Route } from '../wire/nlri.js';
import { packAnnouncements, packWithdrawals } from '../wire/packer.js';
import type { SessionOptions } from '../wire/session.js';
import type { Path } from '../rib/path.js';

export const DEFAULT_LOCAL_PREF = 100;

export interface ExportPeer {
  readonly localAs: number;
  readonly remoteAs: number;
  /** Our address on the session: the next hop when we set it to ourselves. */
  readonly localAddress: string;
  readonly session: SessionOptions;
  /** as-override towards a CE: its AS in the AS_PATH we send becomes ours. */
  readonly asOverride?: boolean;
}

export function isExternal(peer: ExportPeer): boolean {
  return peer.localAs !== peer.remoteAs;
}

/** RFC 1997: NO_ADVERTISE goes to nobody, NO_EXPORT(_SUBCONFED) to no eBGP peer. */
export function mayAdvertise(path: Path, peer: ExportPeer): boolean {
  const c = path.attributes.communities;
  if (!c) return true;
  if (c.includes(WellKnownCommunity.NO_ADVERTISE)) return false;
  if (isExternal(peer) && (c.includes(WellKnownCommunity.NO_EXPORT) || c.includes(WellKnownCommunity.NO_EXPORT_SUBCONFED))) return false;
  return true;
}

export function prependAs(path: AsPath, as: number): AsPath {
  const first = path[0];
  if (first && first.type === AsPathSegmentType.AS_SEQUENCE && first.asns.length < 255) {
    return [{ type: first.type, asns: [as, ...first.asns] }, ...path.slice(1)];
  }
  return [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [as] }, ...path];
}

/**
 * as-override (a PE towards a CE whose sites share one AS): every occurrence
 * of the CE's AS becomes ours, so the CE's own loop check (RFC 4271 §9.1.2)
 * lets in the routes of its sister sites. Path length is unchanged.
 */
export function overrideAs(path: AsPath, peerAs: number, localAs: number): AsPath {
  if (!path.some((s) => s.asns.includes(peerAs))) return path;
  return path.map((s) => (s.asns.includes(peerAs) ? { type: s.type, asns: s.asns.map((a) => (a === peerAs ? localAs : a)) } : s));
}

function isV4Unicast(f: Family): boolean {
  return f.afi === Afi.IPV4 && f.safi === Safi.UNICAST;
}

/** The next hop we send: ours on eBGP or when the path has none usable for the family. */
export function exportNextHop(path: Path, peer: ExportPeer): NextHop {
  const own: NextHop = { address: peer.localAddress };
  const nh = path.nextHop;
  if (isExternal(peer) || !nh || nh.address === '0.0.0.0' || nh.address === '::') return own;
  // IPv4 unicast carries only an IPv4 NEXT_HOP (RFC 8950 not negotiated).
  if (isV4Unicast(path.family) && nh.address.includes(':')) return own;
  return nh;
}

export function exportAttributes(path: Path, peer: ExportPeer): PathAttributes {
  const a = path.attributes;
  const ebgp = isExternal(peer);
  const out: PathAttributes = {
    origin: a.origin ?? Origin.IGP,
    asPath: ebgp ? prependAs(a.asPath ?? [], peer.localAs) : (a.asPath ?? []),
  };
  if (ebgp && peer.asOverride) out.asPath = overrideAs(out.asPath!, peer.remoteAs, peer.localAs);
  // §5.1.4: a MED learned from a neighbouring AS is not passed to another AS.
  if (a.med !== undefined && (!ebgp || path.source === 'local')) out.med = a.med;
  if (!ebgp) out.localPref = a.localPref ?? DEFAULT_LOCAL_PREF;
  if (a.atomicAggregate) out.atomicAggregate = true;
  if (a.aggregator) out.aggregator = a.aggregator;
  if (a.communities?.length) out.communities = a.communities;
  if (a.extendedCommunities?.length) out.extendedCommunities = a.extendedCommunities;
  if (!ebgp && a.originatorId !== undefined) out.originatorId = a.originatorId;
  if (!ebgp && a.clusterList?.length) out.clusterList = a.clusterList;
  const unknown = path.source === 'local' ? a.unknown : forwardableUnknown(a.unknown);
  if (unknown?.length) out.unknown = unknown;
  return out;
}

/**
 * UPDATEs announcing the paths of one family to one peer. Paths that share
 * their attribute object and next hop (one UPDATE's worth, or one API batch)
 * are packed together; the rest get UPDATEs of their own.
 */
export function announcementUpdates(family: Family, paths: Iterable<Path>, peer: ExportPeer): Uint8Array[] {
  const groups = new Map<object, Map<string, { nextHop: NextHop; attributes: PathAttributes; routes: Route[] }>>();
  for (const path of paths) {
    if (!mayAdvertise(path, peer)) continue;
    const nextHop = exportNextHop(path, peer);
    let byNh = groups.get(path.attributes);
    if (!byNh) groups.set(path.attributes, (byNh = new Map()));
    const k = `${nextHop.address}|${nextHop.linkLocal ?? ''}`;
    let g = byNh.get(k);
    if (!g) {
      const attributes = exportAttributes(path, peer);
      if (isV4Unicast(family)) attributes.nextHop = nextHop.address;
      byNh.set(k, (g = { nextHop, attributes, routes: [] }));
    }
    g.routes.push(path.route);
  }
  const out: Uint8Array[] = [];
  for (const byNh of groups.values()) {
    for (const g of byNh.values()) {
      out.push(...packAnnouncements({ family, nextHop: g.nextHop, attributes: g.attributes, routes: g.routes }, peer.session));
    }
  }
  return out;
}

export function withdrawalUpdates(family: Family, routes: readonly Route[], session: SessionOptions): Uint8Array[] {
  return routes.length ? packWithdrawals({ family, routes }, session) : [];
}
