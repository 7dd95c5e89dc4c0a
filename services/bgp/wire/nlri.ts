// NLRI for the families this speaker carries: IPv4/IPv6 unicast (RFC 4271,
// RFC 4760), labeled unicast and VPN-IPv4/VPN-IPv6 (RFC 8277, RFC 4364 §4.3.4,
// RFC 4659). A decoded NLRI field is a view: the field's octets plus one
// 16-bit offset per prefix. Nothing per prefix is allocated until a caller
// asks for it, which keeps decoding at tens of millions of prefixes a second
// and a held prefix at its wire size plus two octets.
import { Rd, decodeRd, encodeRd, formatRd } from '../../common/vpn/rd.js';
import { Afi, Safi, WITHDRAW_LABEL_FIELD } from './constants.js';
import { formatIpv4At, formatIpv6At, parseAddress } from './ip.js';
import { quoteId } from '../../common/quote.js';

export interface Family {
  readonly afi: number;
  readonly safi: number;
}

export interface FamilyShape {
  /** Octets of a full address: 4 or 16. */
  readonly addressLength: 4 | 16;
  readonly labeled: boolean;
  readonly hasRd: boolean;
}

const SHAPES = new Map<number, FamilyShape>();
for (const afi of [Afi.IPV4, Afi.IPV6]) {
  const addressLength = afi === Afi.IPV4 ? 4 : 16;
  SHAPES.set(familyKey(afi, Safi.UNICAST), { addressLength, labeled: false, hasRd: false });
  SHAPES.set(familyKey(afi, Safi.MULTICAST), { addressLength, labeled: false, hasRd: false });
  SHAPES.set(familyKey(afi, Safi.MPLS_LABEL), { addressLength, labeled: true, hasRd: false });
  SHAPES.set(familyKey(afi, Safi.MPLS_VPN), { addressLength, labeled: true, hasRd: true });
}

export function familyKey(afi: number, safi: number): number {
  return afi * 256 + safi;
}

/** The NLRI layout of a family, or undefined for one this codec does not parse. */
export function familyShape(afi: number, safi: number): FamilyShape | undefined {
  return SHAPES.get(familyKey(afi, safi));
}

export interface NlriParseOptions {
  /** Parsing the withdrawn side (Withdrawn Routes or MP_UNREACH_NLRI). */
  readonly withdraw: boolean;
  /**
   * Largest label stack accepted in a reachable NLRI: 1 unless the RFC 8277
   * Multiple Labels capability was negotiated. With 1, exactly one label
   * field is read and its bottom-of-stack bit is not relied on (RFC 8277 §2.2).
   */
  readonly multipleLabels?: number;
}

/** A prefix as the encoders take it. */
export interface Route {
  /** Address octets, 4 for IPv4 families, 16 for IPv6 ones; bits past `length` are ignored. */
  readonly prefix: Uint8Array;
  readonly length: number;
  /** Required for VPN families. */
  readonly rd?: Rd;
  /** MPLS label values (20 bits each) for labeled and VPN families, outermost first. */
  readonly labels?: readonly number[];
}

/** A prefix materialized from a view, for tests, logs and APIs; the hot path should use the view. */
export interface DecodedRoute {
  readonly rd?: Rd;
  readonly prefix: string;
  readonly labels?: number[];
}

// Scratch space for one parse; copied out at its exact size.
const scratchLabels = new Uint8Array(65536);

export class NlriList implements Family {
  constructor(
    readonly afi: number,
    readonly safi: number,
    /** The NLRI octets (a view of the message). */
    readonly bytes: Uint8Array,
    /** Entry offsets in `bytes` (a plain array: one small allocation per list, no ArrayBuffer). */
    private readonly offsets: readonly number[],
    /** Label fields per entry: one number for all, or one per entry. */
    private readonly labelCounts: number | Uint8Array,
    /** Undefined for a family this codec cannot parse: `bytes` is then kept raw and count is 0. */
    readonly shape: FamilyShape | undefined,
    /**
     * Entries whose label stack is deeper than the session accepts (RFC 8277:
     * more than one label without the Multiple Labels capability): parsed by
     * their bottom-of-stack bits so that their routes can be withdrawn.
     */
    readonly deeperStacks = 0,
  ) {}

  static empty(afi: number, safi: number): NlriList {
    return new NlriList(afi, safi, EMPTY_BYTES, EMPTY_OFFSETS, 0, familyShape(afi, safi));
  }

  get count(): number {
    return this.offsets.length;
  }

