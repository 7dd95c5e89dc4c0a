// Route target and route origin (site of origin) extended communities
// (RFC 4360 §4 and §5, RFC 5668 for the 4-octet-AS form). The high-order
// type octet is 0x00, 0x01 or 0x02 (transitive, IANA-assigned); the low-order
// sub-type is 0x02 for a route target and 0x03 for a route origin.
import {
  AdministeredValue,
  AdministeredValueError,
  formatAdministeredValue,
  parseAdministeredValue,
  readAdministeredValue,
  validateAdministeredValue,
  writeAdministeredValue,
} from './administered-value.js';

export type RouteTarget = AdministeredValue;
export type RouteOrigin = AdministeredValue;

export const EXTENDED_COMMUNITY_LENGTH = 8;
export const SUBTYPE_ROUTE_TARGET = 0x02;
export const SUBTYPE_ROUTE_ORIGIN = 0x03;

export class RouteTargetError extends AdministeredValueError {}

export function parseRouteTarget(text: string): RouteTarget {
  try {
    return parseAdministeredValue(text);
  } catch (err) {
    throw new RouteTargetError(`route target: ${(err as Error).message}`);
  }
}

export function formatRouteTarget(rt: RouteTarget): string {
  return formatAdministeredValue(rt);
}

export function encodeAdministeredCommunity(
  value: AdministeredValue,
  subtype: number,
  buf: Uint8Array = new Uint8Array(EXTENDED_COMMUNITY_LENGTH),
  offset = 0,
): Uint8Array {
  validateAdministeredValue(value);
  buf[offset] = value.form;
  buf[offset + 1] = subtype;
  writeAdministeredValue(value, buf, offset + 2);
  return buf;
}

export function encodeRouteTarget(rt: RouteTarget, buf?: Uint8Array, offset = 0): Uint8Array {
  return encodeAdministeredCommunity(rt, SUBTYPE_ROUTE_TARGET, buf, offset);
}

/**
 * Reads an extended community as a route target or route origin when it is
 * one (types 0x00/0x01/0x02 with the given sub-type); undefined otherwise.
 */
export function decodeAdministeredCommunity(
  buf: Uint8Array,
  offset: number,
  subtype: number,
): AdministeredValue | undefined {
  const type = buf[offset];
  if (type === undefined || type > 2 || buf[offset + 1] !== subtype) return undefined;
  return readAdministeredValue(type as 0 | 1 | 2, buf, offset + 2);
}

export function decodeRouteTarget(buf: Uint8Array, offset = 0): RouteTarget | undefined {
  return decodeAdministeredCommunity(buf, offset, SUBTYPE_ROUTE_TARGET);
}
