// Packs many routes sharing one attribute set into as few UPDATEs as the
// maximum message size allows. The attributes and the MP_REACH_NLRI head are
// encoded once; each message is then filled route by route.
import { encodeAttributes, PathAttributes } from './attributes.js';
import { Afi, AttrFlag, AttrType, HEADER_LENGTH, MessageType, Safi } from './constants.js';
import { writeHeader } from './header.js';
import { writeUint16 } from './ip.js';
import { mpReachHead } from './mp-nlri.js';
import type { NextHop } from './next-hop.js';
import { Family, Route, RouteEncodeError, encodedRouteLength, writeRoute } from './nlri.js';
import { SessionOptions, maxLength } from './session.js';

export interface PackAnnounce {
  readonly family: Family;
  /** MP_REACH_NLRI next hop; for IPv4 unicast, attributes.nextHop is used instead. */
  readonly nextHop?: NextHop;
  readonly attributes: PathAttributes;
  readonly routes: Iterable<Route>;
}

export interface PackWithdraw {
  readonly family: Family;
  readonly routes: Iterable<Route>;
}

function isV4Unicast(f: Family): boolean {
  return f.afi === Afi.IPV4 && f.safi === Safi.UNICAST;
}

/**
 * UPDATEs announcing `routes` with one attribute set. IPv4 unicast uses the
 * NLRI field; every other family one MP_REACH_NLRI per message, written first.
 */
export function packAnnouncements(spec: PackAnnounce, session: SessionOptions): Uint8Array[] {
  const max = maxLength(session);
  const attrs = encodeAttributes(spec.attributes, session);
  const v4 = isV4Unicast(spec.family);
  if (v4 && spec.attributes.nextHop === undefined) throw new RouteEncodeError('IPv4 unicast needs attributes.nextHop');
  if (!v4 && !spec.nextHop) throw new RouteEncodeError('an MP family needs a next hop');
  const head = v4 ? undefined : mpReachHead(spec.family, spec.nextHop!);
  // Fixed part: header, withdrawn length (0), attribute length, [MP_REACH header + head], attributes.
  const fixed = HEADER_LENGTH + 2 + 2 + (head ? 4 + head.length : 0) + attrs.length;
  return fill(spec.family, spec.routes, false, max, fixed, (buf, nlriStart, nlriEnd) => {
    let o = HEADER_LENGTH;
    writeUint16(buf, o, 0);
    o += 2;
    const nlriLen = nlriEnd - nlriStart;
    if (head) {
      const mpLen = head.length + nlriLen;
      const mpHead = mpLen > 255 ? 4 : 3;
      writeUint16(buf, o, mpHead + mpLen + attrs.length);
      o += 2;
      o = writeAttributeHead(buf, o, AttrType.MP_REACH_NLRI, mpLen);
      buf.set(head, o);
      // The NLRI goes right after the head; the other attributes follow it.
      return { prefix: o + head.length, suffix: attrs };
    }
    writeUint16(buf, o, attrs.length);
    o += 2;
    buf.set(attrs, o);
    return { prefix: o + attrs.length, suffix: undefined };
  });
}

/** UPDATEs withdrawing `routes`: the Withdrawn Routes field for IPv4 unicast, MP_UNREACH_NLRI otherwise. */
export function packWithdrawals(spec: PackWithdraw, session: SessionOptions): Uint8Array[] {
  const max = maxLength(session);
  const v4 = isV4Unicast(spec.family);
  const fixed = HEADER_LENGTH + 2 + 2 + (v4 ? 0 : 4 + 3);
  return fill(spec.family, spec.routes, true, max, fixed, (buf, nlriStart, nlriEnd) => {
    const nlriLen = nlriEnd - nlriStart;
    let o = HEADER_LENGTH;
    if (v4) {
      writeUint16(buf, o, nlriLen);
      return { prefix: o + 2, suffix: Uint8Array.of(0, 0) };
    }
    writeUint16(buf, o, 0);
    o += 2;
    const mpLen = 3 + nlriLen;
    writeUint16(buf, o, (mpLen > 255 ? 4 : 3) + mpLen);
    o += 2;
    o = writeAttributeHead(buf, o, AttrType.MP_UNREACH_NLRI, mpLen);
    writeUint16(buf, o, spec.family.afi);
    buf[o + 2] = spec.family.safi;
    return { prefix: o + 3, suffix: undefined };
  });
}

/** Writes an optional non-transitive attribute header, Extended Length only when needed. */
function writeAttributeHead(buf: Uint8Array, o: number, type: number, len: number): number {
  const ext = len > 255;
  buf[o] = AttrFlag.OPTIONAL | (ext ? AttrFlag.EXTENDED_LENGTH : 0);
  buf[o + 1] = type;
  if (ext) {
    writeUint16(buf, o + 2, len);
    return o + 4;
  }
  buf[o + 2] = len;
  return o + 3;
}

type Layout = (buf: Uint8Array, nlriStart: number, nlriEnd: number) => { prefix: number; suffix: Uint8Array | undefined };

/**
 * Writes routes into a scratch message after the `fixed` octets, closing a
 * message when the next route would not fit. `layout` fills in the fixed part
 * and says where the NLRI belongs (`prefix`) and what follows it (`suffix`).
 */
function fill(family: Family, routes: Iterable<Route>, withdraw: boolean, max: number, fixed: number, layout: Layout): Uint8Array[] {
  const out: Uint8Array[] = [];
  const scratch = new Uint8Array(max);
  let o = fixed;
  let count = 0;
  const flush = () => {
    if (count === 0) return;
    const { prefix, suffix } = layout(scratch, fixed, o);
    const nlriLen = o - fixed;
    const size = prefix + nlriLen + (suffix?.length ?? 0);
    const msg = new Uint8Array(size);
    msg.set(scratch.subarray(0, prefix));
    msg.set(scratch.subarray(fixed, o), prefix);
    if (suffix) msg.set(suffix, prefix + nlriLen);
    writeHeader(msg, MessageType.UPDATE, size);
    out.push(msg);
    o = fixed;
    count = 0;
  };
  for (const route of routes) {
    const need = encodedRouteLength(family, route, withdraw);
    if (fixed + need > max) throw new RouteEncodeError('attributes leave no room for a single route');
    if (o + need > max) flush();
    o = writeRoute(scratch, o, family, route, withdraw);
    count++;
  }
  flush();
  return out;
}
