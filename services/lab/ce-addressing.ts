// How a CE host is addressed for a site: what the customer configures on its
// router when the provider connects the site (the REST body says it all).
import { formatIpv4 } from '../common/net/address-text.js';
import { parseIpv4Prefix } from '../common/net/prefix.js';

/** Addressing of one CE host, as a site's attachment defines it: IPv4, and IPv6 on a dual-stack site. */
export interface CeAddressing {
  address: string; // with prefix length, e.g. 192.168.1.2/30
  gateway: string;
  /** Addresses on the CE's loopback (behind it: the site's static prefixes). */
  loopbacks: string[];
  /** The site's IPv6 attachment (6VPE, RFC 4659): the CE's address with its length, e.g. fd00:1::2/64, and the PE's as gateway. */
  ipv6?: { address: string; gateway: string };
}

/** The first usable address of an IPv4 prefix (the prefix itself for a /31 or /32). */
export function firstHost(prefix: string): string {
  const p = parseIpv4Prefix(prefix);
  if (!p) throw new Error(`'${prefix}' is not an IPv4 prefix`);
  return formatIpv4(p.length >= 31 ? p.address : p.address + 1);
}

/** A CE host's addressing from a site's REST body: its attachment subnet, gateway, and one address in each static prefix. */
export function ceAddressingOf(site: Record<string, any>): CeAddressing | undefined {
  const v4 = site.ipv4 as { peAddress: string; ceAddress: string } | undefined;
  if (!v4) return undefined;
  const [gateway, length] = v4.peAddress.split('/');
  const statics = ((site.routing?.static ?? []) as { prefix: string }[]).map((s) => s.prefix).filter((p) => !p.includes(':'));
  const v6 = site.ipv6 as { peAddress: string; ceAddress: string } | undefined;
  const [gateway6, length6] = v6?.peAddress.split('/') ?? [];
  return {
    address: `${v4.ceAddress}/${length}`,
    gateway: gateway!,
    loopbacks: statics.map(firstHost),
    ...(v6 ? { ipv6: { address: `${v6.ceAddress}/${length6}`, gateway: gateway6! } } : {}),
  };
}
