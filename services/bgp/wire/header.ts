// The 19-octet message header (RFC 4271 §4.1) and its checks (§6.1).
import {
  ErrorCode,
  HEADER_LENGTH,
  HeaderSubcode,
  MARKER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MIN_LENGTH,
  MessageType,
  MessageTypeCode,
} from './constants.js';
import type { BgpError } from './notification.js';

/** Wraps a body in a header. Throws RangeError if the result exceeds 65535 octets. */
export function encodeMessage(type: MessageTypeCode, body: Uint8Array): Uint8Array {
  const length = HEADER_LENGTH + body.length;
  if (length > 0xffff) throw new RangeError(`BGP message of ${length} octets does not fit the length field`);
  const out = new Uint8Array(length);
  out.fill(0xff, 0, MARKER_LENGTH);
  out[16] = length >>> 8;
  out[17] = length & 0xff;
  out[18] = type;
  out.set(body, HEADER_LENGTH);
  return out;
}

/** Fills the marker, length and type of a message whose body was written in place after offset 19. */
export function writeHeader(buf: Uint8Array, type: MessageTypeCode, length: number): void {
  buf.fill(0xff, 0, MARKER_LENGTH);
  buf[16] = length >>> 8;
  buf[17] = length & 0xff;
  buf[18] = type;
}

export const KEEPALIVE: Uint8Array = encodeMessage(MessageType.KEEPALIVE, new Uint8Array(0));

export function encodeKeepalive(): Uint8Array {
  return KEEPALIVE.slice();
}

/**
 * Checks a header at `offset` (19 octets must be present). Returns the
 * message length, or the Message Header Error to send. `maxLength` is 4096,
 * or 65535 once RFC 8654 extended messages are negotiated; OPEN and KEEPALIVE
 * stay limited to 4096 either way (RFC 8654 §4).
 */
export function checkHeader(buf: Uint8Array, offset: number, maxLength: number): number | BgpError {
  for (let i = 0; i < MARKER_LENGTH; i++) {
    if (buf[offset + i] !== 0xff) {
      return { code: ErrorCode.MESSAGE_HEADER, subcode: HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, data: new Uint8Array(0) };
    }
  }
  const length = (buf[offset + 16]! << 8) | buf[offset + 17]!;
  const type = buf[offset + 18]!;
  if (length < HEADER_LENGTH || length > maxLength) return badLength(length);
  if (type < MessageType.OPEN || type > MessageType.ROUTE_REFRESH) {
    // RFC 4271 §6.1: the Data field carries the erroneous Type field.
    return { code: ErrorCode.MESSAGE_HEADER, subcode: HeaderSubcode.BAD_MESSAGE_TYPE, data: Uint8Array.of(type) };
  }
  const limit = type === MessageType.OPEN || type === MessageType.KEEPALIVE ? MAX_MESSAGE_LENGTH : maxLength;
  if (length < MIN_LENGTH[type as MessageTypeCode] || length > limit || (type === MessageType.KEEPALIVE && length !== HEADER_LENGTH)) {
    return badLength(length);
  }
  return length;
}

function badLength(length: number): BgpError {
  // RFC 4271 §6.1: the Data field carries the erroneous Length field.
  return { code: ErrorCode.MESSAGE_HEADER, subcode: HeaderSubcode.BAD_MESSAGE_LENGTH, data: Uint8Array.of(length >>> 8, length & 0xff) };
}

export function messageType(message: Uint8Array): number {
  return message[18] ?? 0;
}
