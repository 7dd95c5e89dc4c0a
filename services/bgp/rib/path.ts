// A path: one route (family, RD, prefix, labels) with its next hop and
// attributes, as held in a table. Attributes are shared by every path of the
// UPDATE (or API call) that brought them, and never mutated.
//
// Received paths are `RibPath`s, sized for a million-route table: the
// destination key (a short binary string, RD + prefix), the label packed into
// a number, and one `PathShared` (family, next hop, attributes, source)
// common to every path that arrived with the same attribute set. The `Route`
// object is built on demand from the key; nothing else is held per path.
import { decodeRd, encodeRd } from '../../common/vpn/rd.js';
import type { PathAttributes } from '../wire/attributes.js';
import type { NextHop } from '../wire/next-hop.js';
import { Family, Route, RouteEncodeError, familyKey, familyShape } from '../wire/nlri.js';

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

/** What the paths of one attribute set from one source have in common. */
export class PathShared {
  /** Paths holding this object (the intern pool drops it at 0). */
  refs = 0;
  constructor(
    readonly family: Family,
    readonly nextHop: NextHop | undefined,
    readonly attributes: Readonly<PathAttributes>,
    readonly source: PathSource,
    /** Identity in the owner's intern pool. */
    readonly internKey: string,
  ) {}
}

/** No label (unlabeled family). */
export const NO_LABEL = -1;

/** A received path in compact form (see the header). */
export class RibPath implements Path {
  stale = false;
  constructor(
    readonly key: string,
    /** The 20-bit label value, NO_LABEL, or the whole stack when it has more than one (RFC 8277 Multiple Labels). */
    readonly label: number | readonly number[],
    readonly shared: PathShared,
    /** Seconds since the epoch (a small integer keeps the field unboxed). */
    readonly sinceSeconds: number,
  ) {}

  get family(): Family {
    return this.shared.family;
  }
  get nextHop(): NextHop | undefined {
    return this.shared.nextHop;
  }
  get attributes(): Readonly<PathAttributes> {
    return this.shared.attributes;
  }
  get source(): PathSource {
    return this.shared.source;
  }
  get since(): number {
    return this.sinceSeconds * 1000;
  }
  get route(): Route {
    return routeFromKey(this.shared.family, this.key, labelsOf(this.label));
  }
}

function labelsOf(label: number | readonly number[]): readonly number[] | undefined {
  if (typeof label !== 'number') return label;
  return label === NO_LABEL ? undefined : [label];
}

/** A path's label stack without building its route. */
export function pathLabels(p: Path): readonly number[] | undefined {
  return p instanceof RibPath ? labelsOf(p.label) : p.route.labels;
}

/** The first label of a path (NO_LABEL when it has none), without allocating for a RibPath. */
export function firstLabel(p: Path): number {
  if (p instanceof RibPath) return typeof p.label === 'number' ? p.label : (p.label[0] ?? NO_LABEL);
  return p.route.labels?.[0] ?? NO_LABEL;
}

/**
 * The key NlriList.key() gives the same destination on the wire: one char
 * of prefix length, the RD's eight octets (VPN families), then the prefix
 * octets with host bits cleared. Throws RouteEncodeError.
 */
export function routeKey(family: Family, route: Route): string {
  const shape = familyShape(family.afi, family.safi);
  if (!shape) throw new RouteEncodeError(`unsupported family ${family.afi}/${family.safi}`);
  const bits = route.length;
  if (!Number.isInteger(bits) || bits < 0 || bits > shape.addressLength * 8) throw new RouteEncodeError(`prefix length ${bits} does not fit AFI ${family.afi}`);
  if (route.prefix.length !== shape.addressLength) throw new RouteEncodeError(`prefix of ${route.prefix.length} octets for AFI ${family.afi}`);
  let key = String.fromCharCode(bits);
  if (shape.hasRd) {
    if (!route.rd) throw new RouteEncodeError('a VPN route needs a route distinguisher');
    const rd = encodeRd(route.rd);
    for (let k = 0; k < 8; k++) key += String.fromCharCode(rd[k]!);
  }
  const n = (bits + 7) >> 3;
  for (let k = 0; k < n; k++) {
    let b = route.prefix[k]!;
    if (k === n - 1 && bits & 7) b &= (0xff << (8 - (bits & 7))) & 0xff;
    key += String.fromCharCode(b);
  }
  return key;
}

/** Rebuilds a route from its key (and labels). */
export function routeFromKey(family: Family, key: string, labels: readonly number[] | undefined): Route {
  const shape = familyShape(family.afi, family.safi)!;
  const bits = key.charCodeAt(0);
  const prefix = new Uint8Array(shape.addressLength);
  const start = shape.hasRd ? 9 : 1;
  for (let k = start; k < key.length; k++) prefix[k - start] = key.charCodeAt(k);
  if (!shape.labeled) return { prefix, length: bits };
  if (!shape.hasRd) return { prefix, length: bits, labels: labels ? [...labels] : [] };
  const rdBytes = new Uint8Array(8);
  for (let k = 0; k < 8; k++) rdBytes[k] = key.charCodeAt(1 + k);
  return { prefix, length: bits, rd: decodeRd(rdBytes, 0), labels: labels ? [...labels] : [] };
}

/** The key's eight RD octets as text for comparisons ('' for a family without RD). */
export function keyRd(family: Family, key: string): string {
  return familyShape(family.afi, family.safi)?.hasRd ? key.slice(1, 9) : '';
}

export { familyKey };
