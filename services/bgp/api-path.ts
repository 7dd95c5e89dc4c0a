// Paths between the gRPC form (proto Path) and the speaker's (rib/path.ts):
// every field checked, errors naming the field.
import {
  AsPathSegmentType as ProtoSegmentType,
  Family as ProtoFamily,
  Origin as ProtoOrigin,
  type Path as ProtoPath,
} from '../common/gen/proto/l3vpn/v1/bgp.js';
import { invalidArgument } from '../common/grpc/errors.js';
import { formatRd, parseRd, type Rd } from '../common/vpn/rd.js';
import { formatRouteTarget, parseRouteTarget } from '../common/vpn/route-target.js';
import type { Path } from './rib/path.js';
import { IPV4_UNICAST, IPV6_UNICAST, RTC, VPNV4, VPNV6 } from './speaker/config.js';
import type { LocalPathSpec } from './speaker/speaker.js';
import type { AsPath } from './wire/as-path.js';
import type { PathAttributes } from './wire/attributes.js';
import { WellKnownCommunity, formatCommunity, type ExtendedCommunity } from './wire/communities.js';
import type { AsPathSegmentTypeValue, OriginValue } from './wire/constants.js';
import { checkAddress } from '../common/net/classify.js';
import { formatAddress } from './wire/ip.js';
import { RouteEncodeError, parsePrefix, type Family, type Route } from './wire/nlri.js';
import { quoteId } from '../common/quote.js';

const FAMILIES: [ProtoFamily, Family][] = [
  [ProtoFamily.FAMILY_IPV4_UNICAST, IPV4_UNICAST],
  [ProtoFamily.FAMILY_IPV6_UNICAST, IPV6_UNICAST],
  [ProtoFamily.FAMILY_VPN_IPV4, VPNV4],
  [ProtoFamily.FAMILY_VPN_IPV6, VPNV6],
  [ProtoFamily.FAMILY_RTC, RTC],
];

export function familyFromProto(f: ProtoFamily, field = 'family'): Family {
  const hit = FAMILIES.find(([p]) => p === f);
  if (!hit) throw invalidArgument(field, 'must be one of IPV4_UNICAST, IPV6_UNICAST, VPN_IPV4, VPN_IPV6, RTC');
  return hit[1];
}

export function familyToProto(f: Family): ProtoFamily {
  return FAMILIES.find(([, w]) => w.afi === f.afi && w.safi === f.safi)?.[0] ?? ProtoFamily.FAMILY_UNSPECIFIED;
}

const COMMUNITY_NAMES: Record<string, number> = {
  'no-export': WellKnownCommunity.NO_EXPORT,
  'no-advertise': WellKnownCommunity.NO_ADVERTISE,
  'no-export-subconfed': WellKnownCommunity.NO_EXPORT_SUBCONFED,
  blackhole: WellKnownCommunity.BLACKHOLE,
};

export function parseCommunity(text: string, field: string): number {
  const named = COMMUNITY_NAMES[text.toLowerCase()];
  if (named !== undefined) return named;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff) throw invalidArgument(field, `'${quoteId(text)}' is not a community (AS:n or a well-known name)`);
  return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
}

export function formatCommunityText(c: number): string {
  for (const [name, v] of Object.entries(COMMUNITY_NAMES)) if (v === c) return name;
  return formatCommunity(c);
}

const ORIGINS: [ProtoOrigin, OriginValue][] = [
  [ProtoOrigin.ORIGIN_IGP, 0],
  [ProtoOrigin.ORIGIN_EGP, 1],
  [ProtoOrigin.ORIGIN_INCOMPLETE, 2],
];

/** The destination of a path: family, RD and prefix. */
/** `identify`: only the destination matters (a withdrawal), so a VPN route needs no label. */
export function routeFromProto(familyIn: ProtoFamily, rdText: string, prefixText: string, labels: readonly number[] = [], identify = false): { family: Family; route: Route } {
  const family = familyFromProto(familyIn);
  if (family === RTC) throw invalidArgument('family', 'RT membership routes come from the VRFs\' import route targets, not from paths');
  const vpn = family === VPNV4 || family === VPNV6;
  let rd: Rd | undefined;
  if (vpn) {
    if (!rdText) throw invalidArgument('rd', 'is required for a VPN family');
    try {
      rd = parseRd(rdText);
    } catch (err) {
      throw invalidArgument('rd', (err as Error).message);
    }
  } else if (rdText) {
    throw invalidArgument('rd', 'only VPN families carry a route distinguisher');
  }
  let prefix: { prefix: Uint8Array; length: number };
  try {
    prefix = parsePrefix(prefixText);
  } catch (err) {
    throw invalidArgument('prefix', err instanceof RouteEncodeError ? err.message : 'is not a prefix');
  }
  if (prefix.prefix.length !== (family.afi === 1 ? 4 : 16)) throw invalidArgument('prefix', `'${quoteId(prefixText)}' is not of the family's address type`);
  for (const l of labels) if (!Number.isInteger(l) || l < 0 || l > 0xfffff) throw invalidArgument('labels', `${l} is not a 20-bit label`);
  if (vpn && labels.length === 0 && !identify) throw invalidArgument('labels', 'a VPN route needs a label');
  if (!vpn && labels.length) throw invalidArgument('labels', 'only VPN families carry labels here');
  return { family, route: { prefix: prefix.prefix, length: prefix.length, rd, labels: vpn ? [...labels] : undefined } };
}

