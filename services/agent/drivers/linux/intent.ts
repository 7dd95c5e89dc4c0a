// How desired-state entries map onto the Linux kernel: device names, and the
// IP or MPLS route each VRF route and LFIB entry installs (in the same
// normalised form kernel.ts reads back), and the iproute2 batch lines that
// install or remove them. Pure.
import { createHash } from 'node:crypto';
import type { LfibEntry, RemotePeNextHop, VrfRoute } from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { canonicalAddress, parseAddress } from '../../../common/desired-state/prefix.js';
import type { KernelHop, KernelLabelRoute, KernelRoute } from './kernel.js';

/** Every VRF device the driver creates is named with this prefix; nothing else is taken for one. */
export const VRF_DEVICE_PREFIX = 'l3v-';
/** Linux interface names hold at most 15 bytes (IFNAMSIZ - 1). */
const MAX_IFNAME = 15;

/** An entry the kernel cannot be asked to hold; the message is the driver's reason. */
export class Refusal extends Error {}

const refuse = (reason: string): never => {
  throw new Refusal(reason);
};

/** iproute2 batch lines are split on blanks: names must be single plain tokens. */
const PLAIN = /^[^\s"'\\#/]+$/;

function checkName(name: string, what: string): string {
  if (!name || !PLAIN.test(name)) refuse(`${what} '${name}' is not a usable Linux interface name`);
  if (Buffer.byteLength(name) > MAX_IFNAME) refuse(`${what} '${name}' is longer than ${MAX_IFNAME} bytes`);
  return name;
}

/** The VRF device of a VRF: "l3v-<name>", or a hash of the name when it does not fit (the name is kept as the device alias). */
export function vrfDevice(vrf: string): string {
  if (!vrf || !PLAIN.test(vrf)) refuse(`VRF name '${vrf}' cannot be a device alias (blanks or quotes)`);
  const plain = `${VRF_DEVICE_PREFIX}${vrf}`;
  if (Buffer.byteLength(plain) <= MAX_IFNAME) return plain;
  return `${VRF_DEVICE_PREFIX}${createHash('sha256').update(vrf).digest('hex').slice(0, MAX_IFNAME - VRF_DEVICE_PREFIX.length)}`;
}

/** The device of an attachment: the interface itself, or its 802.1Q subinterface "<name>.<vlan>". */
export function interfaceDevice(name: string, vlan: number): string {
  checkName(name, 'interface');
  if (!vlan) return name;
  if (!Number.isInteger(vlan) || vlan < 1 || vlan > 4094) refuse(`VLAN id ${vlan} of ${name} is not 1-4094`);
  return checkName(`${name}.${vlan}`, 'VLAN subinterface');
}

function neighbour(address: string, what: string): string {
  if (!parseAddress(address)) refuse(`${what} '${address}' is not an IP address`);
  return canonicalAddress(address);
}

/** The route a VRF route installs in its VRF's table. */
export function routeIntent(r: VrfRoute, table: number): KernelRoute {
  const nh = r.nextHop ?? refuse(`route ${r.vrf} ${r.prefix} has no next hop`);
  if (nh.$case === 'local') {
    const ce = nh.value;
    return { table, prefix: r.prefix, dev: interfaceDevice(ce.interface, ce.vlan), via: ce.address ? neighbour(ce.address, 'CE address') : undefined, labels: [] };
  }
  const hop = (pe: RemotePeNextHop): KernelHop => {
    // Linux resolves no recursive next hop for an MPLS encap: the node's own LDP/SR cannot add the transport label here.
    if (pe.externalTransport) refuse('external transport (the node’s own LDP/SR) is not supported by the linux driver');
    if (pe.labels.length === 0) refuse('remote route without a label stack');
    return { dev: checkName(pe.outInterface, 'out interface'), via: neighbour(pe.nextHop, 'next hop'), labels: [...pe.labels] };
  };
  // ECMP (VrfRoute.multipath): one kernel multipath route, a next hop per remote PE with its own label stack;
  // the kernel hashes each flow onto one (net.ipv4.fib_multipath_hash_policy=1: the 5-tuple).
  if (r.multipath.length) return { table, prefix: r.prefix, labels: [], nexthops: [nh.value, ...r.multipath].map(hop) };
  return { table, prefix: r.prefix, ...hop(nh.value) };
}

/** The MPLS route an LFIB entry installs. `vrfDeviceOf` names the device of a VRF the driver holds. */
export function labelIntent(e: LfibEntry, vrfDeviceOf: (vrf: string) => string): KernelLabelRoute {
  const a = e.action ?? refuse(`label ${e.inLabel} has no action`);
  const label = e.inLabel;
  switch (a.$case) {
    case 'popAndLookup':
      // Sent to the VRF device, the packet is looked up in the VRF's table (IPv4 or IPv6 by its version).
      return { label, dev: vrfDeviceOf(a.value.vrf), labels: [] };
    case 'popAndForward': {
      const ce = a.value.nextHop ?? refuse(`label ${label} has no CE next hop`);
      // A connected subnet has no one CE to send to: look the destination up in the VRF instead.
      if (!ce.address) return { label, dev: vrfDeviceOf(a.value.vrf), labels: [] };
      return { label, dev: interfaceDevice(ce.interface, ce.vlan), via: neighbour(ce.address, 'CE address'), labels: [] };
    }
    case 'swap':
      if (a.value.outLabels.length === 0) refuse('swap without outgoing labels');
      return { label, dev: checkName(a.value.outInterface, 'out interface'), via: neighbour(a.value.nextHop, 'next hop'), labels: [...a.value.outLabels] };
    case 'pop':
      // Penultimate hop popping (RFC 3031 §3.16): no outgoing label, the rest of the stack goes on.
      return { label, dev: checkName(a.value.outInterface, 'out interface'), via: neighbour(a.value.nextHop, 'next hop'), labels: [] };
  }
}

function hopWords(h: KernelHop): string {
  const via = h.via ? ` via ${h.via.includes(':') ? 'inet6' : 'inet'} ${h.via}` : '';
  return `${via} dev ${h.dev}`;
}

/**
 * 6VPE (RFC 4659 §3.2.1, as 6PE, RFC 4798): an IPv6 route over an IPv4
 * core next hop. The kernel takes no IPv4 gateway on an IPv6 route ("IPv6
 * does not support RTA_VIA"), but it takes the IPv4-mapped IPv6 address as
 * the gateway (`onlink`: no IPv6 route covers it) and its MPLS encap
 * resolves that by ARP for the IPv4 address (net/mpls/mpls_iptunnel.c), as
 * routers carry the next hop in BGP. kernel.ts reads it back as the IPv4
 * address.
 */
function mappedHopWords(prefix: string, h: KernelHop): string | undefined {
  if (!prefix.includes(':') || !h.via || h.via.includes(':') || !h.labels.length) return undefined;
  return ` via inet6 ::ffff:${h.via} dev ${h.dev} onlink`;
}

function encapHopWords(prefix: string, h: KernelHop): string {
  const encap = h.labels.length ? ` encap mpls ${h.labels.join('/')}` : '';
  return `${encap}${mappedHopWords(prefix, h) ?? hopWords(h)}`;
}

/**
 * A multipath route is "nexthop [encap mpls L] via A dev D" per member
 * (ip-route(8) NH), in the desired state's order, after everything else:
 * iproute2 takes nothing but another nexthop after one.
 */
export function routeReplaceLine(r: KernelRoute, protocol: number): string {
  if (r.nexthops?.length) return `route replace ${r.prefix} table ${r.table} proto ${protocol}${r.nexthops.map((h) => ` nexthop${encapHopWords(r.prefix, h)}`).join('')}`;
  return `route replace ${r.prefix}${encapHopWords(r.prefix, r)} table ${r.table} proto ${protocol}`;
}

export function routeDeleteLine(table: number, prefix: string, protocol: number): string {
  return `route del ${prefix} table ${table} proto ${protocol}`;
}

export function labelReplaceLine(l: KernelLabelRoute, protocol: number): string {
  const swap = l.labels.length ? ` as ${l.labels.join('/')}` : '';
  return `route replace ${l.label}${swap}${hopWords(l)} proto ${protocol}`;
}

export function labelDeleteLine(label: number): string {
  return `route del ${label}`;
}
