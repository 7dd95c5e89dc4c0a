// NOTIFICATION message (RFC 4271 §4.5) and the error value every decoder in
// this folder returns instead of throwing. Shutdown communication: RFC 9003.
import { CeaseSubcode, ErrorCode, MessageType } from './constants.js';
import { encodeMessage } from './header.js';

/** What a decoder reports when the session must answer with a NOTIFICATION. */
export interface BgpError {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

export interface NotificationMessage extends BgpError {
  readonly type: 'notification';
}

const EMPTY = new Uint8Array(0);

export function bgpError(code: number, subcode: number, data: Uint8Array = EMPTY): BgpError {
  return { code, subcode, data };
}

export function isBgpError(value: unknown): value is BgpError {
  return typeof value === 'object' && value !== null && 'code' in value && 'subcode' in value && !('type' in value);
}

/** Decodes a NOTIFICATION body (the octets after the header). */
export function decodeNotification(body: Uint8Array): NotificationMessage {
  // The splitter guarantees at least 2 octets; be safe for direct callers anyway.
  return { type: 'notification', code: body[0] ?? 0, subcode: body[1] ?? 0, data: body.subarray(2) };
}

export function encodeNotification(error: BgpError): Uint8Array {
  const body = new Uint8Array(2 + error.data.length);
  body[0] = error.code;
  body[1] = error.subcode;
  body.set(error.data, 2);
  return encodeMessage(MessageType.NOTIFICATION, body);
}

/** RFC 9003 §2: the UTF-8 text carried by Cease/Administrative Shutdown or Reset, if well formed. */
export function shutdownCommunication(n: BgpError): string | undefined {
  if (n.code !== ErrorCode.CEASE) return undefined;
  if (n.subcode !== CeaseSubcode.ADMINISTRATIVE_SHUTDOWN && n.subcode !== CeaseSubcode.ADMINISTRATIVE_RESET) return undefined;
  const len = n.data[0];
  if (len === undefined || len === 0 || len > 255 || 1 + len > n.data.length) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(n.data.subarray(1, 1 + len));
  } catch {
    return undefined;
  }
}

/** Cease NOTIFICATION data carrying an RFC 9003 shutdown communication (truncated to 255 octets). */
export function shutdownData(text: string): Uint8Array {
  let bytes = new TextEncoder().encode(text);
  if (bytes.length > 255) {
    // Cut on a character boundary: drop UTF-8 continuation octets at the cut.
    let end = 255;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  const data = new Uint8Array(1 + bytes.length);
  data[0] = bytes.length;
  data.set(bytes, 1);
  return data;
}

/**
 * RFC 4486 §4: the data of Cease / Maximum Number of Prefixes Reached: the
 * AFI (2 octets), the SAFI (1) and the prefix upper bound (4) that was hit.
 */
export function maxPrefixData(afi: number, safi: number, limit: number): Uint8Array {
  const data = new Uint8Array(7);
  const v = new DataView(data.buffer);
  v.setUint16(0, afi);
  v.setUint8(2, safi);
  v.setUint32(3, limit);
  return data;
}

/** The AFI, SAFI and upper bound of a Cease / Maximum Number of Prefixes Reached, when its data has them. */
export function decodeMaxPrefixData(data: Uint8Array): { afi: number; safi: number; limit: number } | undefined {
  if (data.length < 7) return undefined;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { afi: v.getUint16(0), safi: v.getUint8(2), limit: v.getUint32(3) };
}