/** A next hop: any unicast address; 0.0.0.0 and :: stand for our own (see speaker/export.ts). */
function address(text: string, field: string): string {
  const checked = checkAddress(text, { refused: ['multicast', 'broadcast'] });
  if (!checked.ok) throw invalidArgument(field, checked.problem);
  return checked.text;
}

export function pathSpecFromProto(p: ProtoPath | undefined): LocalPathSpec {
  if (!p) throw invalidArgument('path', 'is required');
  const { family, route } = routeFromProto(p.family, p.rd, p.prefix, p.labels);
  const attributes: PathAttributes = {};
  if (p.origin !== ProtoOrigin.ORIGIN_UNSPECIFIED) {
    const o = ORIGINS.find(([x]) => x === p.origin);
    if (!o) throw invalidArgument('origin', 'unknown');
    attributes.origin = o[1];
  } else attributes.origin = 0;
  if (p.asPath.length) {
    const path: AsPath = p.asPath.map((s, i) => {
      if (s.type < 1 || s.type > 4) throw invalidArgument(`as_path[${i}].type`, 'is required');
      if (!s.asns.length) throw invalidArgument(`as_path[${i}].asns`, 'must not be empty');
      return { type: s.type as number as AsPathSegmentTypeValue, asns: [...s.asns] };
    });
    attributes.asPath = path;
  }
  if (p.med !== undefined) attributes.med = p.med;
  if (p.localPref !== undefined) attributes.localPref = p.localPref;
  if (p.atomicAggregate) attributes.atomicAggregate = true;
  if (p.aggregator) attributes.aggregator = { as: p.aggregator.as, address: address(p.aggregator.address, 'aggregator.address') };
  if (p.communities.length) attributes.communities = p.communities.map((c, i) => parseCommunity(c, `communities[${i}]`));
  const ext: ExtendedCommunity[] = [];
  p.routeTargets.forEach((t, i) => {
    try {
      ext.push({ kind: 'route-target', value: parseRouteTarget(t) });
    } catch (err) {
      throw invalidArgument(`route_targets[${i}]`, (err as Error).message);
    }
  });
  p.routeOrigins.forEach((t, i) => {
    try {
      ext.push({ kind: 'route-origin', value: parseRouteTarget(t) });
    } catch (err) {
      throw invalidArgument(`route_origins[${i}]`, (err as Error).message);
    }
  });
  p.extendedCommunities.forEach((b, i) => {
    if (b.length !== 8) throw invalidArgument(`extended_communities[${i}]`, 'must be 8 octets');
    ext.push({ kind: 'other', bytes: new Uint8Array(b) });
  });
  if (ext.length) attributes.extendedCommunities = ext;
  if (p.originatorId) attributes.originatorId = address(p.originatorId, 'originator_id');
  if (p.clusterList.length) attributes.clusterList = p.clusterList.map((c, i) => address(c, `cluster_list[${i}]`));
  if (p.unknownAttributes.length) {
    attributes.unknown = p.unknownAttributes.map((u, i) => {
      if (!(u.flags & 0x80)) throw invalidArgument(`unknown_attributes[${i}].flags`, 'only optional attributes may be given raw');
      if (u.type < 1 || u.type > 255 || [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18].includes(u.type)) {
        throw invalidArgument(`unknown_attributes[${i}].type`, `${u.type} has its own field`);
      }
      return { flags: u.flags & 0xe0, type: u.type, value: new Uint8Array(u.value) };
    });
  }
  const nextHop = p.nextHop ? { address: address(p.nextHop, 'next_hop') } : undefined;
  if (nextHop && family.afi === 1 && nextHop.address.includes(':')) throw invalidArgument('next_hop', 'an IPv4 family needs an IPv4 next hop');
  return { family, route, nextHop, attributes };
}

export function pathToProto(path: Path): ProtoPath {
  const a = path.attributes;
  const r = path.route;
  const ext = a.extendedCommunities ?? [];
  return {
    family: familyToProto(path.family),
    rd: r.rd ? formatRd(r.rd) : '',
    prefix: `${formatAddress(r.prefix)}/${r.length}`,
    labels: r.labels ? [...r.labels] : [],
    nextHop: path.nextHop?.address ?? '',
    routeTargets: ext.flatMap((e) => (e.kind === 'route-target' ? [formatRouteTarget(e.value)] : [])),
    routeOrigins: ext.flatMap((e) => (e.kind === 'route-origin' ? [formatRouteTarget(e.value)] : [])),
    extendedCommunities: ext.flatMap((e) => (e.kind === 'other' ? [Buffer.from(e.bytes)] : [])),
    communities: (a.communities ?? []).map(formatCommunityText),
    med: a.med,
    localPref: a.localPref,
    asPath: (a.asPath ?? []).map((s) => ({ type: s.type as number as ProtoSegmentType, asns: [...s.asns] })),
    origin: ORIGINS.find(([, v]) => v === a.origin)?.[0] ?? ProtoOrigin.ORIGIN_UNSPECIFIED,
    atomicAggregate: !!a.atomicAggregate,
    aggregator: a.aggregator ? { as: a.aggregator.as, address: a.aggregator.address } : undefined,
    originatorId: a.originatorId ?? '',
    clusterList: a.clusterList ? [...a.clusterList] : [],
    unknownAttributes: (a.unknown ?? []).map((u) => ({ flags: u.flags, type: u.type, value: Buffer.from(u.value) })),
    source: path.source,
    stale: path.stale,
    age: new Date(path.since),
  };
}
