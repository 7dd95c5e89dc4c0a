// Address text <-> octets for next hops, identifiers and prefixes (the one
// address module, services/common/net), and the codec's integer helpers.
import { formatIpv4, formatIpv4At, formatIpv6At } from '../../common/net/address-text.js';
import { formatIpBytes, parseIp, parseIpv4, parseIpv6 } from '../../common/net/address.js';

export { formatIpv4, formatIpv4At, formatIpv6At, parseIpv4, parseIpv6 };

export function readUint32(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
}

export function readUint16(buf: Uint8Array, offset: number): number {
  return (buf[offset]! << 8) | buf[offset + 1]!;
}

export function writeUint32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value >>> 24;
  buf[offset + 1] = value >>> 16;
  buf[offset + 2] = value >>> 8;
  buf[offset + 3] = value;
}

export function writeUint16(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value >>> 8;
  buf[offset + 1] = value;
}

/** Parses either family; 4 octets for IPv4, 16 for IPv6. */
export function parseAddress(text: string): Uint8Array | undefined {
  return parseIp(text)?.bytes;
}

export const formatAddress = formatIpBytes;
