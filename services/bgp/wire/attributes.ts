// Path attributes other than MP_REACH/MP_UNREACH: the decoded model, the
// per-attribute checks with the RFC 7606 §7 action each malformation draws,
// and the encoder (RFC 4271 §4.3, §5; RFC 6793 for AS4_*; RFC 4456).
import { AsPath, decodeAsPath, encodeAsPath, hasFourOctetAs, withoutConfederation } from './as-path.js';
import { AS_TRANS, AttrFlag, AttrType, OriginValue, UpdateSubcode, UpdateSubcodeValue } from './constants.js';
import {
  ExtendedCommunity,
  decodeCommunities,
  decodeExtendedCommunities,
  encodeCommunities,
  encodeExtendedCommunities,
} from './communities.js';
import { formatIpv4At, parseIpv4, readUint16, readUint32, writeUint16, writeUint32 } from './ip.js';

export interface Aggregator {
  readonly as: number;
  readonly address: string;
}

/** An attribute this codec does not interpret, kept as received. */
export interface RawAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

export interface PathAttributes {
  origin?: OriginValue;
  /** The real path: on a 2-octet session, AS_PATH already merged with AS4_PATH (RFC 6793 §4.2.3). */
  asPath?: AsPath;
  /** NEXT_HOP attribute (IPv4 unicast NLRI field); MP families carry theirs in MP_REACH_NLRI. */
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  communities?: number[];
  originatorId?: string;
  clusterList?: string[];
  extendedCommunities?: ExtendedCommunity[];
  /** Unrecognized optional attributes, in arrival order. */
  unknown?: RawAttribute[];
}

/** RFC 7606 §2 approaches, weakest first. */
export type ErrorAction = 'attribute-discard' | 'treat-as-withdraw' | 'session-reset';

export interface UpdateProblem {
  readonly action: ErrorAction;
  readonly subcode: UpdateSubcodeValue;
  /** Attribute type code involved, if any. */
  readonly attributeType?: number;
  /** NOTIFICATION data per RFC 4271 §6.3 (usually the whole attribute). */
  readonly data: Uint8Array;
  readonly reason: string;
}

export interface AttributeContext {
  readonly fourOctetAs: boolean;
  /** Received from an external peer: LOCAL_PREF is checked, then ignored (RFC 4271 §5.1.5). */
  readonly external?: boolean;
}

/** Decoding state of one UPDATE's attributes: the model plus AS4 parts awaiting the merge. */
export interface AttributeScratch {
  attrs: PathAttributes;
  as4Path?: AsPath;
  as4Aggregator?: Aggregator;
}

interface Rule {
  readonly optional: boolean;
  readonly transitive: boolean;
  /** What a malformed instance draws (RFC 7606 §7). */
  readonly onError: ErrorAction;
}

const WELL_KNOWN: Rule = { optional: false, transitive: true, onError: 'treat-as-withdraw' };
export const RULES: ReadonlyMap<number, Rule> = new Map<number, Rule>([
  [AttrType.ORIGIN, WELL_KNOWN],
  [AttrType.AS_PATH, WELL_KNOWN],
  [AttrType.NEXT_HOP, WELL_KNOWN],
  [AttrType.MULTI_EXIT_DISC, { optional: true, transitive: false, onError: 'treat-as-withdraw' }],
  [AttrType.LOCAL_PREF, WELL_KNOWN],
  [AttrType.ATOMIC_AGGREGATE, { optional: false, transitive: true, onError: 'attribute-discard' }],
  [AttrType.AGGREGATOR, { optional: true, transitive: true, onError: 'attribute-discard' }],
  [AttrType.COMMUNITIES, { optional: true, transitive: true, onError: 'treat-as-withdraw' }],
  [AttrType.ORIGINATOR_ID, { optional: true, transitive: false, onError: 'treat-as-withdraw' }],
  [AttrType.CLUSTER_LIST, { optional: true, transitive: false, onError: 'treat-as-withdraw' }],
  [AttrType.MP_REACH_NLRI, { optional: true, transitive: false, onError: 'session-reset' }],
  [AttrType.MP_UNREACH_NLRI, { optional: true, transitive: false, onError: 'session-reset' }],
  [AttrType.EXTENDED_COMMUNITIES, { optional: true, transitive: true, onError: 'treat-as-withdraw' }],
  [AttrType.AS4_PATH, { optional: true, transitive: true, onError: 'attribute-discard' }],
  [AttrType.AS4_AGGREGATOR, { optional: true, transitive: true, onError: 'attribute-discard' }],
]);