  labelCount(i: number): number {
    return typeof this.labelCounts === 'number' ? this.labelCounts : this.labelCounts[i]!;
  }

  /** The 24-bit label field j of entry i (label, traffic class, bottom-of-stack). */
  labelField(i: number, j = 0): number {
    const o = this.offsets[i]! + 1 + 3 * j;
    const b = this.bytes;
    return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
  }

  /** The 20-bit label value j of entry i. */
  label(i: number, j = 0): number {
    return this.labelField(i, j) >>> 4;
  }

  labels(i: number): number[] {
    const n = this.labelCount(i);
    const out: number[] = new Array(n);
    for (let j = 0; j < n; j++) out[j] = this.label(i, j);
    return out;
  }

  /** Offset of entry i's RD inside `bytes` (VPN families only). */
  rdOffset(i: number): number {
    return this.offsets[i]! + 1 + 3 * this.labelCount(i);
  }

  /** The route distinguisher; undefined for a non-VPN family or an RD type other than 0/1/2. */
  rd(i: number): Rd | undefined {
    if (!this.shape?.hasRd) return undefined;
    return decodeRd(this.bytes, this.rdOffset(i));
  }

  /** The eight RD octets as a view. */
  rdBytes(i: number): Uint8Array {
    const o = this.rdOffset(i);
    return this.bytes.subarray(o, o + 8);
  }

  /** "65000:100", "192.0.2.1:7", or hex for an unknown RD type. */
  rdText(i: number): string {
    const rd = this.rd(i);
    return rd ? formatRd(rd) : Buffer.from(this.rdBytes(i)).toString('hex');
  }

  private prefixOffset(i: number): number {
    return this.offsets[i]! + 1 + 3 * this.labelCount(i) + (this.shape!.hasRd ? 8 : 0);
  }

  /** Prefix length in bits, labels and RD excluded. */
  prefixLength(i: number): number {
    return this.bytes[this.offsets[i]!]! - 24 * this.labelCount(i) - (this.shape!.hasRd ? 64 : 0);
  }

  /** The prefix octets, full width (4 or 16) with host bits cleared. */
  prefixBytes(i: number): Uint8Array {
    const out = new Uint8Array(this.shape!.addressLength);
    const bits = this.prefixLength(i);
    const n = (bits + 7) >> 3;
    const o = this.prefixOffset(i);
    out.set(this.bytes.subarray(o, o + n));
    if (bits & 7) out[n - 1]! &= 0xff << (8 - (bits & 7));
    return out;
  }

  /** An IPv4 prefix as an unsigned 32-bit number, host bits cleared (IPv4 families only). */
  ipv4(i: number): number {
    const bits = this.prefixLength(i);
    const o = this.prefixOffset(i);
    const b = this.bytes;
    const n = (bits + 7) >> 3;
    let v = 0;
    for (let k = 0; k < 4; k++) v = (v << 8) | (k < n ? b[o + k]! : 0);
    return bits === 0 ? 0 : (v & (~0 << (32 - bits))) >>> 0;
  }

  /** "10.1.0.0/16" or "2001:db8::/32". */
  prefix(i: number): string {
    const bytes = this.prefixBytes(i);
    const text = bytes.length === 4 ? formatIpv4At(bytes, 0) : formatIpv6At(bytes, 0);
    return `${text}/${this.prefixLength(i)}`;
  }

  /**
   * A string identifying the destination (RD + prefix, labels excluded) for
   * use as a Map key: same route, same key, whatever the host bits or labels.
   */
  key(i: number): string {
    const bits = this.prefixLength(i);
    const o = this.prefixOffset(i);
    const start = this.shape!.hasRd ? o - 8 : o;
    const n = (bits + 7) >> 3;
    const b = this.bytes;
    const len = 1 + o + n - start;
    // One string allocation per key (a += chain allocates one per octet): the
    // char codes go into a reused array of exactly the key's length.
    const chars = KEY_CHARS[len];
    if (chars) {
      chars[0] = bits;
      let j = 1;
      for (let k = start; k < o + n; k++) chars[j++] = b[k]!;
      if (bits & 7) chars[len - 1] = chars[len - 1]! & (0xff << (8 - (bits & 7))) & 0xff;
      return String.fromCharCode.apply(null, chars);
    }
    let key = String.fromCharCode(bits);
    for (let k = start; k < o + n; k++) {
      const last = k === o + n - 1 && bits & 7;
      key += String.fromCharCode(last ? b[k]! & (0xff << (8 - (bits & 7))) & 0xff : b[k]!);
    }
    return key;
  }

