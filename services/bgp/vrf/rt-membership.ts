// Route target constraint (RFC 4684): the memberships a PE asks for and
// the outbound filter a peer's memberships imply. A peer that negotiated the
// family tells us, with RT membership NLRI (wire/rt-membership-nlri.ts),
// which route targets it wants; a VPN route goes to it only when one of its
// RTs falls under one of them.
import { RouteTarget, encodeRouteTarget } from '../../common/vpn/route-target.js';
import type { PathAttributes } from '../wire/attributes.js';
import { rtNumber, routeTargetKeys } from './route-targets.js';
import { DEFAULT_RT_MEMBERSHIP, type RtMembership, rtMembershipKey } from '../wire/rt-membership-nlri.js';

export {
  DEFAULT_RT_MEMBERSHIP,
  RT_CONSTRAINT_FAMILY,
  SAFI_RT_CONSTRAINT,
  decodeRtMembershipNlri,
  encodeRtMembershipNlri,
  rtMembershipKey,
  type RtMembership,
} from '../wire/rt-membership-nlri.js';

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
