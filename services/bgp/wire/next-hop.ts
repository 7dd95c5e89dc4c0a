// The Network Address of Next Hop field of MP_REACH_NLRI (RFC 4760 §3) per
// family: plain IPv4/IPv6 (with RFC 2545 link-local, RFC 8950 IPv6 for IPv4
// NLRI), and the VPN forms whose address is preceded by an all-zero RD
// (RFC 4364 §4.3.2: 12 octets; RFC 4659 §3.2: 24, or 48 with link-local).
import { Afi, Safi } from './constants.js';
import { formatIpv4At, formatIpv6At, parseAddress } from './ip.js';

export interface NextHop {
  /** IPv4 or IPv6 text. */
  readonly address: string;
  /** RFC 2545 / RFC 4659 link-local address, when the field carries two. */
  readonly linkLocal?: string;
}

export class NextHopError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NextHopError';
  }
}

/** Decodes the next-hop field; returns a reason string when its length does not fit the family. */
export function decodeNextHop(afi: number, safi: number, field: Uint8Array): NextHop | string {
  const len = field.length;
  if (safi === Safi.MPLS_VPN) {
    if (len === 12 && afi === Afi.IPV4) return { address: formatIpv4At(field, 8) };
    if (len === 24) return { address: formatIpv6At(field, 8) };
    if (len === 48) return { address: formatIpv6At(field, 8), linkLocal: formatIpv6At(field, 32) };
    return `next hop of ${len} octets for VPN AFI ${afi}`;
  }
  if (len === 4 && afi === Afi.IPV4) return { address: formatIpv4At(field, 0) };
  if (len === 16) return { address: formatIpv6At(field, 0) };
  if (len === 32) return { address: formatIpv6At(field, 0), linkLocal: formatIpv6At(field, 16) };
  return `next hop of ${len} octets for AFI ${afi} SAFI ${safi}`;
}

/** Encodes the next-hop field for a family; throws NextHopError on an address that cannot be carried. */
export function encodeNextHop(afi: number, safi: number, nextHop: NextHop): Uint8Array {
  const address = parseAddress(nextHop.address);
  if (!address) throw new NextHopError(`'${nextHop.address}' is not an IP address`);
  let linkLocal: Uint8Array | undefined;
  if (nextHop.linkLocal !== undefined) {
    linkLocal = parseAddress(nextHop.linkLocal);
    if (!linkLocal || linkLocal.length !== 16 || address.length !== 16) {
      throw new NextHopError(`link-local next hop '${nextHop.linkLocal}' needs a global IPv6 next hop`);
    }
  }
  let v6 = address;
  if (address.length === 4 && afi === Afi.IPV6) {
    // An IPv6 family over IPv4 transport: IPv4-mapped IPv6 (RFC 4659 §3.2.1.2, RFC 4798).
    v6 = new Uint8Array(16);
    v6[10] = 0xff;
    v6[11] = 0xff;
    v6.set(address, 12);
  }
  const parts: Uint8Array[] = [];
  const rd = safi === Safi.MPLS_VPN ? new Uint8Array(8) : undefined;
  if (afi === Afi.IPV4 && address.length === 4) {
    if (rd) parts.push(rd);
    parts.push(address);
  } else {
    if (rd) parts.push(rd);
    parts.push(v6);
    if (linkLocal) {
      if (rd) parts.push(rd);
      parts.push(linkLocal);
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
