// The agent's part of neighbour resolution on an OVS bridge. The switch
// answers ARP and Neighbor Solicitations for the PE's addresses and learns
// every CE that sends it ARP or ND (pipeline.ts); what it cannot do is ask
// first. So the agent asks: for each CE next hop of the desired state (a
// static or BGP route via a CE, a per-CE label) that the switch has not
// learnt, an ARP request (RFC 826) or a Neighbor Solicitation (RFC 4861
// §7.2.2) goes out of the VRF's interface on the CE's subnet as a
// packet-out, and the switch's flows learn the CE from its reply. Hosts of
// a connected subnet other than the CE are learnt when they ask for their
// gateway.
//
// (A neighbour-table miss sent up to the agent would resolve any host on
// demand, but Open vSwitch 3.1's userspace datapath drops packets of an
// output:CONTROLLER action taken on a datapath upcall
// (datapath_drop_userspace_action_error): packet-ins come only from
// packet-outs there.)
import type { CeNextHop, VrfInstance } from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { parseAddress, parseInterfaceAddress } from '../../../common/desired-state/prefix.js';
import { type Action, ETH_TYPE_ARP, ETH_TYPE_IPV6, ETH_TYPE_VLAN, IP_PROTO_ICMPV6 } from './openflow.js';

/** At most one request per next hop in this long: a silent CE is not asked in a storm. */
const REQUEST_INTERVAL_MS = 1000;

export interface NeighbourContext {
  port(name: string): { port: number; mac: Uint8Array } | undefined;
  send(actions: Action[], frame: Uint8Array): void;
}

/** A CE next hop in its VRF. */
export interface CeNeighbour {
  vrf: VrfInstance;
  nextHop: CeNextHop;
}

/** An ARP request (RFC 826), tagged when the attachment has a VLAN. */
export function arpRequest(mac: Uint8Array, vlan: number, sender: Uint8Array, target: Uint8Array): Uint8Array {
  const tag = vlan ? 4 : 0;
  const f = new Uint8Array(14 + tag + 28);
  const v = new DataView(f.buffer);
  f.fill(0xff, 0, 6);
  f.set(mac, 6);
  if (vlan) {
    v.setUint16(12, ETH_TYPE_VLAN);
    v.setUint16(14, vlan & 0x0fff);
  }
  const a = 14 + tag;
  v.setUint16(a - 2, ETH_TYPE_ARP);
  v.setUint16(a, 1); // Ethernet
  v.setUint16(a + 2, 0x0800); // IPv4
  f[a + 4] = 6;
  f[a + 5] = 4;
  v.setUint16(a + 6, 1); // request
  f.set(mac, a + 8);
  f.set(sender, a + 14);
  f.set(target, a + 24); // the target hardware address stays zero
  return f;
}

/**
 * A Neighbor Solicitation for `target` (RFC 4861 §4.3, §7.2.2): to its
 * solicited-node multicast address (RFC 4291 §2.7.1) and that group's MAC
 * (RFC 2464 §7), from `sender`, hop limit 255, with the Source Link-Layer
 * Address option; the checksum covers the pseudo-header (RFC 8200 §8.1).
 */
export function neighborSolicitation(mac: Uint8Array, vlan: number, sender: Uint8Array, target: Uint8Array): Uint8Array {
  const tag = vlan ? 4 : 0;
  const icmpLength = 24 + 8;
  const f = new Uint8Array(14 + tag + 40 + icmpLength);
  const v = new DataView(f.buffer);
  f.set([0x33, 0x33, 0xff, target[13]!, target[14]!, target[15]!], 0);
  f.set(mac, 6);
  if (vlan) {
    v.setUint16(12, ETH_TYPE_VLAN);
    v.setUint16(14, vlan & 0x0fff);
  }
  const ip = 14 + tag;
  v.setUint16(ip - 2, ETH_TYPE_IPV6);
  f[ip] = 0x60;
  v.setUint16(ip + 4, icmpLength);
  f[ip + 6] = IP_PROTO_ICMPV6;
  f[ip + 7] = 255;
  f.set(sender, ip + 8);
  const group = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, target[13]!, target[14]!, target[15]!);
  f.set(group, ip + 24);
  const icmp = ip + 40;
  f[icmp] = 135;
  f.set(target, icmp + 8);
  f[icmp + 24] = 1; // Source Link-Layer Address option, 8 bytes
  f[icmp + 25] = 1;
  f.set(mac, icmp + 26);
  v.setUint16(icmp + 2, icmpv6Checksum(sender, group, f.subarray(icmp)));
  return f;
}

/** The Internet checksum of an ICMPv6 message (its checksum field zero) with the IPv6 pseudo-header. */
export function icmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Uint8Array): number {
  let sum = 0;
  const add = (b: Uint8Array) => {
    for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  };
  add(source);
  add(destination);
  sum += (message.length >>> 16) + (message.length & 0xffff) + IP_PROTO_ICMPV6;
  add(message);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function inSubnet(address: Uint8Array, subnet: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if (((address[i >> 3]! ^ subnet[i >> 3]!) & (0x80 >> (i & 7))) !== 0) return false;
  return true;
}

/** Key of a learnt neighbour: the VRF's table id and the address's bytes (4 or 16). */
export const neighbourKey = (tableId: number, address: Uint8Array) => `${tableId}/${Buffer.from(address).toString('hex')}`;

/** The key of a CE next hop. */
export function neighbourKeyOf({ vrf, nextHop }: CeNeighbour): string | undefined {
  const target = parseAddress(nextHop.address);
  return target ? neighbourKey(vrf.tableId, target.bytes) : undefined;
}

export class NeighbourResolver {
  private readonly lastAsked = new Map<string, number>();
  /** ARP requests and Neighbor Solicitations sent. */
  requests = 0;

  constructor(
    private readonly ctx: NeighbourContext,
    private readonly now: () => number = Date.now,
  ) {}

  /** Asks for each CE next hop whose key is not in `known` (learnt by the switch already). */
  resolve(neighbours: Iterable<CeNeighbour>, known: ReadonlySet<string> = new Set()): void {
    const t = this.now();
    for (const { vrf, nextHop } of neighbours) {
      const target = parseAddress(nextHop.address);
      if (!target) continue;
      const b = target.bytes;
      const key = neighbourKey(vrf.tableId, b);
      if (known.has(key) || t - (this.lastAsked.get(key) ?? -Infinity) < REQUEST_INTERVAL_MS) continue;
      const attachment = vrf.interfaces.find((i) => i.name === nextHop.interface && i.vlan === nextHop.vlan);
      const sender = attachment?.addresses.map((a) => parseInterfaceAddress(a)).find((a) => a.family === target.family && inSubnet(b, a.subnet.bytes, a.subnet.length));
      const port = this.ctx.port(nextHop.interface);
      if (!sender || !port) continue;
      if (this.lastAsked.size >= 100_000) this.lastAsked.clear();
      this.lastAsked.set(key, t);
      this.requests++;
      const from = parseAddress(sender.address)!.bytes;
      const frame = target.family === 4 ? arpRequest(port.mac, nextHop.vlan, from, b) : neighborSolicitation(port.mac, nextHop.vlan, from, b);
      this.ctx.send([{ type: 'output', port: port.port }], frame);
    }
  }
}