export function problem(action: ErrorAction, subcode: UpdateSubcodeValue, reason: string, attributeType?: number, data: Uint8Array = new Uint8Array(0)): UpdateProblem {
  return { action, subcode, attributeType, data, reason };
}

/** RFC 7606 §3.c: Optional/Transitive bits that contradict the attribute's definition. */
export function flagsProblem(type: number, flags: number, raw: Uint8Array): UpdateProblem | undefined {
  const rule = RULES.get(type);
  if (!rule) return undefined;
  const optional = (flags & AttrFlag.OPTIONAL) !== 0;
  const transitive = (flags & AttrFlag.TRANSITIVE) !== 0;
  if (optional === rule.optional && transitive === rule.transitive) return undefined;
  return problem(rule.onError, UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, `flags 0x${flags.toString(16)} wrong for attribute ${type}`, type, raw.slice());
}

/**
 * Decodes one recognized attribute other than MP_* into `scratch`. Returns
 * the problem when malformed (the attribute is then left out). `raw` is the
 * whole attribute (flags, type, length, value) for NOTIFICATION data.
 */
export function decodeAttribute(type: number, value: Uint8Array, raw: Uint8Array, scratch: AttributeScratch, ctx: AttributeContext): UpdateProblem | undefined {
  const a = scratch.attrs;
  const len = value.length;
  const rule = RULES.get(type)!;
  const lengthError = (expected: string) =>
    problem(rule.onError, UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `attribute ${type} length ${len}, expected ${expected}`, type, raw.slice());
  switch (type) {
    case AttrType.ORIGIN:
      if (len !== 1) return lengthError('1');
      if (value[0]! > 2) return problem('treat-as-withdraw', UpdateSubcode.INVALID_ORIGIN_ATTRIBUTE, `ORIGIN ${value[0]}`, type, raw.slice());
      a.origin = value[0] as OriginValue;
      return undefined;
    case AttrType.AS_PATH: {
      const path = decodeAsPath(value, ctx.fourOctetAs ? 4 : 2);
      // RFC 4271 §6.3 gives Malformed AS_PATH no data.
      if (typeof path === 'string') return problem('treat-as-withdraw', UpdateSubcode.MALFORMED_AS_PATH, `AS_PATH: ${path}`, type);
      a.asPath = path;
      return undefined;
    }
    case AttrType.NEXT_HOP:
      if (len !== 4) return lengthError('4');
      a.nextHop = formatIpv4At(value, 0);
      return undefined;
    case AttrType.MULTI_EXIT_DISC:
      if (len !== 4) return lengthError('4');
      a.med = readUint32(value, 0);
      return undefined;
    case AttrType.LOCAL_PREF:
      if (len !== 4) return lengthError('4');
      if (!ctx.external) a.localPref = readUint32(value, 0);
      return undefined;
    case AttrType.ATOMIC_AGGREGATE:
      if (len !== 0) return lengthError('0');
      a.atomicAggregate = true;
      return undefined;
    case AttrType.AGGREGATOR: {
      const size = ctx.fourOctetAs ? 8 : 6;
      if (len !== size) return lengthError(String(size));
      a.aggregator = ctx.fourOctetAs
        ? { as: readUint32(value, 0), address: formatIpv4At(value, 4) }
        : { as: readUint16(value, 0), address: formatIpv4At(value, 2) };
      return undefined;
    }
    case AttrType.COMMUNITIES:
      if (len === 0 || len % 4 !== 0) return lengthError('a non-zero multiple of 4');
      a.communities = decodeCommunities(value);
      return undefined;
    case AttrType.ORIGINATOR_ID:
      if (len !== 4) return lengthError('4');
      a.originatorId = formatIpv4At(value, 0);
      return undefined;
    case AttrType.CLUSTER_LIST: {
      if (len === 0 || len % 4 !== 0) return lengthError('a non-zero multiple of 4');
      const list: string[] = [];
      for (let o = 0; o < len; o += 4) list.push(formatIpv4At(value, o));
      a.clusterList = list;
      return undefined;
    }
    case AttrType.EXTENDED_COMMUNITIES:
      if (len === 0 || len % 8 !== 0) return lengthError('a non-zero multiple of 8');
      a.extendedCommunities = decodeExtendedCommunities(value);
      return undefined;
    case AttrType.AS4_PATH: {
      // RFC 6793 §6: between two 4-octet speakers AS4_PATH must not appear and is discarded.
      if (ctx.fourOctetAs) return problem('attribute-discard', UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, 'AS4_PATH on a 4-octet session', type);
      const path = decodeAsPath(value, 4);
      if (typeof path === 'string') return problem('attribute-discard', UpdateSubcode.MALFORMED_AS_PATH, `AS4_PATH: ${path}`, type);
      scratch.as4Path = path;
      return undefined;
    }
    case AttrType.AS4_AGGREGATOR:
      if (ctx.fourOctetAs) return problem('attribute-discard', UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, 'AS4_AGGREGATOR on a 4-octet session', type);
      if (len !== 8) return lengthError('8');
      scratch.as4Aggregator = { as: readUint32(value, 0), address: formatIpv4At(value, 4) };
      return undefined;
    default:
      return undefined;
  }
}