  /** Entry i exactly as received. */
  entry(i: number): Uint8Array {
    const o = this.offsets[i]!;
    return this.bytes.subarray(o, o + 1 + ((this.bytes[o]! + 7) >> 3));
  }

  route(i: number): DecodedRoute {
    const prefix = this.prefix(i);
    if (!this.shape!.labeled) return { prefix };
    const labels = this.labels(i);
    return this.shape!.hasRd ? { rd: this.rd(i), prefix, labels } : { prefix, labels };
  }

  toRoutes(): DecodedRoute[] {
    const out: DecodedRoute[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.route(i));
    return out;
  }
}

const EMPTY_BYTES = new Uint8Array(0);
/** Reused char-code arrays by key length (RD + a full IPv6 prefix + the length octet fit). */
const KEY_CHARS: number[][] = Array.from({ length: 33 }, (_, n) => new Array<number>(n).fill(0));
const EMPTY_OFFSETS: readonly number[] = [];
const EMPTY_LISTS = new Map<number, NlriList>();

function emptyList(afi: number, safi: number): NlriList {
  const fk = familyKey(afi, safi);
  let l = EMPTY_LISTS.get(fk);
  if (!l) EMPTY_LISTS.set(fk, (l = NlriList.empty(afi, safi)));
  return l;
}

/**
 * Checks an NLRI field and indexes its prefixes. Returns a reason string
 * when the field is syntactically wrong (a prefix length that cannot be, or
 * a prefix running past the field). An unknown family yields an opaque list.
 */
export function parseNlri(afi: number, safi: number, bytes: Uint8Array, options: NlriParseOptions): NlriList | string {
  const shape = familyShape(afi, safi);
  if (!shape) return new NlriList(afi, safi, bytes, EMPTY_OFFSETS, 0, undefined);
  // An empty field (the IPv4 ones of every MP-BGP UPDATE): one shared, immutable list.
  if (bytes.length === 0) return emptyList(afi, safi);
  const maxBits = shape.addressLength * 8;
  const rdBits = shape.hasRd ? 64 : 0;
  const end = bytes.length;
  const reach = shape.labeled && !options.withdraw;
  const maxLabels = reach ? Math.max(1, options.multipleLabels ?? 1) : 1;
  const scan = reach && maxLabels > 1;
  const fixedLabels = shape.labeled ? 1 : 0;
  let off = 0;
  let n = 0;
  let deeper = 0;
  const offsets: number[] = [];
  while (off < end) {
    const len = bytes[off]!;
    let labels = fixedLabels;
    if (scan) {
      labels = stackDepth(bytes, off, end);
      if (labels < 0) return `truncated label stack at octet ${off}`;
    }
    let bits = len - 24 * labels - rdBits;
    if (reach && (labels > maxLabels || bits < 0 || bits > maxBits)) {
      // A stack deeper than the session accepts, its end marked by the S bit: the route is parsed, to be withdrawn
      // (treat-as-withdraw), not taken as a malformed NLRI that resets a session carrying every other route.
      const depth = labels > maxLabels ? labels : stackDepth(bytes, off, end);
      const depthBits = len - 24 * depth - rdBits;
      if (depth > maxLabels && depthBits >= 0 && depthBits <= maxBits) {
        labels = depth;
        bits = depthBits;
        deeper++;
      }
    }
    scratchLabels[n] = labels;
    if (bits < 0 || bits > maxBits) return `invalid prefix length ${len} at octet ${off}`;
    const size = 1 + ((len + 7) >> 3);
    if (off + size > end) return `prefix runs past the NLRI field at octet ${off}`;
    offsets.push(off);
    n++;
    off += size;
  }
  const labelCounts = scan || deeper ? scratchLabels.slice(0, n) : fixedLabels;
  return new NlriList(afi, safi, bytes, offsets, labelCounts, shape, deeper);
}

/** Label fields of the entry at `off` up to the one with the bottom-of-stack bit (RFC 3032 §2.1); -1 when the field ends first. */
function stackDepth(bytes: Uint8Array, off: number, end: number): number {
  const entryEnd = Math.min(end, off + 1 + ((bytes[off]! + 7) >> 3));
  for (let labels = 1; ; labels++) {
    const p = off + 3 * labels;
    if (p >= entryEnd) return -1;
    if ((bytes[p]! & 1) === 1) return labels;
  }
}

export class RouteEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteEncodeError';
  }
}

