// A path: one route (family, RD, prefix, labels) with its next hop and
// attributes, as held in a table. Attributes are shared by every path of the
// UPDATE (or API call) that brought them, and never mutated.
import type { PathAttributes } from '../wire/attributes.js';
import type { NextHop } from '../wire/next-hop.js';
import { Family, Route, encodeNlri, familyKey, parseNlri } from '../wire/nlri.js';

/** 'local' for paths added through the API; the peer's address for received ones. */
export type PathSource = 'local' | string;

export interface Path {
  readonly family: Family;
  /** Destination key (RD + prefix, labels excluded), as NlriList.key() builds it. */
  readonly key: string;
  readonly route: Route;
  /** Undefined for a local path that lets the speaker choose (next-hop-self). */
  readonly nextHop: NextHop | undefined;
  readonly attributes: Readonly<PathAttributes>;
  readonly source: PathSource;
  /** Milliseconds since the epoch. */
  readonly since: number;
  /** Kept from a restarting peer until its End-of-RIB (RFC 4724 §4.2). */
  stale: boolean;
}

/** The key NlriList.key() gives the same destination on the wire. Throws RouteEncodeError. */
export function routeKey(family: Family, route: Route): string {
  const bytes = encodeNlri(family, [{ ...route, labels: route.labels?.length ? route.labels : [0] }], false);
  const list = parseNlri(family.afi, family.safi, bytes, { withdraw: false });
  if (typeof list === 'string' || list.count !== 1) throw new Error(`route does not encode: ${String(list)}`);
  return list.key(0);
}

export { familyKey };