/**
 * RFC 6793 §4.2.3 on a 2-octet session: AGGREGATOR with a real (non-AS_TRANS)
 * AS voids AS4_AGGREGATOR and AS4_PATH; otherwise AS4_AGGREGATOR replaces
 * AGGREGATOR and AS4_PATH is merged into AS_PATH.
 */
export function applyAs4(scratch: AttributeScratch, merge: (asPath: AsPath, as4Path: AsPath) => AsPath): void {
  const a = scratch.attrs;
  if (a.aggregator && a.aggregator.as !== AS_TRANS && scratch.as4Aggregator) return;
  if (scratch.as4Aggregator && a.aggregator) a.aggregator = scratch.as4Aggregator;
  if (scratch.as4Path && a.asPath) a.asPath = merge(a.asPath, scratch.as4Path);
}

// ---- encoding ----

/** Appends one attribute, choosing the Extended Length flag only when the value needs it. */
export function encodeAttribute(flags: number, type: number, value: Uint8Array): Uint8Array {
  const ext = value.length > 255;
  const head = ext ? 4 : 3;
  const out = new Uint8Array(head + value.length);
  out[0] = ext ? flags | AttrFlag.EXTENDED_LENGTH : flags & ~AttrFlag.EXTENDED_LENGTH;
  out[1] = type;
  if (ext) writeUint16(out, 2, value.length);
  else out[2] = value.length;
  out.set(value, head);
  return out;
}

