// UPDATE message (RFC 4271 §4.3) decoding with RFC 7606 revised error
// handling, and encoding. The decoder never throws: every outcome is an
// UpdateMessage whose `action` says what the session must do.
import { mergeAs4Path } from './as-path.js';
import {
  AttributeScratch,
  ErrorAction,
  PathAttributes,
  RULES,
  UpdateProblem,
  applyAs4,
  decodeAttribute,
  encodeAttributes,
  flagsProblem,
  problem,
} from './attributes.js';
import { Afi, AttrFlag, AttrType, ErrorCode, HEADER_LENGTH, MessageType, Safi, UpdateSubcode } from './constants.js';
import { writeHeader } from './header.js';
import { readUint16, readUint32, writeUint16 } from './ip.js';
import { MpReach, MpUnreach, decodeMpReach, decodeMpUnreach, encodeMpReach, encodeMpUnreach } from './mp-nlri.js';
import { NlriList, Route, encodeNlri, parseNlri } from './nlri.js';
import type { NextHop } from './next-hop.js';
import type { BgpError } from './notification.js';
import { SessionOptions, maxLength } from './session.js';

export type UpdateAction = 'ok' | ErrorAction;

export interface UpdateMessage {
  readonly type: 'update';
  /** The strongest approach any problem calls for (RFC 7606 §3.h); 'ok' when there is none. */
  readonly action: UpdateAction;
  readonly problems: readonly UpdateProblem[];
  /** The NOTIFICATION to send, when action is 'session-reset'. */
  readonly notification?: BgpError;
  /** IPv4 unicast Withdrawn Routes field. */
  readonly withdrawn: NlriList;
  /** IPv4 unicast NLRI field. */
  readonly nlri: NlriList;
  /** Attributes left after discards; on a 2-octet session AS4_* already merged. */
  readonly attributes: PathAttributes;
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
  /** RFC 4724 §2 End-of-RIB marker for this family. */
  readonly endOfRib?: { readonly afi: number; readonly safi: number };
  /**
   * What to install: empty unless action is 'ok' or 'attribute-discard'. An
   * MP_REACH_NLRI of a family this codec does not parse shows up as a list
   * with `shape` undefined and count 0 (RFC 4760 §7 handling is the session's).
   */
  readonly announce: readonly NlriList[];
  /** What to remove: withdrawn routes, plus every announced route under treat-as-withdraw. */
  readonly withdraw: readonly NlriList[];
  /**
   * With a session AttributeSetCache: the cached attribute set this UPDATE's
   * attributes are (`attributes` is its object, shared with every UPDATE
   * that carried the same octets). Undefined when the set had problems.
   */
  readonly attributeSet?: AttributeSet;
}

/** One problem-free attribute set a session received, by its octets (see AttributeSetCache). */
export interface AttributeSet {
  /** Decoded once; shared, never to be mutated. */
  readonly attributes: PathAttributes;
  /** For consumers: the Adj-RIB-In's attribute-key string, filled on first use. */
  key: string | undefined;
  /** For consumers: the Adj-RIB-In's interned form of the set, filled on first use. */
  memo: unknown;
}

interface CachedSet extends AttributeSet {
  readonly bytes: Uint8Array;
  /** Attribute types present (256-bit set). */
  readonly seen: Uint32Array;
}

/**
 * The attribute sets one session has received without any problem, by their
 * octets: the path attributes as received, MP_REACH_NLRI cut to its AFI,
 * SAFI, next hop and reserved octet, MP_UNREACH_NLRI to its AFI and SAFI
 * (each attribute's flags and type kept). An UPDATE whose octets match a
 * cached set reuses its decoded attributes: its other attributes are not
 * decoded again (decoding is a pure function of those octets and the
 * session's options, so the RFC 7606 outcome is the same: none), while its
 * NLRI (fields, MP_REACH_NLRI, MP_UNREACH_NLRI) and the checks that depend on
 * them run every time. A set with any problem is never cached, so every
 * UPDATE carrying it goes through every check. Bounded: cleared when full.
 * One per session (the options are part of the decoding).
 */