/** Parses "10.0.0.0/8" or "2001:db8::/32". Throws RouteEncodeError. */
export function parsePrefix(text: string): { prefix: Uint8Array; length: number } {
  const slash = text.indexOf('/');
  const prefix = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!prefix) throw new RouteEncodeError(`'${quoteId(text)}' is not an IP prefix`);
  const lenText = slash < 0 ? String(prefix.length * 8) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > prefix.length * 8) {
    throw new RouteEncodeError(`'${quoteId(text)}' has an invalid prefix length`);
  }
  return { prefix, length: Number(lenText) };
}

function requireShape(family: Family): FamilyShape {
  const shape = familyShape(family.afi, family.safi);
  if (!shape) throw new RouteEncodeError(`unsupported family ${family.afi}/${family.safi}`);
  return shape;
}

// Routes of one VRF share their Rd object: encode (and validate) it once.
// Rd values are immutable, so a cached encoding cannot go stale.
const rdCache = new WeakMap<Rd, Uint8Array>();

function rdOctets(rd: Rd): Uint8Array {
  let bytes = rdCache.get(rd);
  if (!bytes) {
    bytes = encodeRd(rd);
    rdCache.set(rd, bytes);
  }
  return bytes;
}

/** Octets the route takes in an NLRI field. */
export function encodedRouteLength(family: Family, route: Route, withdraw: boolean): number {
  const shape = requireShape(family);
  const labels = shape.labeled ? (withdraw ? 1 : Math.max(1, route.labels?.length ?? 0)) : 0;
  return 1 + 3 * labels + (shape.hasRd ? 8 : 0) + ((route.length + 7) >> 3);
}

/**
 * Writes one NLRI entry at `offset` and returns the offset after it.
 * Withdrawals carry the single label field 0x800000 (RFC 8277 §2.4).
 * Throws RouteEncodeError on a route that does not fit the family.
 */
export function writeRoute(buf: Uint8Array, offset: number, family: Family, route: Route, withdraw: boolean): number {
  const shape = requireShape(family);
  const bits = route.length;
  if (!Number.isInteger(bits) || bits < 0 || bits > shape.addressLength * 8) {
    throw new RouteEncodeError(`prefix length ${bits} does not fit AFI ${family.afi}`);
  }
  if (route.prefix.length !== shape.addressLength) {
    throw new RouteEncodeError(`prefix of ${route.prefix.length} octets for AFI ${family.afi}`);
  }
  let o = offset + 1;
  let total = bits;
  if (shape.labeled) {
    if (withdraw) {
      buf[o] = WITHDRAW_LABEL_FIELD >>> 16;
      buf[o + 1] = 0;
      buf[o + 2] = 0;
      o += 3;
      total += 24;
    } else {
      const labels = route.labels && route.labels.length > 0 ? route.labels : undefined;
      if (!labels) throw new RouteEncodeError('a labeled route needs at least one label');
      for (let j = 0; j < labels.length; j++) {
        const label = labels[j]!;
        if (!Number.isInteger(label) || label < 0 || label > 0xfffff) throw new RouteEncodeError(`label ${label} is out of range`);
        const field = (label << 4) | (j === labels.length - 1 ? 1 : 0);
        buf[o] = field >>> 16;
        buf[o + 1] = (field >>> 8) & 0xff;
        buf[o + 2] = field & 0xff;
        o += 3;
      }
      total += 24 * labels.length;
    }
  }
  if (shape.hasRd) {
    if (!route.rd) throw new RouteEncodeError('a VPN route needs a route distinguisher');
    const rd = rdOctets(route.rd);
    for (let k = 0; k < 8; k++) buf[o + k] = rd[k]!;
    o += 8;
    total += 64;
  }
  if (total > 255) throw new RouteEncodeError(`NLRI entry of ${total} bits exceeds the length octet`);
  buf[offset] = total;
  const n = (bits + 7) >> 3;
  for (let k = 0; k < n; k++) buf[o + k] = route.prefix[k]!;
  if (bits & 7) buf[o + n - 1]! &= 0xff << (8 - (bits & 7));
  return o + n;
}

/** Encodes a whole NLRI field. */
export function encodeNlri(family: Family, routes: readonly Route[], withdraw: boolean): Uint8Array {
  let size = 0;
  for (const r of routes) size += encodedRouteLength(family, r, withdraw);
  const out = new Uint8Array(size);
  let o = 0;
  for (const r of routes) o = writeRoute(out, o, family, r, withdraw);
  return out;
}