function u32(v: number, what: string): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} ${v} is out of range`);
  const out = new Uint8Array(4);
  writeUint32(out, 0, v);
  return out;
}

function ipv4(text: string, what: string): Uint8Array {
  const v = parseIpv4(text);
  if (v === undefined) throw new RangeError(`${what} '${text}' is not an IPv4 address`);
  return u32(v, what);
}

function aggregatorValue(agg: Aggregator, asSize: 2 | 4): Uint8Array {
  const out = new Uint8Array(asSize + 4);
  if (asSize === 4) writeUint32(out, 0, agg.as);
  else writeUint16(out, 0, agg.as > 0xffff ? AS_TRANS : agg.as);
  out.set(ipv4(agg.address, 'aggregator address'), asSize);
  return out;
}

const WK = AttrFlag.TRANSITIVE;
const OPT = AttrFlag.OPTIONAL;
const OPT_T = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;

/**
 * Encodes every attribute but MP_REACH/MP_UNREACH, in type-code order (the
 * order FRR, GoBGP and BIRD emit). On a 2-octet session, AS numbers above
 * 65535 become AS_TRANS and AS4_PATH / AS4_AGGREGATOR are added (RFC 6793 §4.2.2).
 * Throws RangeError on values that do not fit.
 */
export function encodeAttributes(a: PathAttributes, ctx: AttributeContext): Uint8Array {
  const parts: { type: number; bytes: Uint8Array }[] = [];
  const add = (flags: number, type: number, value: Uint8Array) => parts.push({ type, bytes: encodeAttribute(flags, type, value) });
  if (a.origin !== undefined) add(WK, AttrType.ORIGIN, Uint8Array.of(a.origin));
  if (a.asPath !== undefined) add(WK, AttrType.AS_PATH, encodeAsPath(a.asPath, ctx.fourOctetAs ? 4 : 2));
  if (a.nextHop !== undefined) add(WK, AttrType.NEXT_HOP, ipv4(a.nextHop, 'NEXT_HOP'));
  if (a.med !== undefined) add(OPT, AttrType.MULTI_EXIT_DISC, u32(a.med, 'MED'));
  if (a.localPref !== undefined) add(WK, AttrType.LOCAL_PREF, u32(a.localPref, 'LOCAL_PREF'));
  if (a.atomicAggregate) add(WK, AttrType.ATOMIC_AGGREGATE, new Uint8Array(0));
  if (a.aggregator !== undefined) add(OPT_T, AttrType.AGGREGATOR, aggregatorValue(a.aggregator, ctx.fourOctetAs ? 4 : 2));
  if (a.communities !== undefined && a.communities.length > 0) add(OPT_T, AttrType.COMMUNITIES, encodeCommunities(a.communities));
  if (a.originatorId !== undefined) add(OPT, AttrType.ORIGINATOR_ID, ipv4(a.originatorId, 'ORIGINATOR_ID'));
  if (a.clusterList !== undefined && a.clusterList.length > 0) {
    const v = new Uint8Array(4 * a.clusterList.length);
    a.clusterList.forEach((id, i) => v.set(ipv4(id, 'CLUSTER_LIST id'), 4 * i));
    add(OPT, AttrType.CLUSTER_LIST, v);
  }
  if (a.extendedCommunities !== undefined && a.extendedCommunities.length > 0) {
    add(OPT_T, AttrType.EXTENDED_COMMUNITIES, encodeExtendedCommunities(a.extendedCommunities));
  }
  if (!ctx.fourOctetAs) {
    if (a.asPath && hasFourOctetAs(a.asPath)) add(OPT_T, AttrType.AS4_PATH, encodeAsPath(withoutConfederation(a.asPath), 4));
    if (a.aggregator && a.aggregator.as > 0xffff) add(OPT_T, AttrType.AS4_AGGREGATOR, aggregatorValue(a.aggregator, 4));
  }
  for (const u of a.unknown ?? []) {
    if (RULES.has(u.type)) throw new RangeError(`attribute ${u.type} must be given in its own field`);
    parts.push({ type: u.type, bytes: encodeAttribute(u.flags, u.type, u.value) });
  }
  parts.sort((x, y) => x.type - y.type);
  const size = parts.reduce((n, p) => n + p.bytes.length, 0);
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p.bytes, o);
    o += p.bytes.length;
  }
  return out;
}

/**
 * The unrecognized attributes to pass on (RFC 4271 §5): optional transitive
 * ones, with the Partial bit set; optional non-transitive ones are dropped.
 */
export function forwardableUnknown(unknown: readonly RawAttribute[] | undefined): RawAttribute[] {
  const out: RawAttribute[] = [];
  for (const u of unknown ?? []) {
    if ((u.flags & AttrFlag.OPTIONAL) && (u.flags & AttrFlag.TRANSITIVE)) out.push({ ...u, flags: u.flags | AttrFlag.PARTIAL });
  }
  return out;
}