export class AttributeSetCache {
  private readonly sets = new Map<number, CachedSet>();
  hits = 0;
  misses = 0;
  constructor(readonly limit = 1024) {}

  get size(): number {
    return this.sets.size;
  }

  /** @internal */
  find(keyLength: number, hash: number): CachedSet | undefined {
    const e = this.sets.get(hash);
    if (!e || e.bytes.length !== keyLength) return undefined;
    const b = e.bytes;
    for (let i = 0; i < keyLength; i++) if (b[i] !== KEY_SCRATCH[i]) return undefined;
    return e;
  }

  /** @internal */
  store(keyLength: number, hash: number, attributes: PathAttributes, seen: Uint32Array): CachedSet {
    if (this.sets.size >= this.limit) this.sets.clear();
    const e: CachedSet = { attributes, key: undefined, memo: undefined, bytes: KEY_SCRATCH.slice(0, keyLength), seen: seen.slice() };
    this.sets.set(hash, e);
    return e;
  }
}

// The cache key of the UPDATE being decoded, and where its MP_* attributes lie.
const KEY_SCRATCH = new Uint8Array(65536);
let scanHash = 0;
let reachAt = -1;
let reachHead = 0;
let reachEnd = 0;
let unreachAt = -1;
let unreachHead = 0;
let unreachEnd = 0;

/**
 * Builds the AttributeSetCache key of the attributes in [start, end) into
 * KEY_SCRATCH (hash in scanHash, MP_* positions noted). Returns its length,
 * or -1 when the list is not plainly well formed (the full decoder then runs
 * and reports what is wrong).
 */
function scanAttributeSet(body: Uint8Array, start: number, end: number): number {
  const s = KEY_SCRATCH;
  let o = start;
  let k = 0;
  reachAt = -1;
  unreachAt = -1;
  while (o < end) {
    if (end - o < 3) return -1;
    const flags = body[o]!;
    const type = body[o + 1]!;
    const ext = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    const head = ext ? 4 : 3;
    if (end - o < head) return -1;
    const len = ext ? (body[o + 2]! << 8) | body[o + 3]! : body[o + 2]!;
    const next = o + head + len;
    if (next > end) return -1;
    if (type === AttrType.MP_REACH_NLRI) {
      if (reachAt >= 0 || len < 5) return -1;
      const keep = 5 + body[o + head + 3]!;
      if (keep > len) return -1;
      reachAt = o;
      reachHead = head;
      reachEnd = next;
      s[k++] = flags;
      s[k++] = type;
      for (let i = o + head, e = i + keep; i < e; i++) s[k++] = body[i]!;
    } else if (type === AttrType.MP_UNREACH_NLRI) {
      if (unreachAt >= 0 || len < 3) return -1;
      unreachAt = o;
      unreachHead = head;
      unreachEnd = next;
      s[k++] = flags;
      s[k++] = type;
      for (let i = o + head, e = i + 3; i < e; i++) s[k++] = body[i]!;
    } else {
      for (let i = o; i < next; i++) s[k++] = body[i]!;
    }
    o = next;
  }
  // FNV-1a
  let h = 0x811c9dc5;
  for (let i = 0; i < k; i++) h = Math.imul(h ^ s[i]!, 0x01000193);
  scanHash = h >>> 0;
  return k;
}

const SEVERITY: Record<UpdateAction, number> = { ok: 0, 'attribute-discard': 1, 'treat-as-withdraw': 2, 'session-reset': 3 };

const EMPTY = new Uint8Array(0);

