// The agent's part of neighbour resolution on an OVS bridge. The switch
// answers ARP for the PE's addresses and learns every CE that sends it ARP
// (pipeline.ts); what it cannot do is ask first. So the agent asks: for each
// CE next hop of the desired state (a static or BGP route via a CE, a
// per-CE label) that the switch has not learnt, an ARP request (RFC 826)
// goes out of the VRF's interface on the CE's subnet as a packet-out, and
// the switch's flows learn the CE from its reply. Hosts of a connected
// subnet other than the CE are learnt when they ARP for their gateway.
//
// (A neighbour-table miss sent up to the agent would resolve any host on
// demand, but Open vSwitch 3.1's userspace datapath drops packets of an
// output:CONTROLLER action taken on a datapath upcall
// (datapath_drop_userspace_action_error): packet-ins come only from
// packet-outs there.)
import type { CeNextHop, VrfInstance } from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { parseAddress, parseInterfaceAddress } from '../../../common/desired-state/prefix.js';
import { type Action, ETH_TYPE_ARP, ETH_TYPE_VLAN } from './openflow.js';

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

function inSubnet(address: Uint8Array, subnet: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if (((address[i >> 3]! ^ subnet[i >> 3]!) & (0x80 >> (i & 7))) !== 0) return false;
  return true;
}

/** Key of a learnt neighbour: the VRF's table id and the IPv4 address as a number. */
export const neighbourKey = (tableId: number, ipv4: number) => `${tableId}/${ipv4 >>> 0}`;

/** The key of an IPv4 CE next hop (undefined for IPv6: the switch learns those by ND, not asked here). */
export function neighbourKeyOf({ vrf, nextHop }: CeNeighbour): string | undefined {
  const target = parseAddress(nextHop.address);
  if (target?.family !== 4) return undefined;
  const b = target.bytes;
  return neighbourKey(vrf.tableId, (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!);
}

export class NeighbourResolver {
  private readonly lastAsked = new Map<string, number>();
  /** ARP requests sent. */
  requests = 0;

  constructor(
    private readonly ctx: NeighbourContext,
    private readonly now: () => number = Date.now,
  ) {}

  /** Asks for each IPv4 CE next hop whose key is not in `known` (learnt by the switch already). */
  resolve(neighbours: Iterable<CeNeighbour>, known: ReadonlySet<string> = new Set()): void {
    const t = this.now();
    for (const { vrf, nextHop } of neighbours) {
      const target = parseAddress(nextHop.address);
      if (target?.family !== 4) continue;
      const b = target.bytes;
      const key = neighbourKeyOf({ vrf, nextHop })!;
      if (known.has(key) || t - (this.lastAsked.get(key) ?? -Infinity) < REQUEST_INTERVAL_MS) continue;
      const attachment = vrf.interfaces.find((i) => i.name === nextHop.interface && i.vlan === nextHop.vlan);
      const sender = attachment?.addresses.map((a) => parseInterfaceAddress(a)).find((a) => a.family === 4 && inSubnet(b, a.subnet.bytes, a.subnet.length));
      const port = this.ctx.port(nextHop.interface);
      if (!sender || !port) continue;
      if (this.lastAsked.size >= 100_000) this.lastAsked.clear();
      this.lastAsked.set(key, t);
      this.requests++;
      this.ctx.send([{ type: 'output', port: port.port }], arpRequest(port.mac, nextHop.vlan, parseAddress(sender.address)!.bytes, b));
    }
  }
}
