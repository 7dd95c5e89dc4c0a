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
}

const SEVERITY: Record<UpdateAction, number> = { ok: 0, 'attribute-discard': 1, 'treat-as-withdraw': 2, 'session-reset': 3 };

const EMPTY = new Uint8Array(0);

/** Decodes an UPDATE body (octets after the 19-octet header). */
export function decodeUpdate(body: Uint8Array, session: SessionOptions): UpdateMessage {
  const problems: UpdateProblem[] = [];
  const attrs: PathAttributes = {};
  const scratch: AttributeScratch = { attrs };
  let withdrawn = NlriList.empty(Afi.IPV4, Safi.UNICAST);
  let nlri = withdrawn;
  let mpReach: MpReach | undefined;
  let mpUnreach: MpUnreach | undefined;
  const finish = () => result(problems, withdrawn, nlri, attrs, mpReach, mpUnreach, body.length);
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

  const ctx = { fourOctetAs: session.fourOctetAs };
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
  return finish();
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

function result(
  problems: UpdateProblem[],
  withdrawn: NlriList,
  nlri: NlriList,
  attributes: PathAttributes,
  mpReach: MpReach | undefined,
  mpUnreach: MpUnreach | undefined,
  bodyLength: number,
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
  return { type: 'update', action, problems, notification, withdrawn, nlri, attributes, mpReach, mpUnreach, endOfRib, announce, withdraw };
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
