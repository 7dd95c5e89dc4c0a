// IPv4 and IPv6 address text to octets (and numbers where callers compare
// them), strictly: dotted decimal without leading zeros, RFC 4291 §2.2 text
// forms, and nothing else — no zone ids (RFC 4007 §11: a zone means
// something on one host only), no surrounding space, no other characters.
// Pure. Printing is address-text.ts (RFC 5952).
import { formatIpv4At, formatIpv6At } from './address-text.js';
import { quoteId } from '../quote.js';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** 4 or 16 octets, network order. */
  readonly bytes: Uint8Array;
}

const DIGIT_0 = 48;
const DOT = 46;

/**
 * Dotted decimal (text[start, end)) as an unsigned 32-bit number; undefined
 * unless it is four decimal octets without leading zeros (some parsers read
 * those as octal). Allocates nothing: it sits in the best-path hot loop.
 */
export function parseIpv4(text: string, start = 0, end = text.length): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= DIGIT_0 && c <= DIGIT_0 + 9) {
      if (digits > 0 && octet === 0) return undefined;
      octet = octet * 10 + (c - DIGIT_0);
      if (++digits > 3 || octet > 255) return undefined;
    } else if (c === DOT && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return undefined;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : undefined;
}

export function ipv4Bytes(value: number): Uint8Array {
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

export function ipv4Number(bytes: Uint8Array, offset = 0): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

const GROUP = /^[0-9a-fA-F]{1,4}$/;

/** RFC 4291 §2.2 text (all three forms) to 16 octets; undefined when it is not one. */
export function parseIpv6(text: string): Uint8Array | undefined {
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return undefined;
  const head = gap < 0 ? text.split(':') : gap === 0 ? [] : text.slice(0, gap).split(':');
  const tailText = gap < 0 ? '' : text.slice(gap + 2);
  const tail = tailText === '' ? [] : tailText.split(':');
  // Form 3: a dotted IPv4 tail stands for the last two groups.
  const lastGroups = gap < 0 ? head : tail;
  let v4: number | undefined;
  if (lastGroups.length > 0 && lastGroups[lastGroups.length - 1]!.includes('.')) {
    v4 = parseIpv4(lastGroups.pop()!);
    if (v4 === undefined) return undefined;
  }
  const groups = head.length + tail.length + (v4 === undefined ? 0 : 2);
  // '::' stands for one or more zero groups (RFC 4291 §2.2 form 2).
  if (gap < 0 ? groups !== 8 : groups > 7) return undefined;
  const out = new Uint8Array(16);
  const write = (list: string[], first: number): boolean => {
    for (let i = 0; i < list.length; i++) {
      if (!GROUP.test(list[i]!)) return false;
      const g = parseInt(list[i]!, 16);
      out[2 * (first + i)] = g >> 8;
      out[2 * (first + i) + 1] = g & 0xff;
    }
    return true;
  };
  if (!write(head, 0) || !write(tail, 8 - tail.length - (v4 === undefined ? 0 : 2))) return undefined;
  if (v4 !== undefined) out.set(ipv4Bytes(v4), 12);
  return out;
}

/** Either family: IPv6 when the text has a colon, IPv4 otherwise. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const bytes = parseIpv6(text);
    return bytes && { family: 6, bytes };
  }
  const v4 = parseIpv4(text);
  return v4 === undefined ? undefined : { family: 4, bytes: ipv4Bytes(v4) };
}

/** Canonical text (RFC 5952 for IPv6) of 4 or 16 octets. */
export function formatIpBytes(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIpv4At(bytes, 0) : formatIpv6At(bytes, 0);
}

export function formatIp(address: IpAddress): string {
  return formatIpBytes(address.bytes);
}

/** Canonical text of an address, or undefined when the text is not one. */
export function canonicalIp(text: string): string | undefined {
  const a = parseIp(text);
  return a && formatIp(a);
}

export function ipToBigInt(address: IpAddress): bigint {
  let v = 0n;
  for (const b of address.bytes) v = (v << 8n) | BigInt(b);
  return v;
}

export function ipFromBigInt(family: IpFamily, value: bigint): IpAddress {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = bytes.length - 1; i >= 0; i--, value >>= 8n) bytes[i] = Number(value & 0xffn);
  return { family, bytes };
}

export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.bytes.every((v, i) => v === b.bytes[i]);
}

/** Text quoted for a message, control characters escaped ('1.2.3.4\u0000'), never whole past 130 characters. */
export function quoteText(text: string): string {
  return `'${quoteId(text)}'`;
}

/** Why a text that does not parse is not an address (a predicate: "has a zone id …"), for messages that say what to change. */
export function addressTextProblem(text: string): string {
  const zone = text.indexOf('%');
  if (zone >= 0) {
    return `has a zone id ('${quoteId(text.slice(zone))}'): a zone names an interface of one host (RFC 4007 §11), give the address alone`;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'contains a control character';
  if (text !== text.trim()) return 'has white space around it';
  return 'is not an IPv4 or IPv6 address';
}
