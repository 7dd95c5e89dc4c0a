// IPv4 and IPv6 addresses and prefixes in the forms the desired state uses:
// canonical text (host bits cleared, IPv6 in RFC 5952 form) and a sort key
// whose plain string order is numeric address order (IPv4 before IPv6, then
// by address, then by length). Pure; no DNS, no zone ids.
import { formatIp, parseIp, type IpAddress, type IpFamily } from '../net/address.js';
import { formatPrefix, hasHostBits, parseIpPrefix, parseIpv4Prefix, prefixNetwork, type IpPrefix } from '../net/prefix.js';

export type Family = IpFamily;

export class PrefixError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrefixError';
  }
}

export type Address = IpAddress;

export interface Prefix extends Address {
  readonly length: number;
  /** Canonical text: "10.1.0.0/24", "2001:db8::/48". */
  readonly text: string;
}

/** Parses an IPv4 or IPv6 address without prefix length; undefined if it is not one. */
export const parseAddress = parseIp;

export const formatAddress = formatIp;

/** Canonical text of an address; throws PrefixError when it is not one. */
export function canonicalAddress(text: string, what = 'address'): string {
  const a = parseAddress(text);
  if (!a) throw new PrefixError(`${what} '${text}' is not an IPv4 or IPv6 address`);
  return formatAddress(a);
}

/** "address/length" (host bits allowed); throws PrefixError saying which half is wrong. */
function parseWithLength(text: string, what: string, kind: string): IpPrefix {
  const p = parseIpPrefix(text);
  if (p) return p;
  const slash = text.indexOf('/');
  if (slash < 0) throw new PrefixError(`${what} '${text}' has no prefix length`);
  if (!parseAddress(text.slice(0, slash))) throw new PrefixError(`${what} '${text}' is not an IPv4 or IPv6 ${kind}`);
  throw new PrefixError(`${what} '${text}' has an invalid prefix length`);
}

/**
 * Parses "10.1.0.0/24" or "2001:db8::/48". Host bits must be zero unless
 * `clearHostBits` is set.
 */
export function parsePrefix(text: string, what = 'prefix', clearHostBits = false): Prefix {
  const given = parseWithLength(text, what, 'prefix');
  if (!clearHostBits && hasHostBits(given)) throw new PrefixError(`${what} '${text}' has host bits set`);
  const p = prefixNetwork(given);
  return { ...p, text: formatPrefix(p) };
}

export interface InterfaceAddress {
  /** The address itself, canonical, without length. */
  readonly address: string;
  /** With length, canonical: "10.1.1.1/30". */
  readonly text: string;
  /** The subnet it is on: "10.1.1.0/30". */
  readonly subnet: Prefix;
  readonly family: Family;
}

/** Parses an interface address with its prefix length ("10.1.1.1/30"). */
export function parseInterfaceAddress(text: string, what = 'interface address'): InterfaceAddress {
  const p = parseWithLength(text, what, 'address');
  const subnet = prefixNetwork(p);
  return { address: formatAddress(p), text: formatPrefix(p), subnet: { ...subnet, text: formatPrefix(subnet) }, family: p.family };
}

/** Canonical text of a prefix; throws PrefixError. */
export function canonicalPrefix(text: string, what = 'prefix'): string {
  return parsePrefix(text, what).text;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A string whose code-unit order is (family, address, length) order. */
export function prefixSortKey(p: Prefix): string {
  let s = p.family === 4 ? '4' : '6';
  for (const b of p.bytes) s += HEX[b]!;
  return `${s}/${String(p.length).padStart(3, '0')}`;
}

/** Sort key of a canonical (or any valid) prefix text. */
export function prefixTextSortKey(text: string): string {
  return prefixSortKey(parsePrefix(text, 'prefix', true));
}

/** Code-unit string comparison, independent of locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A prefix's sort key as a number for IPv4 (address * 64 + length) and a
 * string (prefixSortKey) for IPv6; compareKeys orders numbers (IPv4) first.
 */
export type PrefixKey = number | string;

export interface PrefixInfo {
  /** Canonical text. */
  readonly text: string;
  readonly key: PrefixKey;
  readonly family: Family;
  readonly length: number;
}

/** Canonical text and sort key of a prefix; host bits must be zero. Throws PrefixError. */
export function prefixInfo(text: string, what = 'prefix'): PrefixInfo {
  const v4 = parseIpv4Prefix(text);
  if (v4) {
    const hostMask = v4.length === 32 ? 0 : 2 ** (32 - v4.length) - 1;
    // The text is canonical: decimal octets without leading zeros.
    if (v4.address % (hostMask + 1) === 0) return { text, key: v4.address * 64 + v4.length, family: 4, length: v4.length };
  }
  const p = parsePrefix(text, what);
  if (p.family === 4) {
    const b = p.bytes;
    const addr = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
    return { text: p.text, key: addr * 64 + p.length, family: 4, length: p.length };
  }
  return { text: p.text, key: prefixSortKey(p), family: 6, length: p.length };
}

export function comparePrefixKeys(a: PrefixKey, b: PrefixKey): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  return typeof b === 'number' ? 1 : compareStrings(a, b);
}
