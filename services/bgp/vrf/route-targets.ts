// Route targets as numbers, so sets and indexes of them need no strings:
// the 2-bit form and the 48 bits of value fit a double exactly (< 2^53).
// The RTs of a path are read once per attribute set (every route of one
// UPDATE or API batch shares its attributes object) and cached.
import type { RouteTarget } from '../../common/vpn/route-target.js';
import type { PathAttributes } from '../wire/attributes.js';
import type { ExtendedCommunity } from '../wire/communities.js';

const TWO_32 = 0x100000000;
const TWO_48 = 0x1000000000000;

/** A number that identifies the route target (form, administrator, assigned number). */
export function rtNumber(rt: RouteTarget): number {
  const value = rt.form === 0 ? rt.administrator * TWO_32 + rt.assigned : rt.administrator * 0x10000 + rt.assigned;
  return rt.form * TWO_48 + value;
}

/** The route target a number stands for. */
export function rtFromNumber(n: number): RouteTarget {
  const form = Math.floor(n / TWO_48) as 0 | 1 | 2;
  const value = n - form * TWO_48;
  if (form === 0) return { form, administrator: Math.floor(value / TWO_32), assigned: value % TWO_32 };
  return { form, administrator: Math.floor(value / 0x10000), assigned: value % 0x10000 };
}

const EMPTY: readonly number[] = Object.freeze([]);
const cache = new WeakMap<object, readonly number[]>();

/** The route targets an attribute set carries, as rtNumber values (cached per attributes object). */
export function routeTargetKeys(attrs: Readonly<PathAttributes>): readonly number[] {
  const list = attrs.extendedCommunities;
  if (!list || list.length === 0) return EMPTY;
  let keys = cache.get(attrs);
  if (keys === undefined) {
    const out: number[] = [];
    for (const ec of list) if (ec.kind === 'route-target') out.push(rtNumber(ec.value));
    keys = out.length ? out : EMPTY;
    cache.set(attrs, keys);
  }
  return keys;
}

/** Whether any of `keys` is in `set`. */
export function intersects(keys: readonly number[], set: ReadonlySet<number>): boolean {
  for (let i = 0; i < keys.length; i++) if (set.has(keys[i]!)) return true;
  return false;
}

/** The extended communities with the route targets appended, leaving out ones already present. */
export function withRouteTargets(list: readonly ExtendedCommunity[] | undefined, rts: readonly RouteTarget[]): ExtendedCommunity[] {
  const out: ExtendedCommunity[] = list ? [...list] : [];
  const have = new Set<number>();
  for (const ec of out) if (ec.kind === 'route-target') have.add(rtNumber(ec.value));
  for (const rt of rts) {
    const k = rtNumber(rt);
    if (have.has(k)) continue;
    have.add(k);
    out.push({ kind: 'route-target', value: rt });
  }
  return out;
}
