// Ethernet + IPv4 + UDP frames for the datagrams the agent itself sends and
// receives on core ports through the switch (BFD, RFC 5881): packet-out
// and packet-in carry whole frames. Pure.

export interface UdpFrame {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  /** Dotted IPv4 addresses. */
  source: string;
  destination: string;
  ttl: number;
  sourcePort: number;
  destinationPort: number;
  payload: Uint8Array;
}

export const BROADCAST_MAC = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

const ipv4 = (s: string): number[] => {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`not an IPv4 address: ${s}`);
  return parts;
};

function checksum(b: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

let ipId = 0;

export function encodeUdpFrame(f: UdpFrame): Uint8Array {
  const udpLength = 8 + f.payload.length;
  const ipLength = 20 + udpLength;
  const b = new Uint8Array(14 + ipLength);
  const v = new DataView(b.buffer);
  b.set(f.dstMac, 0);
  b.set(f.srcMac, 6);
  v.setUint16(12, 0x0800);
  const ip = 14;
  v.setUint8(ip, 0x45);
  // DSCP CS6 (network control), as routers send BFD.
  v.setUint8(ip + 1, 0xc0);
  v.setUint16(ip + 2, ipLength);
  v.setUint16(ip + 4, (ipId = (ipId + 1) & 0xffff));
  v.setUint16(ip + 6, 0x4000); // don't fragment
  v.setUint8(ip + 8, f.ttl);
  v.setUint8(ip + 9, 17);
  b.set(ipv4(f.source), ip + 12);
  b.set(ipv4(f.destination), ip + 16);
  v.setUint16(ip + 10, checksum(b, ip, ip + 20));
  const udp = ip + 20;
  v.setUint16(udp, f.sourcePort);
  v.setUint16(udp + 2, f.destinationPort);
  v.setUint16(udp + 4, udpLength);
  b.set(f.payload, udp + 8);
  // UDP checksum over the pseudo-header (RFC 768); 0 would mean none, sent as 0xffff.
  let pseudo = 0;
  for (let i = ip + 12; i < ip + 20; i += 2) pseudo += (b[i]! << 8) | b[i + 1]!;
  pseudo += 17 + udpLength;
  const sum = checksum(b, udp, udp + udpLength, pseudo);
  v.setUint16(udp + 6, sum === 0 ? 0xffff : sum);
  return b;
}

/** The UDP datagram in an untagged Ethernet IPv4 frame, or undefined for anything else. Never throws. */
export function decodeUdpFrame(b: Uint8Array): UdpFrame | undefined {
  if (b.length < 14 + 20 + 8) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint16(12) !== 0x0800) return undefined;
  const ip = 14;
  const ihl = (v.getUint8(ip) & 0x0f) * 4;
  if (v.getUint8(ip) >> 4 !== 4 || ihl < 20 || v.getUint8(ip + 9) !== 17) return undefined;
  const total = v.getUint16(ip + 2);
  if (total > b.length - ip || total < ihl + 8) return undefined;
  const udp = ip + ihl;
  const udpLength = v.getUint16(udp + 4);
  if (udpLength < 8 || udp + udpLength > ip + total) return undefined;
  const addr = (o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  return {
    dstMac: b.slice(0, 6),
    srcMac: b.slice(6, 12),
    source: addr(ip + 12),
    destination: addr(ip + 16),
    ttl: v.getUint8(ip + 8),
    sourcePort: v.getUint16(udp),
    destinationPort: v.getUint16(udp + 2),
    payload: b.slice(udp + 8, udp + udpLength),
  };
}
