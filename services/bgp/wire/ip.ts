// IPv4/IPv6 address text <-> octets, without allocation-heavy helpers, for
// next hops, identifiers and prefixes.
import { formatIpv4, parseIpv4 } from '../../common/vpn/administered-value.js';

export { formatIpv4, parseIpv4 };
import { formatIpv4At, formatIpv6At } from '../../common/net/address-text.js';

export { formatIpv4At, formatIpv6At };

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

export function parseIpv6(text: string): Uint8Array | undefined {
  let s = text;
  const out = new Uint8Array(16);
  let tailV4: number | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    tailV4 = parseIpv4(s.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1 && head.length !== 8) return undefined;
  if (halves.length === 2 && head.length + tail.length > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  groups.forEach((g, i) => writeUint16(out, 2 * i, g));
  if (tailV4 !== undefined) writeUint32(out, 12, tailV4);
  return out;
}

/** Parses either family; 4 octets for IPv4, 16 for IPv6. */
export function parseAddress(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) {
    const out = new Uint8Array(4);
    writeUint32(out, 0, v4);
    return out;
  }
  return text.includes(':') ? parseIpv6(text) : undefined;
}

export function formatAddress(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIpv4At(bytes, 0) : formatIpv6At(bytes, 0);
}
