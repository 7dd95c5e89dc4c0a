// COMMUNITIES (RFC 1997) and EXTENDED_COMMUNITIES (RFC 4360). Route targets
// and route origins are decoded through the shared route-target module; any
// other extended community is kept as its eight octets.
import {
  EXTENDED_COMMUNITY_LENGTH,
  RouteOrigin,
  RouteTarget,
  SUBTYPE_ROUTE_ORIGIN,
  SUBTYPE_ROUTE_TARGET,
  decodeAdministeredCommunity,
  encodeAdministeredCommunity,
} from '../../common/vpn/route-target.js';
import { readUint32, writeUint32 } from './ip.js';

export type ExtendedCommunity =
  | { readonly kind: 'route-target'; readonly value: RouteTarget }
  | { readonly kind: 'route-origin'; readonly value: RouteOrigin }
  | { readonly kind: 'other'; readonly bytes: Uint8Array };

/** Well-known communities (RFC 1997, RFC 7999). */
export const WellKnownCommunity = {
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  BLACKHOLE: 0xffff029a,
} as const;

export function decodeCommunities(value: Uint8Array): number[] {
  const out: number[] = new Array(value.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = readUint32(value, 4 * i);
  return out;
}

export function encodeCommunities(communities: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 * communities.length);
  communities.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) throw new RangeError(`community ${c} is out of range`);
    writeUint32(out, 4 * i, c);
  });
  return out;
}

/** "65000:100" for a community value. */
export function formatCommunity(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}

export function decodeExtendedCommunities(value: Uint8Array): ExtendedCommunity[] {
  const out: ExtendedCommunity[] = [];
  for (let o = 0; o + EXTENDED_COMMUNITY_LENGTH <= value.length; o += EXTENDED_COMMUNITY_LENGTH) {
    const rt = decodeAdministeredCommunity(value, o, SUBTYPE_ROUTE_TARGET);
    if (rt) {
      out.push({ kind: 'route-target', value: rt });
      continue;
    }
    const ro = decodeAdministeredCommunity(value, o, SUBTYPE_ROUTE_ORIGIN);
    if (ro) out.push({ kind: 'route-origin', value: ro });
    else out.push({ kind: 'other', bytes: value.slice(o, o + EXTENDED_COMMUNITY_LENGTH) });
  }
  return out;
}

export function encodeExtendedCommunities(list: readonly ExtendedCommunity[]): Uint8Array {
  const out = new Uint8Array(EXTENDED_COMMUNITY_LENGTH * list.length);
  list.forEach((ec, i) => {
    const o = EXTENDED_COMMUNITY_LENGTH * i;
    if (ec.kind === 'other') {
      if (ec.bytes.length !== EXTENDED_COMMUNITY_LENGTH) throw new RangeError('an extended community is 8 octets');
      out.set(ec.bytes, o);
    } else {
      encodeAdministeredCommunity(ec.value, ec.kind === 'route-target' ? SUBTYPE_ROUTE_TARGET : SUBTYPE_ROUTE_ORIGIN, out, o);
    }
  });
  return out;
}

export function routeTargets(list: readonly ExtendedCommunity[] | undefined): RouteTarget[] {
  const out: RouteTarget[] = [];
  for (const ec of list ?? []) if (ec.kind === 'route-target') out.push(ec.value);
  return out;
}
