// ROUTE-REFRESH message (RFC 2918 §3), with the RFC 7313 subtypes
// (0 normal request, 1 BoRR, 2 EoRR) in the former reserved octet.
import { ErrorCode, MessageType, RouteRefreshSubcode } from './constants.js';
import { encodeMessage } from './header.js';
import { readUint16, writeUint16 } from './ip.js';
import { BgpError, bgpError } from './notification.js';

export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  readonly subtype: number;
}

/** `message` is the whole message: RFC 7313 §5 puts it all in the error data. */
export function decodeRouteRefresh(message: Uint8Array, body: Uint8Array): RouteRefreshMessage | BgpError {
  if (body.length !== 4) return bgpError(ErrorCode.ROUTE_REFRESH, RouteRefreshSubcode.INVALID_MESSAGE_LENGTH, message.slice());
  return { type: 'route-refresh', afi: readUint16(body, 0), safi: body[3]!, subtype: body[2]! };
}

export function encodeRouteRefresh(afi: number, safi: number, subtype = 0): Uint8Array {
  const body = new Uint8Array(4);
  writeUint16(body, 0, afi);
  body[2] = subtype;
  body[3] = safi;
  return encodeMessage(MessageType.ROUTE_REFRESH, body);
}
