// IPv4 and IPv6 addresses and prefixes in the forms the desired state uses:
// canonical text (host bits cleared, IPv6 in RFC 5952 form) and a sort key
// whose plain string order is numeric address order (IPv4 before IPv6, then
// by address, then by length). Pure; no DNS, no zone ids.
import { formatIpv4At, formatIpv6At } from '../net/address-text.js';

export type Family = 4 | 6;

export class PrefixError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrefixError';
  }
}

export interface Address {
  readonly family: Family;
  /** 4 or 16 octets, network order. */
  readonly bytes: Uint8Array;
}

export interface Prefix extends Address {
  readonly length: number;
  /** Canonical text: "10.1.0.0/24", "2001:db8::/48". */
  readonly text: string;
}

function parseIpv4Into(text: string, out: Uint8Array, offset: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // Decimal only, no leading zeros (they mean octal to some parsers).
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return false;
    const n = Number(p);
    if (n > 255) return false;
    out[offset + i] = n;
  }
  return true;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  // An embedded IPv4 address takes the place of the last two groups.
  const last = (halves.length === 2 ? tail : head).at(-1);
  let v4: Uint8Array | undefined;
  if (last !== undefined && last.includes('.')) {
    v4 = new Uint8Array(4);
    if (!parseIpv4Into(last, v4, 0)) return undefined;
    (halves.length === 2 ? tail : head).pop();
  }
  const groupCount = head.length + tail.length + (v4 ? 2 : 0);
  if (halves.length === 1 ? groupCount !== 8 : groupCount > 7) return undefined;
  const write = (list: string[], start: number): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i]!;
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      const n = parseInt(g, 16);
      out[start + i * 2] = n >> 8;
      out[start + i * 2 + 1] = n & 0xff;
    }
    return true;
  };
  if (!write(head, 0)) return undefined;
  const tailStart = 16 - (v4 ? 4 : 0) - tail.length * 2;
  if (!write(tail, tailStart)) return undefined;
  if (v4) out.set(v4, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address without prefix length; undefined if it is not one. */
export function parseAddress(text: string): Address | undefined {
  if (text.includes(':')) {
    const bytes = parseIpv6(text);
    return bytes ? { family: 6, bytes } : undefined;
  }
  const bytes = new Uint8Array(4);
  return parseIpv4Into(text, bytes, 0) ? { family: 4, bytes } : undefined;
}

export function formatAddress(address: Address): string {
  return address.family === 4 ? formatIpv4At(address.bytes, 0) : formatIpv6At(address.bytes, 0);
}

/** Canonical text of an address; throws PrefixError when it is not one. */
export function canonicalAddress(text: string, what = 'address'): string {
  const a = parseAddress(text);
  if (!a) throw new PrefixError(`${what} '${text}' is not an IPv4 or IPv6 address`);
  return formatAddress(a);
}

function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, length - i * 8));
    out[i] = out[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function splitLength(text: string, what: string): [string, number, Family] {
  const slash = text.indexOf('/');
  if (slash < 0) throw new PrefixError(`${what} '${text}' has no prefix length`);
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const family: Family = addr.includes(':') ? 6 : 4;
  if (!/^(0|[1-9]\d{0,2})$/.test(lenText) || Number(lenText) > (family === 4 ? 32 : 128)) {
    throw new PrefixError(`${what} '${text}' has an invalid prefix length`);
  }
  return [addr, Number(lenText), family];
}

/**
 * Parses "10.1.0.0/24" or "2001:db8::/48". Host bits must be zero unless
 * `clearHostBits` is set.
 */
export function parsePrefix(text: string, what = 'prefix', clearHostBits = false): Prefix {
  const [addrText, length] = splitLength(text, what);
  const a = parseAddress(addrText);
  if (!a) throw new PrefixError(`${what} '${text}' is not an IPv4 or IPv6 prefix`);
  const bytes = maskBytes(a.bytes, length);
  if (!clearHostBits && !bytes.every((v, i) => v === a.bytes[i])) {
    throw new PrefixError(`${what} '${text}' has host bits set`);
  }
  const p = { family: a.family, bytes, length };
  return { ...p, text: `${formatAddress(p)}/${length}` };
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
  const [addrText, length] = splitLength(text, what);
  const a = parseAddress(addrText);
  if (!a) throw new PrefixError(`${what} '${text}' is not an IPv4 or IPv6 address`);
  const address = formatAddress(a);
  return { address, text: `${address}/${length}`, subnet: parsePrefix(text, what, true), family: a.family };
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

const DOT = 46;
const SLASH = 47;
const ZERO = 48;

/** Parses a plain IPv4 prefix without allocating; undefined if the text is not one. */
function fastIpv4(text: string): { addr: number; length: number } | undefined {
  let addr = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let i = 0;
  const n = text.length;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= ZERO && c <= ZERO + 9) {
      if (digits > 0 && octet === 0) return undefined; // leading zero
      octet = octet * 10 + (c - ZERO);
      if (++digits > 3 || octet > 255) return undefined;
    } else if (c === DOT || c === SLASH) {
      if (digits === 0) return undefined;
      addr = addr * 256 + octet;
      octet = 0;
      digits = 0;
      if (c === SLASH) break;
      if (++dots > 3) return undefined;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || i === n) return undefined;
  let length = 0;
  let lenDigits = 0;
  for (i++; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > ZERO + 9 || (lenDigits > 0 && length === 0)) return undefined;
    length = length * 10 + (c - ZERO);
    if (++lenDigits > 2) return undefined;
  }
  if (lenDigits === 0 || length > 32) return undefined;
  return { addr, length };
}

/** Canonical text and sort key of a prefix; host bits must be zero. Throws PrefixError. */
export function prefixInfo(text: string, what = 'prefix'): PrefixInfo {
  const v4 = fastIpv4(text);
  if (v4) {
    const hostMask = v4.length === 32 ? 0 : 2 ** (32 - v4.length) - 1;
    // The text is canonical: decimal octets without leading zeros.
    if (v4.addr % (hostMask + 1) === 0) return { text, key: v4.addr * 64 + v4.length, family: 4, length: v4.length };
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
