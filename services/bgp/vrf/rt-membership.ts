// Route target constraint (RFC 4684): the RT membership NLRI (AFI 1,
// SAFI 132) and the outbound filter it implies. A peer that negotiated the
// family tells us, with these NLRI, which route targets it wants; a VPN
// route goes to it only when one of its RTs falls under one of them.
//
// NLRI (RFC 4684 §4): a length in bits, then up to 12 octets: origin AS (4)
// and a route target prefix (the 8-octet extended community, cut after
// length - 32 bits). Length 0 is the default membership: every route.
// Lengths 1..31 and above 96 are malformed.
//
// wire/nlri.ts has no shape for SAFI 132, so parseNlri hands such a field
// over as raw octets (NlriList.bytes with shape undefined): decode those here.
import { RouteTarget, encodeRouteTarget } from '../../common/vpn/route-target.js';
import type { PathAttributes } from '../wire/attributes.js';
import { Afi } from '../wire/constants.js';
import type { Family } from '../wire/nlri.js';
import { rtNumber, routeTargetKeys } from './route-targets.js';

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

/** The exact membership for one route target (length 96). */
export function rtMembership(originAs: number, rt: RouteTarget): RtMembership {
  return { originAs: originAs >>> 0, length: 96, target: encodeRouteTarget(rt) };
}

/** Memberships for a set of import route targets (what a PE advertises). */
export function rtMemberships(originAs: number, rts: Iterable<RouteTarget>): RtMembership[] {
  const out: RtMembership[] = [];
  for (const rt of rts) out.push(rtMembership(originAs, rt));
  return out;
}

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

/** The route target a full-length target stands for, as rtNumber, or undefined (not an RT, or a prefix). */
function exactRt(m: RtMembership): number | undefined {
  if (m.length !== 96) return undefined;
  const t = m.target;
  if (t[0]! > 2 || t[1] !== 0x02) return undefined;
  const form = t[0] as 0 | 1 | 2;
  const v = new DataView(t.buffer, t.byteOffset, 8);
  const rt: RouteTarget =
    form === 0 ? { form, administrator: v.getUint16(2), assigned: v.getUint32(4) } : { form, administrator: v.getUint32(2), assigned: v.getUint16(6) };
  return rtNumber(rt);
}

interface PrefixEntry {
  readonly bits: number;
  readonly target: Uint8Array;
  refs: number;
}

const scratch = new Uint8Array(8);

function prefixMatch(bits: number, want: Uint8Array, have: Uint8Array): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (want[i] !== have[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = 0xff << (8 - rest) & 0xff;
  return (want[whole]! & mask) === (have[whole]! & mask);
}

/**
 * What one peer asked for. Exact route targets are a counted set of
 * numbers; prefixes shorter than a whole RT are few and scanned. The
 * verdict per attribute set is cached, so a peer's filter costs one look-up
 * per UPDATE's worth of routes.
 */
export class RtMembershipFilter {
  private readonly nlri = new Map<string, RtMembership>();
  private defaults = 0;
  private readonly exact = new Map<number, number>();
  private readonly prefixes = new Map<string, PrefixEntry>();
  private generation = 0;
  private cache = new WeakMap<object, { gen: number; allowed: boolean }>();

  /** Memberships held (NLRI as received, by key). */
  get size(): number {
    return this.nlri.size;
  }

  /** Whether the default membership is held: everything passes. */
  get acceptsAll(): boolean {
    return this.defaults > 0;
  }

  /** Adds one advertised membership; returns true when it is new (the filter may now let more through). */
  add(m: RtMembership): boolean {
    const key = rtMembershipKey(m);
    if (this.nlri.has(key)) return false;
    this.nlri.set(key, m);
    this.generation++;
    if (m.length === 0) {
      this.defaults++;
      return true;
    }
    const rt = exactRt(m);
    if (rt !== undefined) {
      this.exact.set(rt, (this.exact.get(rt) ?? 0) + 1);
      return true;
    }
    const pk = rtMembershipKey({ ...m, originAs: 0 });
    const e = this.prefixes.get(pk);
    if (e) e.refs++;
    else this.prefixes.set(pk, { bits: m.length - 32, target: m.target, refs: 1 });
    return true;
  }

  /** Removes one withdrawn membership; returns true when it was held (the filter may now let less through). */
  remove(m: RtMembership): boolean {
    const key = rtMembershipKey(m);
    const held = this.nlri.get(key);
    if (!held) return false;
    this.nlri.delete(key);
    this.generation++;
    if (held.length === 0) {
      this.defaults--;
      return true;
    }
    const rt = exactRt(held);
    if (rt !== undefined) {
      const n = this.exact.get(rt)! - 1;
      if (n === 0) this.exact.delete(rt);
      else this.exact.set(rt, n);
      return true;
    }
    const pk = rtMembershipKey({ ...held, originAs: 0 });
    const e = this.prefixes.get(pk)!;
    if (--e.refs === 0) this.prefixes.delete(pk);
    return true;
  }

  clear(): void {
    this.nlri.clear();
    this.exact.clear();
    this.prefixes.clear();
    this.defaults = 0;
    this.generation++;
  }

  memberships(): IterableIterator<RtMembership> {
    return this.nlri.values();
  }

  /** Whether a route with these attributes may be sent to the peer (RFC 4684 §4). */
  allows(attrs: Readonly<PathAttributes>): boolean {
    if (this.defaults > 0) return true;
    let hit = this.cache.get(attrs);
    if (!hit || hit.gen !== this.generation) {
      hit = { gen: this.generation, allowed: this.match(attrs) };
      this.cache.set(attrs, hit);
    }
    return hit.allowed;
  }

  private match(attrs: Readonly<PathAttributes>): boolean {
    const keys = routeTargetKeys(attrs);
    for (let i = 0; i < keys.length; i++) if (this.exact.has(keys[i]!)) return true;
    if (this.prefixes.size === 0) return false;
    for (const ec of attrs.extendedCommunities ?? []) {
      if (ec.kind !== 'route-target') continue;
      encodeRouteTarget(ec.value, scratch, 0);
      for (const p of this.prefixes.values()) if (prefixMatch(p.bits, p.target, scratch)) return true;
    }
    return false;
  }
}
