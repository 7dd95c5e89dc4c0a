// Prefixes ("address/length"): parsing, the network they name, containment
// and overlap. Pure. An interface address is a prefix whose host bits are set.
import { formatIp, parseIp, parseIpv4, type IpAddress, type IpFamily } from './address.js';

export interface IpPrefix extends IpAddress {
  /** Prefix length in bits. */
  readonly length: number;
}

export const maxPrefixLength = (family: IpFamily): number => (family === 4 ? 32 : 128);

/** A decimal prefix length in text[start, end) without leading zeros; -1 when it is not one. */
function parseLength(text: string, start: number, end: number): number {
  if (end - start < 1 || end - start > 3 || (text.charCodeAt(start) === 48 && end - start > 1)) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** "address/length"; host bits may be set (see hasHostBits). Undefined when it is not one. */
export function parseIpPrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIp(text.slice(0, slash));
  if (!address) return undefined;
  const length = parseLength(text, slash + 1, text.length);
  if (length < 0 || length > maxPrefixLength(address.family)) return undefined;
  return { family: address.family, bytes: address.bytes, length };
}

/** An IPv4 "a.b.c.d/n" without allocating (the desired state's hot path); undefined for anything else. */
export function parseIpv4Prefix(text: string): { address: number; length: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIpv4(text, 0, slash);
  if (address === undefined) return undefined;
  const length = parseLength(text, slash + 1, text.length);
  return length < 0 || length > 32 ? undefined : { address, length };
}

/** The octets with every bit past `length` cleared. */
export function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, length - i * 8));
    out[i] = out[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** Do the first `length` bits of a and b agree? */
function sameLeadingBits(a: Uint8Array, b: Uint8Array, length: number): boolean {
  const whole = length >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (b[whole]! & mask);
}

/** The prefix with its host bits cleared. */
export function prefixNetwork(p: IpPrefix): IpPrefix {
  return { family: p.family, bytes: maskBytes(p.bytes, p.length), length: p.length };
}

export function hasHostBits(p: IpPrefix): boolean {
  return !sameLeadingBits(p.bytes, maskBytes(p.bytes, p.length), maxPrefixLength(p.family));
}

export function prefixContains(p: IpPrefix, address: IpAddress): boolean {
  return p.family === address.family && sameLeadingBits(p.bytes, address.bytes, p.length);
}

export function prefixesOverlap(a: IpPrefix, b: IpPrefix): boolean {
  return a.family === b.family && sameLeadingBits(a.bytes, b.bytes, Math.min(a.length, b.length));
}

/** Text of the prefix as held (host bits kept); canonical address form. */
export function formatPrefix(p: IpPrefix): string {
  return `${formatIp(p)}/${p.length}`;
}

/** The network text of a prefix: "10.1.0.0/30" for 10.1.0.1/30. */
export function formatPrefixNetwork(p: IpPrefix): string {
  return formatPrefix(prefixNetwork(p));
}

/**
 * The all-zeros and all-ones host addresses of an IPv4 subnet shorter than
 * /31, which name the subnet and its broadcast (RFC 919, RFC 922); a /31 has
 * none (RFC 3021).
 */
export function isIpv4SubnetEdge(p: IpPrefix, address: IpAddress): boolean {
  if (p.family !== 4 || address.family !== 4 || p.length >= 31) return false;
  let zeros = true;
  let ones = true;
  for (let bit = p.length; bit < 32; bit++) {
    const set = (address.bytes[bit >> 3]! >> (7 - (bit & 7))) & 1;
    if (set) zeros = false;
    else ones = false;
  }
  return zeros || ones;
}
