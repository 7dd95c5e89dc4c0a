// MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4). Either one malformed
// means the NLRI cannot be located reliably, so the session is reset
// (RFC 7606 §7.11, §5.3) with Optional Attribute Error (RFC 4760 §7).
import { AttrFlag, AttrType } from './constants.js';
import { readUint16, writeUint16 } from './ip.js';
import { Family, NlriList, NlriParseOptions, Route, encodedRouteLength, parseNlri, writeRoute } from './nlri.js';
import { NextHop, decodeNextHop, encodeNextHop } from './next-hop.js';
import { encodeAttribute } from './attributes.js';
import { Afi } from './constants.js';
import { SAFI_RT_CONSTRAINT, decodeRtMembershipNlri } from './rt-membership-nlri.js';

export interface MpReach {
  readonly afi: number;
  readonly safi: number;
  /** Undefined for a family this codec does not parse (`rawNextHop` is still there). */
  readonly nextHop: NextHop | undefined;
  readonly rawNextHop: Uint8Array;
  readonly nlri: NlriList;
}

export interface MpUnreach {
  readonly afi: number;
  readonly safi: number;
  readonly nlri: NlriList;
}

type LabelOptions = Pick<NlriParseOptions, 'multipleLabels'>;

export function decodeMpReach(value: Uint8Array, options: LabelOptions): MpReach | string {
  if (value.length < 5) return `MP_REACH_NLRI of ${value.length} octets`;
  const afi = readUint16(value, 0);
  const safi = value[2]!;
  const nhLen = value[3]!;
  // Next hop, then one reserved octet (RFC 4760 §3), then the NLRI.
  if (4 + nhLen + 1 > value.length) return `next hop length ${nhLen} overruns MP_REACH_NLRI`;
  const rawNextHop = value.subarray(4, 4 + nhLen);
  const nlri = parseNlri(afi, safi, value.subarray(5 + nhLen), { withdraw: false, multipleLabels: options.multipleLabels });
  if (typeof nlri === 'string') return `MP_REACH_NLRI ${afi}/${safi}: ${nlri}`;
  const rtc = checkRtMembership(nlri);
  if (rtc) return `MP_REACH_NLRI ${afi}/${safi}: ${rtc}`;
  let nextHop: NextHop | undefined;
  if (nlri.shape) {
    const nh = decodeNextHop(afi, safi, rawNextHop);
    if (typeof nh === 'string') return nh;
    nextHop = nh;
  }
  return { afi, safi, nextHop, rawNextHop, nlri };
}

export function decodeMpUnreach(value: Uint8Array): MpUnreach | string {
  if (value.length < 3) return `MP_UNREACH_NLRI of ${value.length} octets`;
  const afi = readUint16(value, 0);
  const safi = value[2]!;
  const nlri = parseNlri(afi, safi, value.subarray(3), { withdraw: true });
  if (typeof nlri === 'string') return `MP_UNREACH_NLRI ${afi}/${safi}: ${nlri}`;
  const rtc = checkRtMembership(nlri);
  if (rtc) return `MP_UNREACH_NLRI ${afi}/${safi}: ${rtc}`;
  return { afi, safi, nlri };
}

/** RT membership NLRI stay raw (no prefix shape) but are checked here, like every other NLRI field. */
function checkRtMembership(nlri: NlriList): string | undefined {
  if (nlri.afi !== Afi.IPV4 || nlri.safi !== SAFI_RT_CONSTRAINT) return undefined;
  const r = decodeRtMembershipNlri(nlri.bytes);
  return typeof r === 'string' ? r : undefined;
}

const MP_FLAGS = AttrFlag.OPTIONAL;

/** MP_REACH_NLRI value up to and including the reserved octet: AFI, SAFI, next hop. */
export function mpReachHead(family: Family, nextHop: NextHop): Uint8Array {
  const nh = encodeNextHop(family.afi, family.safi, nextHop);
  const out = new Uint8Array(5 + nh.length);
  writeUint16(out, 0, family.afi);
  out[2] = family.safi;
  out[3] = nh.length;
  out.set(nh, 4);
  return out;
}

export function encodeMpReach(family: Family, nextHop: NextHop, routes: readonly Route[]): Uint8Array {
  const head = mpReachHead(family, nextHop);
  let size = head.length;
  for (const r of routes) size += encodedRouteLength(family, r, false);
  const value = new Uint8Array(size);
  value.set(head);
  let o = head.length;
  for (const r of routes) o = writeRoute(value, o, family, r, false);
  return encodeAttribute(MP_FLAGS, AttrType.MP_REACH_NLRI, value);
}

/** With no routes this is the End-of-RIB marker of a non-IPv4-unicast family (RFC 4724 §2). */
export function encodeMpUnreach(family: Family, routes: readonly Route[]): Uint8Array {
  let size = 3;
  for (const r of routes) size += encodedRouteLength(family, r, true);
  const value = new Uint8Array(size);
  writeUint16(value, 0, family.afi);
  value[2] = family.safi;
  let o = 3;
  for (const r of routes) o = writeRoute(value, o, family, r, true);
  return encodeAttribute(MP_FLAGS, AttrType.MP_UNREACH_NLRI, value);
}