/** Decodes an UPDATE body (octets after the 19-octet header). */
export function decodeUpdate(body: Uint8Array, session: SessionOptions): UpdateMessage {
  const problems: UpdateProblem[] = [];
  let attrs: PathAttributes = {};
  const scratch: AttributeScratch = { attrs };
  let withdrawn = NlriList.empty(Afi.IPV4, Safi.UNICAST);
  let nlri = withdrawn;
  let mpReach: MpReach | undefined;
  let mpUnreach: MpUnreach | undefined;
  let set: AttributeSet | undefined;
  const finish = () => result(problems, withdrawn, nlri, attrs, mpReach, mpUnreach, body.length, set);
  const reset = (subcode: (typeof UpdateSubcode)[keyof typeof UpdateSubcode], reason: string, type?: number, data: Uint8Array = EMPTY) => {
    problems.push(problem('session-reset', subcode, reason, type, data));
    return finish();
  };

  // RFC 4271 §6.3: lengths that do not add up to the message are a Malformed Attribute List.
  if (body.length < 4) return reset(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, 'UPDATE shorter than its length fields');
  const wLen = readUint16(body, 0);
  if (2 + wLen + 2 > body.length) return reset(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, `withdrawn routes length ${wLen} overruns the message`);
  const aLen = readUint16(body, 2 + wLen);
  const aStart = 4 + wLen;
  const aEnd = aStart + aLen;
  if (aEnd > body.length) return reset(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, `path attribute length ${aLen} overruns the message`);

  const w = parseNlri(Afi.IPV4, Safi.UNICAST, body.subarray(2, 2 + wLen), { withdraw: true });
  if (typeof w === 'string') return reset(UpdateSubcode.INVALID_NETWORK_FIELD, `withdrawn routes: ${w}`);
  withdrawn = w;
  const n = parseNlri(Afi.IPV4, Safi.UNICAST, body.subarray(aEnd), { withdraw: false });
  if (typeof n === 'string') return reset(UpdateSubcode.INVALID_NETWORK_FIELD, `NLRI: ${n}`);
  nlri = n;

  const cache = session.attributeCache;
  const keyLength = cache ? scanAttributeSet(body, aStart, aEnd) : -1;
  if (keyLength >= 0) {
    const hit = cache!.find(keyLength, scanHash);
    if (hit) {
      cache!.hits++;
      // Same octets as a problem-free set: only the NLRI-bearing attributes are decoded.
      // In message order, as the full decoder meets them (the first error is the one reported).
      const ra = reachAt, rh = reachHead, re = reachEnd, ua = unreachAt, uh = unreachHead, ue = unreachEnd;
      const unreachFirst = ra >= 0 && ua >= 0 && ua < ra;
      for (let step = 0; step < 2; step++) {
        const reach = (step === 0) !== unreachFirst;
        if (reach && ra >= 0) {
          const r = decodeMpReach(body.subarray(ra + rh, re), session);
          if (typeof r === 'string') return reset(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, r, AttrType.MP_REACH_NLRI, body.slice(ra, re));
          mpReach = r;
          deeperStacks(problems, r, session);
        } else if (!reach && ua >= 0) {
          const u = decodeMpUnreach(body.subarray(ua + uh, ue));
          if (typeof u === 'string') return reset(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, u, AttrType.MP_UNREACH_NLRI, body.slice(ua, ue));
          mpUnreach = u;
        }
      }
      attrs = hit.attributes;
      set = hit;
      mandatoryChecks(problems, hit.seen, attrs, nlri, mpReach, body, aStart, aEnd);
      return finish();
    }
    cache!.misses++;
  }

  const ctx = { fourOctetAs: session.fourOctetAs, external: session.external };
  // Attribute types seen, as a 256-bit set.
  const seen = new Uint32Array(8);
  let o = aStart;
  while (o < aEnd) {
    // RFC 7606 §4: an attribute overrunning Total Path Attribute Length -> treat-as-withdraw;
    // that length field still locates the NLRI.
    if (aEnd - o < 3) {
      problems.push(problem('treat-as-withdraw', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, 'trailing octets too short for an attribute'));
      break;
    }
    const flags = body[o]!;
    const type = body[o + 1]!;
    const ext = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    const head = ext ? 4 : 3;
    if (aEnd - o < head) {
      problems.push(problem('treat-as-withdraw', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, 'trailing octets too short for an attribute', type));
      break;
    }
    const len = ext ? readUint16(body, o + 2) : body[o + 2]!;
    if (o + head + len > aEnd) {
      problems.push(problem('treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `attribute ${type} length ${len} overruns the path attributes`, type));
      break;
    }
    const raw = body.subarray(o, o + head + len);
    const value = body.subarray(o + head, o + head + len);
    o += head + len;

    const bit = 1 << (type & 31);
    if (seen[type >> 5]! & bit) {
      // RFC 7606 §3.g
      if (type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI) {
        return reset(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, `attribute ${type} repeated`, type);
      }
      problems.push(problem('attribute-discard', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, `attribute ${type} repeated; later copies discarded`, type));
      continue;
    }
    seen[type >> 5]! |= bit;

    const rule = RULES.get(type);
    if (!rule) {
      if (!(flags & AttrFlag.OPTIONAL)) {
        return reset(UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, `unrecognized well-known attribute ${type}`, type, raw.slice());
      }
      (attrs.unknown ??= []).push({ flags: flags & ~AttrFlag.EXTENDED_LENGTH, type, value: value.slice() });
      continue;
    }
    const bad = flagsProblem(type, flags, raw);
    if (bad) {
      if (bad.action === 'session-reset') {
        problems.push(bad);
        return finish();
      }
      problems.push(bad);
      continue;
    }
    if (type === AttrType.MP_REACH_NLRI) {
      const r = decodeMpReach(value, session);
      if (typeof r === 'string') return reset(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, r, type, raw.slice());
      mpReach = r;
      deeperStacks(problems, r, session);
    } else if (type === AttrType.MP_UNREACH_NLRI) {
      const u = decodeMpUnreach(value);
      if (typeof u === 'string') return reset(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, u, type, raw.slice());
      mpUnreach = u;
    } else {
      const p = decodeAttribute(type, value, raw, scratch, ctx);
      if (p) problems.push(p);
    }
  }

  if (!session.fourOctetAs) applyAs4(scratch, mergeAs4Path);

  // Cached before the checks that depend on the NLRI (they run on every UPDATE).
  if (keyLength >= 0 && problems.length === 0) set = cache!.store(keyLength, scanHash, attrs, seen);
  mandatoryChecks(problems, seen, attrs, nlri, mpReach, body, aStart, aEnd);
  if (problems.length) set = undefined;
  return finish();
}

/** The checks that depend on what the UPDATE announces as well as on its attributes. */
function mandatoryChecks(
  problems: UpdateProblem[],
  seen: Uint32Array,
  attrs: PathAttributes,
  nlri: NlriList,
  mpReach: MpReach | undefined,
  body: Uint8Array,
  aStart: number,
  aEnd: number,
): void {
  // RFC 7606 §3.d: a missing well-known mandatory attribute -> treat-as-withdraw, when there is
  // something to announce. NEXT_HOP is only needed for the NLRI field (RFC 4760 §3, RFC 7606 §3.d).
  const has = (t: number) => (seen[t >> 5]! & (1 << (t & 31))) !== 0;
  if (nlri.count > 0 || mpReach) {
    for (const t of [AttrType.ORIGIN, AttrType.AS_PATH]) {
      if (!has(t)) problems.push(problem('treat-as-withdraw', UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, `missing attribute ${t}`, t, Uint8Array.of(t)));
    }
  }
  if (nlri.count > 0) {
    if (!has(AttrType.NEXT_HOP)) {
      problems.push(problem('treat-as-withdraw', UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, 'missing NEXT_HOP', AttrType.NEXT_HOP, Uint8Array.of(AttrType.NEXT_HOP)));
    } else if (attrs.nextHop !== undefined && !validNextHop(body, aStart, aEnd)) {
      // RFC 4271 §6.3 / RFC 7606 §7.3: a semantically wrong NEXT_HOP -> routes ignored.
      problems.push(problem('treat-as-withdraw', UpdateSubcode.INVALID_NEXT_HOP_ATTRIBUTE, `NEXT_HOP ${attrs.nextHop} is not a unicast address`, AttrType.NEXT_HOP, nextHopAttribute(body, aStart, aEnd)));
    }
  }
}

function findAttribute(body: Uint8Array, start: number, end: number, wanted: number): Uint8Array | undefined {
  let o = start;
  while (o + 3 <= end) {
    const ext = (body[o]! & AttrFlag.EXTENDED_LENGTH) !== 0;
    const head = ext ? 4 : 3;
    if (o + head > end) return undefined;
    const len = ext ? readUint16(body, o + 2) : body[o + 2]!;
    if (body[o + 1] === wanted) return body.subarray(o, Math.min(end, o + head + len));
    o += head + len;
  }
  return undefined;
}

function nextHopAttribute(body: Uint8Array, start: number, end: number): Uint8Array {
  return findAttribute(body, start, end, AttrType.NEXT_HOP)?.slice() ?? EMPTY;
}

function validNextHop(body: Uint8Array, start: number, end: number): boolean {
  const attr = findAttribute(body, start, end, AttrType.NEXT_HOP);
  if (!attr) return true;
  const v = readUint32(attr, attr.length - 4);
  const first = v >>> 24;
  // 0.0.0.0/8 and class D/E (multicast, reserved, broadcast) can never be a next hop.
  return first !== 0 && first < 224;
}

/**
 * Routes whose label stack is deeper than the session accepts (RFC 8277 §2.2:
 * one label unless the Multiple Labels capability says more): the UPDATE is
 * treated as a withdrawal of its routes (RFC 7606 §2), the session stays.
 */
function deeperStacks(problems: UpdateProblem[], reach: MpReach, session: SessionOptions): void {
  const n = reach.nlri.deeperStacks;
  if (!n) return;
  const accepted = Math.max(1, session.multipleLabels ?? 1);
  problems.push(
    problem('treat-as-withdraw', UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, `${n} route(s) with more than ${accepted} label(s) (RFC 8277 Multiple Labels not negotiated for more)`, AttrType.MP_REACH_NLRI),
  );
}

function result(
  problems: UpdateProblem[],
  withdrawn: NlriList,
  nlri: NlriList,
  attributes: PathAttributes,
  mpReach: MpReach | undefined,
  mpUnreach: MpUnreach | undefined,
  bodyLength: number,
  attributeSet?: AttributeSet,
): UpdateMessage {
  let action: UpdateAction = 'ok';
  let worst: UpdateProblem | undefined;
  for (const p of problems) {
    if (SEVERITY[p.action] > SEVERITY[action]) {
      action = p.action;
      worst = p;
    }
  }
  const announce: NlriList[] = [];
  const withdraw: NlriList[] = [];
  if (withdrawn.count > 0) withdraw.push(withdrawn);
  // A family without a prefix shape (RT membership) is a raw field: count stays 0.
  if (mpUnreach && (mpUnreach.nlri.count > 0 || (!mpUnreach.nlri.shape && mpUnreach.nlri.bytes.length > 0))) withdraw.push(mpUnreach.nlri);
  const reach: NlriList[] = [];
  if (nlri.count > 0) reach.push(nlri);
  if (mpReach && (mpReach.nlri.count > 0 || !mpReach.nlri.shape)) reach.push(mpReach.nlri);
  if (action === 'ok' || action === 'attribute-discard') announce.push(...reach);
  else if (action === 'treat-as-withdraw') withdraw.push(...reach);
  let endOfRib: UpdateMessage['endOfRib'];
  if (action === 'ok') {
    if (bodyLength === 4) endOfRib = { afi: Afi.IPV4, safi: Safi.UNICAST };
    else if (mpUnreach && mpUnreach.nlri.bytes.length === 0 && !mpReach && withdrawn.count === 0 && nlri.count === 0 && isEmpty(attributes)) {
      endOfRib = { afi: mpUnreach.afi, safi: mpUnreach.safi };
    }
  }
  const notification =
    action === 'session-reset' && worst ? { code: ErrorCode.UPDATE_MESSAGE, subcode: worst.subcode, data: worst.data } : undefined;
  if (attributeSet && action !== 'ok') attributeSet = undefined;
  return { type: 'update', action, problems, notification, withdrawn, nlri, attributes, mpReach, mpUnreach, endOfRib, announce, withdraw, attributeSet };
}

function isEmpty(a: PathAttributes): boolean {
  for (const _ in a) return false;
  return true;
}

// ---- encoding ----

export interface UpdateSpec {
  /** IPv4 unicast routes for the Withdrawn Routes field. */
  readonly withdrawn?: readonly Route[];
  readonly attributes?: PathAttributes;
  /** IPv4 unicast routes for the NLRI field (attributes.nextHop must be set). */
  readonly nlri?: readonly Route[];
  readonly mpReach?: { readonly afi: number; readonly safi: number; readonly nextHop: NextHop; readonly routes: readonly Route[] };
  readonly mpUnreach?: { readonly afi: number; readonly safi: number; readonly routes: readonly Route[] };
}

export class UpdateTooLargeError extends RangeError {
  constructor(size: number, max: number) {
    super(`UPDATE of ${size} octets exceeds ${max}`);
    this.name = 'UpdateTooLargeError';
  }
}

const V4_UNICAST = { afi: Afi.IPV4, safi: Safi.UNICAST };

/**
 * Encodes one UPDATE (header included). MP_UNREACH_NLRI and MP_REACH_NLRI
 * come first (RFC 7606 §5.1), then the other attributes in type-code order.
 * Throws on invalid input or when the message would exceed the session's maximum.
 */
export function encodeUpdate(spec: UpdateSpec, session: SessionOptions): Uint8Array {
  const withdrawn = encodeNlri(V4_UNICAST, spec.withdrawn ?? [], true);
  const nlri = encodeNlri(V4_UNICAST, spec.nlri ?? [], false);
  const parts: Uint8Array[] = [];
  if (spec.mpUnreach) parts.push(encodeMpUnreach(spec.mpUnreach, spec.mpUnreach.routes));
  if (spec.mpReach) parts.push(encodeMpReach(spec.mpReach, spec.mpReach.nextHop, spec.mpReach.routes));
  if (spec.attributes) parts.push(encodeAttributes(spec.attributes, session));
  const aLen = parts.reduce((s, p) => s + p.length, 0);
  const size = HEADER_LENGTH + 2 + withdrawn.length + 2 + aLen + nlri.length;
  if (size > maxLength(session)) throw new UpdateTooLargeError(size, maxLength(session));
  const out = new Uint8Array(size);
  writeHeader(out, MessageType.UPDATE, size);
  let o = HEADER_LENGTH;
  writeUint16(out, o, withdrawn.length);
  out.set(withdrawn, o + 2);
  o += 2 + withdrawn.length;
  writeUint16(out, o, aLen);
  o += 2;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  out.set(nlri, o);
  return out;
}

/** RFC 4724 §2: the End-of-RIB marker of a family. */
export function encodeEndOfRib(afi: number, safi: number): Uint8Array {
  if (afi === Afi.IPV4 && safi === Safi.UNICAST) return encodeUpdate({}, { fourOctetAs: true });
  return encodeUpdate({ mpUnreach: { afi, safi, routes: [] } }, { fourOctetAs: true });
}
