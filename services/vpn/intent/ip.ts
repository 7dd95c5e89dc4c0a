// IPv4/IPv6 addresses and prefixes as integers, for the checks an attachment
// needs: is the CE inside the PE's subnet, do two subnets overlap.
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 'ipv4' | 'ipv6';

export interface Ip {
  family: Family;
  value: bigint;
}

export interface IpPrefix extends Ip {
  length: number;
}

const bits = (family: Family) => (family === 'ipv4' ? 32 : 128);

function parseV6(text: string): bigint {
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const l = left ? left.split(':') : [];
  const r = right === undefined ? [] : right ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

function parseV4(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

/** Parses an address; undefined when it is not one. */
export function parseIp(text: string): Ip | undefined {
  if (isIPv4(text)) return { family: 'ipv4', value: parseV4(text) };
  if (isIPv6(text) && !text.includes('%')) return { family: 'ipv6', value: parseV6(text) };
  return undefined;
}

/** Parses "address/length"; the address may have host bits set (an interface address). */
export function parseIpPrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  if (length > bits(ip.family)) return undefined;
  return { ...ip, length };
}

function mask(family: Family, length: number): bigint {
  const width = BigInt(bits(family));
  return ((1n << width) - 1n) ^ ((1n << (width - BigInt(length))) - 1n);
}

export function network(p: IpPrefix): bigint {
  return p.value & mask(p.family, p.length);
}

export function hasHostBits(p: IpPrefix): boolean {
  return network(p) !== p.value;
}

export function contains(p: IpPrefix, ip: Ip): boolean {
  return p.family === ip.family && (ip.value & mask(p.family, p.length)) === network(p);
}

export function overlaps(a: IpPrefix, b: IpPrefix): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.length, b.length);
  const m = mask(a.family, shorter);
  return (a.value & m) === (b.value & m);
}

/** The all-zeros and all-ones host addresses of an IPv4 subnet longer than /31 (RFC 3021 makes /31 usable). */
export function isIpv4SubnetEdge(p: IpPrefix, ip: Ip): boolean {
  if (p.family !== 'ipv4' || p.length >= 31) return false;
  const host = ip.value & ~mask('ipv4', p.length) & 0xffffffffn;
  return host === 0n || host === (1n << BigInt(32 - p.length)) - 1n;
}

export function formatPrefixNetwork(p: IpPrefix): string {
  const n = network(p);
  if (p.family === 'ipv4') return `${[24n, 16n, 8n, 0n].map((s) => (n >> s) & 0xffn).join('.')}/${p.length}`;
  const groups = [];
  for (let i = 7n; i >= 0n; i--) groups.push(((n >> (i * 16n)) & 0xffffn).toString(16));
  return `${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}/${p.length}`;
}
