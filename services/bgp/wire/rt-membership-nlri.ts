// The RT membership NLRI (RFC 4684 §4), AFI 1 / SAFI 132: a length in bits,
// then up to 12 octets: origin AS (4) and a route target prefix (the
// 8-octet extended community, cut after length - 32 bits). Length 0 is the
// default membership: every route. Lengths 1..31 and above 96 are malformed.
//
// parseNlri has no prefix shape for SAFI 132 and hands the field over raw
// (NlriList.bytes, shape undefined); decodeMpReach / decodeMpUnreach check
// it with decodeRtMembershipNlri, so a session only ever sees valid fields.
import { Afi } from './constants.js';
import type { Family } from './nlri.js';

export const SAFI_RT_CONSTRAINT = 132;
export const RT_CONSTRAINT_FAMILY: Family = Object.freeze({ afi: Afi.IPV4, safi: SAFI_RT_CONSTRAINT });

export interface RtMembership {
  /** 0 for the default membership. */
  readonly originAs: number;
  /** Prefix length in bits: 0 (default) or 32..96. */
  readonly length: number;
  /** The route target prefix, 8 octets, bits past length - 32 cleared. */
  readonly target: Uint8Array;
}

const ZERO8 = new Uint8Array(8);
export const DEFAULT_RT_MEMBERSHIP: RtMembership = Object.freeze({ originAs: 0, length: 0, target: ZERO8 });

/** Decodes an RT membership NLRI field; a reason string when malformed. */
export function decodeRtMembershipNlri(bytes: Uint8Array): RtMembership[] | string {
  const out: RtMembership[] = [];
  let o = 0;
  while (o < bytes.length) {
    const length = bytes[o]!;
    if (length !== 0 && (length < 32 || length > 96)) return `RT membership prefix length ${length} at octet ${o}`;
    const n = (length + 7) >> 3;
    if (o + 1 + n > bytes.length) return `RT membership prefix runs past the field at octet ${o}`;
    const p = bytes.subarray(o + 1, o + 1 + n);
    if (length === 0) out.push(DEFAULT_RT_MEMBERSHIP);
    else {
      const originAs = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
      const target = new Uint8Array(8);
      target.set(p.subarray(4));
      const bits = length - 32;
      if (bits & 7) target[bits >> 3]! &= 0xff << (8 - (bits & 7));
      out.push({ originAs, length, target });
    }
    o += 1 + n;
  }
  return out;
}

export function encodeRtMembershipNlri(list: readonly RtMembership[]): Uint8Array {
  let size = 0;
  for (const m of list) {
    if (m.length !== 0 && (m.length < 32 || m.length > 96)) throw new RangeError(`RT membership prefix length ${m.length}`);
    size += 1 + ((m.length + 7) >> 3);
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const m of list) {
    out[o++] = m.length;
    if (m.length === 0) continue;
    out[o] = m.originAs >>> 24;
    out[o + 1] = m.originAs >>> 16;
    out[o + 2] = m.originAs >>> 8;
    out[o + 3] = m.originAs;
    const n = ((m.length + 7) >> 3) - 4;
    for (let k = 0; k < n; k++) out[o + 4 + k] = m.target[k]!;
    const bits = m.length - 32;
    if (bits & 7) out[o + 4 + n - 1]! &= 0xff << (8 - (bits & 7));
    o += 4 + n;
  }
  return out;
}

/** A Map key for one membership NLRI. */
export function rtMembershipKey(m: RtMembership): string {
  let k = `${m.length}/${m.originAs}/`;
  for (let i = 0; i < ((Math.max(0, m.length - 32) + 7) >> 3); i++) k += String.fromCharCode(m.target[i]!);
  return k;
}

