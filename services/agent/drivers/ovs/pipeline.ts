// How desired-state entries become OpenFlow 1.3 flows on one OVS bridge, and
// which entry an installed flow belongs to. Pure.
//
// Tables (all flows carry the agent's cookie; goto_table only jumps
// forward, so the label table comes before the VRF FIB, DATAPLANE.md):
//   classifier  CE port + VLAN -> pop the tag, metadata := VRF table id, goto fib;
//               ARP request / IPv6 Neighbor Solicitation for a PE address on a CE port ->
//               answered in place, CE learnt; ARP reply / Neighbor Advertisement to a PE
//               address -> CE learnt; MPLS (any port) -> goto lfib
//   lfib        mpls_label [+ mpls_bos] -> a node SID's group / pop and look up / pop to a CE
//   fib         metadata = VRF table id + IP destination prefix -> push [VPN label, this
//               node's label of the remote PE] and on to that SID's group, or
//               towards a CE: Ethernet source := the PE port's, reg0 / xxreg0 := next hop,
//               goto neigh; link-scope IPv6 is never routed
//   neigh       metadata + reg0 (IPv4) / xxreg0 (IPv6 next hop) -> Ethernet destination :=
//               CE's MAC, out of its port; only flows learnt from the CE's ARP or ND
//               (NXAST_LEARN, cookie "LN"): the agent asks CE next hops not learnt yet
//               with ARP requests or Neighbor Solicitations (neighbours.ts)
//               PE-CE BGP (VrfInterface.bgp_sessions): TCP from a listed CE to port 179 of
//               its PE address -> tag popped, out of the attachment's punt port (a veth into
//               the namespace of the agent's listener, punt.ts); from the punt port, TCP from
//               that PE address, port 179, to the CE -> towards the CE like a routed packet
//   nd          the Target Link-Layer Address of an advertisement the classifier made of a
//               solicitation, and out (see ndFlows)
// A VRF is a metadata value in the shared fib table, not a table of its
// own: OpenFlow has 254 tables and a node must hold 10,000 VRFs.
//
// Fast reroute: every node-SID entry (swap, PHP pop) is a fast-failover
// group (OpenFlow 1.3.5 §5.6.1) whose id is the entry's in-label: the
// primary next hop's bucket first, then the precomputed backup's
// (BackupNextHop), each watching its core port. The switch itself moves to
// the backup the moment the primary port is not live (link down or port
// down), before any controller or agent acts. Remote routes push this
// node's own label of their PE over the VPN label and go through the same
// group, so one group per destination serves transit and ingress traffic,
// and a new primary from the controller is one GROUP_MOD, not one flow per
// route.
//
// Neighbours are resolved by the switch itself (ARP and ND answered and
// learnt by flows), so a node keeps resolving its CEs while its agent is
// down (headless mode); only a CE never heard from needs the agent, to send
// the first request. Learnt flows never expire: a CE that changes its MAC
// announces it by ARP or ND, which replaces the flow.
import { type CeBgpSession, type CeNextHop, type LfibEntry, LookupFamily, type RemotePeNextHop, type VrfInstance, type VrfRoute } from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { vrfRouteKey } from '../../../common/desired-state/index.js';
import { formatAddress, parseAddress, parsePrefix, type Family } from '../../../common/desired-state/prefix.js';
import {
  type Action,
  bytesUint,
  ETH_TYPE_ARP,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  ETH_TYPE_MPLS,
  ETH_TYPE_VLAN,
  type FlowStats,
  type GroupSpec,
  IP_PROTO_ICMPV6,
  IP_PROTO_TCP,
  type Instruction,
  OFPGT_FF,
  OFPGT_SELECT,
  OFPP_ANY,
  type Oxm,
  oxm,
  oxmBytes,
  OxmField,
  OFPVID_NONE,
  OFPVID_PRESENT,
  OFPP_CONTROLLER,
  OFPP_IN_PORT,
  uintBytes,
} from './openflow.js';
import { clearInPort, ipTtl, learn, move, ndOptionsType, ndReserved, type NxField, NxFields, reg0, xxreg0 } from './nicira.js';

export interface PipelineTables {
  classifier: number;
  lfib: number;
  fib: number;
  neigh: number;
  /** The second half of the Neighbor Advertisement a solicitation becomes (after the classifier). */
  nd: number;
}

export const DEFAULT_TABLES: PipelineTables = { classifier: 0, lfib: 1, fib: 2, neigh: 3, nd: 4 };

/** Every flow of the agent carries this cookie ("L3" in the top 16 bits); nothing else is touched. */
export const AGENT_COOKIE = 0x4c33n << 48n;
export const AGENT_COOKIE_MASK = 0xffffn << 48n;
/** Neighbour flows learnt by the switch: "LN" + the VRF's table id, so a VRF's can be removed with it. */
export const NEIGHBOUR_COOKIE = 0x4c4en << 48n;
export const neighbourCookie = (tableId: number): bigint => NEIGHBOUR_COOKIE | BigInt(tableId);

const PRIORITY_MPLS_DISPATCH = 10;
const PRIORITY_CE = 100;
const PRIORITY_ARP = 110;
const PRIORITY_ND_UNSPECIFIED = 111;
const PRIORITY_NEIGHBOUR = 100;
/** Above the ARP/ND responders and the core's flows: a listed BGP session always reaches its listener. */
const PRIORITY_BGP_PUNT = 130;
const BGP_PORT = 179;
const ARP_REQUEST = 1;
const ARP_REPLY = 2;
const PRIORITY_LABEL = 100;
/** fib: 1000 + prefix length, so the longest prefix wins (IPv4 and IPv6 are apart by eth_type). */
const PRIORITY_PREFIX_BASE = 1000;
/** fib: the driver's own flows, above every prefix. */
const PRIORITY_FIB_GUARD = 2000;
const METADATA_ALL = (1n << 64n) - 1n;

export interface FlowSpec {
  table: number;
  priority: number;
  match: Oxm[];
  instructions: Instruction[];
}

/** What a flow needs from outside the entry: port numbers and MACs, VRF table ids. */
export interface PipelineContext {
  port(name: string): number | undefined;
  mac(name: string): Uint8Array | undefined;
  vrfTable(name: string): number | undefined;
  /** The OpenFlow port of the PE-CE BGP punt of a VRF's attachment (punt.ts); undefined: none (yet). */
  puntPort?(vrf: string, iface: string, vlan: number): number | undefined;
}

/** An entry that cannot be expressed on this bridge; the message is the driver's reason. */
export class PipelineError extends Error {}

const fail = (reason: string): never => {
  throw new PipelineError(reason);
};

function portOf(ctx: PipelineContext, name: string): number {
  return ctx.port(name) ?? fail(`no port ${name} on the bridge`);
}

function macOf(ctx: PipelineContext, name: string): Uint8Array {
  return ctx.mac(name) ?? fail(`no port ${name} on the bridge`);
}

function tableOf(ctx: PipelineContext, vrf: string): number {
  return ctx.vrfTable(vrf) ?? fail(`no VRF ${vrf}`);
}

const vlanMatch = (vlan: number) => oxm(OxmField.VLAN_VID, vlan ? OFPVID_PRESENT | vlan : OFPVID_NONE);
const apply = (...actions: Action[]): Instruction => ({ type: 'apply_actions', actions });
const setField = (field: OxmField, value: number): Action => ({ type: 'set_field', field: oxm(field, value) });
const setBytes = (field: OxmField, value: Uint8Array): Action => ({ type: 'set_field', field: oxmBytes(field, value) });
const ipv4Number = (b: Uint8Array) => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;

const vlanTag = (vlan: number): Action[] => (vlan ? [{ type: 'push_vlan', ethertype: ETH_TYPE_VLAN }, setField(OxmField.VLAN_VID, OFPVID_PRESENT | vlan)] : []);

/**
 * Instructions that send an IP packet to a CE next hop: the PE port's MAC
 * as source, the tag of the attachment, the next hop (the CE's address, or
 * for a connected subnet the packet's own destination) in reg0 (IPv4) or
 * xxreg0 (IPv6), then the neighbour table puts the CE's MAC and picks the
 * port.
 */
function towardsCe(ctx: PipelineContext, t: PipelineTables, nh: CeNextHop, family: Family, before: Action[] = [], metadata?: bigint): Instruction[] {
  const address = nh.address ? parseAddress(nh.address) : undefined;
  if (nh.address && address?.family !== family) fail(`CE next hop ${nh.address} is not an IPv${family} address`);
  let nextHop: Action;
  if (family === 4) nextHop = address ? { type: 'set_field', field: reg0(ipv4Number(address.bytes)) } : move(NxFields.IPV4_DST, NxFields.REG0);
  else nextHop = address ? { type: 'set_field', field: xxreg0(address.bytes) } : move(NxFields.IPV6_DST, NxFields.XXREG0);
  return [
    apply(...before, setBytes(OxmField.ETH_SRC, macOf(ctx, nh.interface)), ...vlanTag(nh.vlan), nextHop),
    ...(metadata === undefined ? [] : [{ type: 'write_metadata' as const, metadata, mask: METADATA_ALL }]),
    { type: 'goto_table', table: t.neigh },
  ];
}

/**
 * Pushes a stack given outermost first. Each push_mpls puts a new top label
 * over the stack, so the bottom label goes first; the switch sets the
 * bottom-of-stack bit on the first label pushed onto an IP packet only
 * (RFC 3032 §2.1).
 */
function pushStack(labels: readonly number[]): Action[] {
  const out: Action[] = [];
  for (let i = labels.length - 1; i >= 0; i--) out.push({ type: 'push_mpls', ethertype: ETH_TYPE_MPLS }, setField(OxmField.MPLS_LABEL, labels[i]!));
  return out;
}

const ipv6Prefix = (field: OxmField, first: number[], length: number): Oxm => {
  const value = new Uint8Array(16);
  value.set(first);
  const mask = new Uint8Array(16);
  for (let i = 0; i < length; i++) mask[i >> 3]! |= 0x80 >> (i & 7);
  return oxmBytes(field, value, mask);
};

/**
 * The driver's own flows: MPLS to the label table; in the FIB, above every
 * prefix, IPv6 packets of link scope are never routed (RFC 4291 §2.5.6: a
 * VRF's ::/0 must not carry a CE's neighbour discovery or link-local
 * traffic across the VPN).
 */
export function baseFlows(t: PipelineTables): FlowSpec[] {
  const v6 = oxm(OxmField.ETH_TYPE, ETH_TYPE_IPV6);
  return [
    { table: t.classifier, priority: PRIORITY_MPLS_DISPATCH, match: [oxm(OxmField.ETH_TYPE, ETH_TYPE_MPLS)], instructions: [{ type: 'goto_table', table: t.lfib }] },
    { table: t.fib, priority: PRIORITY_FIB_GUARD, match: [v6, ipv6Prefix(OxmField.IPV6_DST, [0xff], 8)], instructions: [] },
    { table: t.fib, priority: PRIORITY_FIB_GUARD, match: [v6, ipv6Prefix(OxmField.IPV6_DST, [0xfe, 0x80], 10)], instructions: [] },
    { table: t.fib, priority: PRIORITY_FIB_GUARD, match: [v6, ipv6Prefix(OxmField.IPV6_SRC, [0xfe, 0x80], 10)], instructions: [] },
  ];
}

/**
 * Learns "metadata + the sender's address -> its MAC, out of this port":
 * IPv4 in reg0 from an ARP packet (RFC 826), IPv6 in xxreg0 from a
 * Neighbor Solicitation's source or an Advertisement's target (RFC 4861
 * §7.2.3, §7.2.5).
 */
function learnNeighbour(t: PipelineTables, tableId: number, from: NxField = NxFields.ARP_SPA): Action {
  const v6 = from.bits === 128;
  const ethType = v6 ? ETH_TYPE_IPV6 : ETH_TYPE_IPV4;
  return learn({
    table: t.neigh,
    priority: PRIORITY_NEIGHBOUR,
    cookie: neighbourCookie(tableId),
    specs: [
      { kind: 'match', dst: NxFields.ETH_TYPE, value: Uint8Array.of(ethType >> 8, ethType & 0xff) },
      { kind: 'match', dst: NxFields.METADATA, value: uintBytes(tableId, 8) },
      { kind: 'match', dst: v6 ? NxFields.XXREG0 : NxFields.REG0, from },
      { kind: 'load', dst: NxFields.ETH_DST, from: NxFields.ETH_SRC },
      { kind: 'output', from: NxFields.IN_PORT },
    ],
  });
}

/**
 * The PE's side of ARP on one attachment and IPv4 address: a request for
 * the address is turned into the reply in place (RFC 826: swap the sender
 * into the target, the port's MAC as sender) and sent back out of the port
 * it came in on, still tagged; requests and replies both teach the
 * neighbour table the CE's MAC.
 */
function arpFlows(tableId: number, port: number, vlan: number, mac: Uint8Array, address: Uint8Array, t: PipelineTables): FlowSpec[] {
  const match = (op: number) => [
    oxm(OxmField.IN_PORT, port),
    vlanMatch(vlan),
    oxm(OxmField.ETH_TYPE, ETH_TYPE_ARP),
    oxm(OxmField.ARP_OP, op),
    oxmBytes(OxmField.ARP_TPA, address),
  ];
  const metadata: Instruction = { type: 'write_metadata', metadata: BigInt(tableId), mask: METADATA_ALL };
  const reply = apply(learnNeighbour(t, tableId), ...arpReplyActions(mac, address));
  return [
    { table: t.classifier, priority: PRIORITY_ARP, match: match(ARP_REQUEST), instructions: [reply, metadata] },
    { table: t.classifier, priority: PRIORITY_ARP, match: match(ARP_REPLY), instructions: [apply(learnNeighbour(t, tableId)), metadata] },
  ];
}

/** The request turned into its reply in place (RFC 826): swap the ends, answer with `mac` for `address`, back out of the port it came in. */
function arpReplyActions(mac: Uint8Array, address: Uint8Array): Action[] {
  return [
    move(NxFields.ETH_SRC, NxFields.ETH_DST),
    setBytes(OxmField.ETH_SRC, mac),
    setField(OxmField.ARP_OP, ARP_REPLY),
    move(NxFields.ARP_SHA, NxFields.ARP_THA),
    setBytes(OxmField.ARP_SHA, mac),
    move(NxFields.ARP_SPA, NxFields.ARP_TPA),
    setBytes(OxmField.ARP_SPA, address),
    { type: 'output', port: OFPP_IN_PORT },
  ];
}

const ICMPV6_NS = 135;
const ICMPV6_NA = 136;
/** Router, Solicited and Override (RFC 4861 §4.4): the PE is the CE's router and answers for its own address. */
const NA_FLAGS = 0xe0000000;
const ND_OPTION_TARGET_LINK_LAYER = 2;
const UNSPECIFIED = new Uint8Array(16);

/**
 * The PE's side of IPv6 neighbour discovery on one attachment and IPv6
 * address, in flows like ARP, so that a headless PE keeps answering. A
 * Neighbor Solicitation for the address with hop limit 255 and code 0
 * (RFC 4861 §7.1.1; the checksum is not checked, OVS cannot) is turned into
 * the solicited Advertisement in place (§7.2.4): to the solicitation's
 * source, from the address, type 136, flags R|S|O, hop limit still 255,
 * its Source Link-Layer Address option retyped to the Target Link-Layer
 * Address option with the port's MAC; OVS updates the ICMPv6 checksum
 * (pseudo-header included) with each field it sets. It takes two tables:
 * OVS refuses nd_tll on a flow that matched a solicitation, and whether it
 * writes the option as SLL or TLL depends on the order it applies the
 * type change in, so the classifier sets the SLL and the nd table, seeing
 * an advertisement, the TLL. Solicitations and advertisements to the
 * address teach the neighbour table the CE's MAC. A solicitation from the
 * unspecified address (duplicate address detection: §7.2.4 would multicast
 * the answer with an option flows cannot add) is dropped.
 */
function ndFlows(tableId: number, port: number, vlan: number, mac: Uint8Array, address: Uint8Array, t: PipelineTables): FlowSpec[] {
  // Each field after its prerequisites (Open vSwitch checks them in order): the target after the type.
  const match = (type: number, ...more: Oxm[]) => [
    oxm(OxmField.IN_PORT, port),
    vlanMatch(vlan),
    oxm(OxmField.ETH_TYPE, ETH_TYPE_IPV6),
    oxm(OxmField.IP_PROTO, IP_PROTO_ICMPV6),
    ipTtl(255),
    oxm(OxmField.ICMPV6_TYPE, type),
    oxm(OxmField.ICMPV6_CODE, 0),
    ...more,
  ];
  const metadata: Instruction = { type: 'write_metadata', metadata: BigInt(tableId), mask: METADATA_ALL };
  const target = oxmBytes(OxmField.IPV6_ND_TARGET, address);
  const advertise = apply(
    learnNeighbour(t, tableId, NxFields.IPV6_SRC),
    move(NxFields.ETH_SRC, NxFields.ETH_DST),
    setBytes(OxmField.ETH_SRC, mac),
    move(NxFields.IPV6_SRC, NxFields.IPV6_DST),
    setBytes(OxmField.IPV6_SRC, address),
    setField(OxmField.ICMPV6_TYPE, ICMPV6_NA),
    { type: 'set_field', field: ndReserved(NA_FLAGS) },
    { type: 'set_field', field: ndOptionsType(ND_OPTION_TARGET_LINK_LAYER) },
    setBytes(OxmField.IPV6_ND_SLL, mac),
  );
  return [
    { table: t.classifier, priority: PRIORITY_ND_UNSPECIFIED, match: match(ICMPV6_NS, oxmBytes(OxmField.IPV6_SRC, UNSPECIFIED), target), instructions: [metadata] },
    { table: t.classifier, priority: PRIORITY_ARP, match: match(ICMPV6_NS, target), instructions: [advertise, metadata, { type: 'goto_table', table: t.nd }] },
    {
      table: t.nd,
      priority: PRIORITY_ARP,
      match: match(ICMPV6_NA, oxmBytes(OxmField.IPV6_SRC, address)),
      instructions: [apply(setBytes(OxmField.IPV6_ND_TLL, mac), { type: 'output', port: OFPP_IN_PORT }), metadata],
    },
    {
      table: t.classifier,
      priority: PRIORITY_ARP,
      match: match(ICMPV6_NA, oxmBytes(OxmField.IPV6_DST, address)),
      instructions: [apply(learnNeighbour(t, tableId, NxFields.ND_TARGET)), metadata],
    },
  ];
}

/** The agent's own datagrams on core links (BFD): "LB", apart from the entries' flows so read() never takes them for drift. */
export const CORE_COOKIE = 0x4c42n << 48n;
const PRIORITY_CORE = 120;

/**
 * A node's own address on a core link, as a router's control plane has it:
 * ARP requests for it are answered in place (RFC 826), UDP datagrams to it
 * on `udpPort` (BFD, RFC 5881) go to the agent as packet-ins.
 */
export function coreFlows(binding: { interface: string; address: string }, udpPort: number, ctx: PipelineContext, t: PipelineTables): FlowSpec[] {
  const port = portOf(ctx, binding.interface);
  const mac = macOf(ctx, binding.interface);
  const address = parseAddress(binding.address.split('/')[0]!);
  if (address?.family !== 4) fail(`core address ${binding.address} of ${binding.interface} is not IPv4`);
  const reply = apply(...arpReplyActions(mac, address!.bytes));
  return [
    {
      table: t.classifier,
      priority: PRIORITY_CORE,
      match: [oxm(OxmField.IN_PORT, port), oxm(OxmField.ETH_TYPE, ETH_TYPE_ARP), oxm(OxmField.ARP_OP, ARP_REQUEST), oxmBytes(OxmField.ARP_TPA, address!.bytes)],
      instructions: [reply],
    },
    {
      table: t.classifier,
      priority: PRIORITY_CORE,
      match: [
        oxm(OxmField.IN_PORT, port),
        oxm(OxmField.ETH_TYPE, ETH_TYPE_IPV4),
        oxm(OxmField.IP_PROTO, 17),
        oxmBytes(OxmField.IPV4_DST, address!.bytes),
        oxm(OxmField.UDP_DST, udpPort),
      ],
      instructions: [apply({ type: 'output', port: OFPP_CONTROLLER })],
    },
  ];
}

/**
 * The PE-CE BGP sessions of one attachment (RFC 4271 §8: TCP port 179):
 * from the CE's port and VLAN, only TCP from a listed CE address to port
 * 179 of its PE address goes to the punt port, untagged; from the punt
 * port, only TCP from that PE address and port 179 to the CE goes back,
 * the way a routed packet to the CE does (PE MAC, tag, the learnt
 * neighbour). The listener's kernel never resolves the CE (a static
 * neighbour, punt.ts): the switch puts the CE's MAC it learnt. Nothing
 * else reaches or leaves the punt port.
 */
function bgpPuntFlows(tableId: number, port: number, punt: number, iface: string, vlan: number, sessions: readonly CeBgpSession[], ctx: PipelineContext, t: PipelineTables): FlowSpec[] {
  const metadata: Instruction = { type: 'write_metadata', metadata: BigInt(tableId), mask: METADATA_ALL };
  return sessions.flatMap((s) => {
    const ce = parseAddress(s.ceAddress) ?? fail(`BGP session CE address ${s.ceAddress} is not an address`);
    const pe = parseAddress(s.peAddress) ?? fail(`BGP session PE address ${s.peAddress} is not an address`);
    if (ce.family !== pe.family) fail(`BGP session ${s.ceAddress} -> ${s.peAddress} mixes address families`);
    const v4 = ce.family === 4;
    const tcp = [oxm(OxmField.ETH_TYPE, v4 ? ETH_TYPE_IPV4 : ETH_TYPE_IPV6), oxm(OxmField.IP_PROTO, IP_PROTO_TCP)];
    const [src, dst] = v4 ? [OxmField.IPV4_SRC, OxmField.IPV4_DST] : [OxmField.IPV6_SRC, OxmField.IPV6_DST];
    return [
      {
        table: t.classifier,
        priority: PRIORITY_BGP_PUNT,
        match: [oxm(OxmField.IN_PORT, port), vlanMatch(vlan), ...tcp, oxmBytes(src, ce.bytes), oxmBytes(dst, pe.bytes), oxm(OxmField.TCP_DST, BGP_PORT)],
        instructions: [apply(...(vlan ? [{ type: 'pop_vlan' } as Action] : []), { type: 'output', port: punt }), metadata],
      },
      {
        table: t.classifier,
        priority: PRIORITY_BGP_PUNT,
        match: [oxm(OxmField.IN_PORT, punt), ...tcp, oxmBytes(src, pe.bytes), oxmBytes(dst, ce.bytes), oxm(OxmField.TCP_SRC, BGP_PORT)],
        instructions: towardsCe(ctx, t, { interface: iface, vlan, address: s.ceAddress }, ce.family, [], BigInt(tableId)),
      },
    ];
  });
}

export function vrfFlows(v: VrfInstance, ctx: PipelineContext, t: PipelineTables): FlowSpec[] {
  if (v.tableId <= 0) fail(`VRF ${v.name} has no table id`);
  return v.interfaces.flatMap((i) => {
    const port = portOf(ctx, i.name);
    // No punt port (yet, or its setup failed: the driver reports that): the attachment's other flows still go in.
    const punt = i.bgpSessions.length ? ctx.puntPort?.(v.name, i.name, i.vlan) : undefined;
    const bgp = punt === undefined ? [] : bgpPuntFlows(v.tableId, port, punt, i.name, i.vlan, i.bgpSessions, ctx, t);
    const arp = i.addresses
      .map((a) => parseAddress(a.split('/')[0]!))
      .flatMap((a) => (!a ? [] : a.family === 4 ? arpFlows(v.tableId, port, i.vlan, macOf(ctx, i.name), a.bytes, t) : ndFlows(v.tableId, port, i.vlan, macOf(ctx, i.name), a.bytes, t)));
    return [
      {
        table: t.classifier,
        priority: PRIORITY_CE,
        match: [oxm(OxmField.IN_PORT, port), vlanMatch(i.vlan)],
        instructions: [
          ...(i.vlan ? [apply({ type: 'pop_vlan' })] : []),
          { type: 'write_metadata', metadata: BigInt(v.tableId), mask: METADATA_ALL },
          { type: 'goto_table', table: t.fib },
        ],
      },
      ...arp,
      ...bgp,
    ];
  });
}

/** Match fields and length of a prefix; customers reuse the same prefixes in many VRFs, so they are cached. */
const prefixCache = new Map<string, { match: Oxm[]; length: number; family: Family }>();

function prefixMatch(prefix: string): { match: Oxm[]; length: number; family: Family } {
  let m = prefixCache.get(prefix);
  if (!m) {
    if (prefixCache.size >= 65_536) prefixCache.clear();
    const p = parsePrefix(prefix);
    m = { match: buildPrefixMatch(prefix), length: p.length, family: p.family };
    prefixCache.set(prefix, m);
  }
  return m;
}

function buildPrefixMatch(prefix: string): Oxm[] {
  const p = parsePrefix(prefix);
  const v4 = p.family === 4;
  const ethType = oxm(OxmField.ETH_TYPE, v4 ? ETH_TYPE_IPV4 : ETH_TYPE_IPV6);
  if (p.length === 0) return [ethType];
  const field = v4 ? OxmField.IPV4_DST : OxmField.IPV6_DST;
  const full = v4 ? 32 : 128;
  if (p.length === full) return [ethType, oxmBytes(field, p.bytes)];
  const mask = new Uint8Array(p.bytes.length);
  for (let i = 0; i < p.length; i++) mask[i >> 3]! |= 0x80 >> (i & 7);
  return [ethType, oxmBytes(field, p.bytes, mask)];
}

/** What sends a packet to a remote PE: push its stack and out, or on to its SID's group. */
function towardsPe(ctx: PipelineContext, nh: RemotePeNextHop): Action[] {
  if (nh.externalTransport) fail('external transport (the node’s own LDP/SR) is not available on an OVS bridge');
  if (nh.labels.length === 0) fail('remote route without a label stack');
  const sid = nh.localSidLabel;
  return sid
    ? // As if the packet had come in with this node's label of the PE: the SID's group carries it (primary or backup).
      [...pushStack([sid, nh.labels.at(-1)!]), { type: 'group', group: sid }]
    : [...pushStack(nh.labels), { type: 'output', port: portOf(ctx, nh.outInterface) }];
}

/**
 * ECMP groups (VrfRoute.multipath) have ids of their own, above every
 * label (node-SID groups), so the two never meet: the driver gives each
 * ECMP route one in [ECMP_GROUP_FIRST, ECMP_GROUP_LAST].
 */
export const ECMP_GROUP_FIRST = 0x10000000;
export const ECMP_GROUP_LAST = 0x1fffffff;
export const isEcmpGroup = (id: number): boolean => id >= ECMP_GROUP_FIRST && id <= ECMP_GROUP_LAST;

/**
 * The select group of an ECMP route (OpenFlow 1.3.5 §5.6.1), or undefined
 * for a route with one next hop: one bucket of weight 1 per remote PE, in
 * the desired state's order, each pushing that PE's labels. The switch
 * picks a bucket per flow by a hash of the packet as it enters the group,
 * before any label is pushed (Open vSwitch: the IP 5-tuple), so one flow
 * stays on one PE and flows spread over all.
 */
export function routeGroup(r: VrfRoute, ctx: PipelineContext, id: number): GroupSpec | undefined {
  if (r.multipath.length === 0) return undefined;
  const nh = r.nextHop;
  if (nh?.$case !== 'remote') return fail(`route ${r.vrf} ${r.prefix} has ECMP members but no remote next hop`);
  const members = [nh.value, ...r.multipath];
  return {
    group: id,
    type: OFPGT_SELECT,
    buckets: members.map((m) => {
      if (m.externalTransport) fail('external transport (the node’s own LDP/SR) is not available on an OVS bridge');
      if (m.labels.length === 0) fail('remote route without a label stack');
      const port = portOf(ctx, m.outInterface);
      return { weight: 1, watchPort: port, actions: [...pushStack(m.labels), { type: 'output' as const, port }] };
    }),
  };
}

/** The route's fib flow; an ECMP route (see routeGroup) goes to its select group `ecmpGroup`. */
export function routeFlows(r: VrfRoute, ctx: PipelineContext, t: PipelineTables, ecmpGroup?: number): FlowSpec[] {
  const table = tableOf(ctx, r.vrf);
  const nh = r.nextHop ?? fail(`route ${r.vrf} ${r.prefix} has no next hop`);
  const { match, length, family } = prefixMatch(r.prefix);
  let instructions: Instruction[];
  if (nh.$case === 'local') instructions = towardsCe(ctx, t, nh.value, family);
  else if (r.multipath.length && ecmpGroup !== undefined) {
    // The buckets are checked here too, so a member that cannot be installed fails the route.
    routeGroup(r, ctx, ecmpGroup);
    instructions = [apply({ type: 'group', group: ecmpGroup })];
  } else instructions = [apply(...towardsPe(ctx, nh.value))];
  return [
    {
      table: t.fib,
      priority: PRIORITY_PREFIX_BASE + length,
      match: [oxm(OxmField.METADATA, BigInt(table)), ...match],
      instructions,
    },
  ];
}

const familyOf = (address: string): Family => (parseAddress(address)?.family === 6 ? 6 : 4);

/** Group ids the agent owns: those of node-SID entries, which are labels (20 bits). Others on the bridge are left alone. */
export const MAX_AGENT_GROUP = 0xfffff;

/** The top label replaced by a stack given outermost first: the innermost replaces it, the others are pushed over it. */
const replaceTop = (out: readonly number[]): Action[] => [setField(OxmField.MPLS_LABEL, out[out.length - 1]!), ...pushStack(out.slice(0, -1))];
const popTransport: Action = { type: 'pop_mpls', ethertype: ETH_TYPE_MPLS };

/**
 * The fast-failover group of a node-SID entry (swap, or PHP pop), or
 * undefined for other entries. A backup whose port is not on the bridge is
 * left out: it must not keep the primary from working.
 */
export function lfibGroup(e: LfibEntry, ctx: PipelineContext): GroupSpec | undefined {
  const a = e.action;
  if (a?.$case !== 'swap' && a?.$case !== 'pop') return undefined;
  if (a.$case === 'swap' && a.value.outLabels.length === 0) fail('swap without outgoing labels');
  const port = portOf(ctx, a.value.outInterface);
  const buckets = [{ watchPort: port, actions: [...(a.$case === 'swap' ? replaceTop(a.value.outLabels) : [popTransport]), { type: 'output' as const, port }] }];
  const b = a.value.backup;
  const backupPort = b ? ctx.port(b.outInterface) : undefined;
  if (b && backupPort !== undefined) {
    buckets.push({
      watchPort: backupPort,
      actions: [
        ...(b.outLabels.length ? replaceTop(b.outLabels) : [popTransport]),
        // A remote LFA may send the packet back out of the port it came in on (a ring).
        clearInPort(),
        { type: 'output', port: backupPort },
      ],
    });
  }
  return { group: e.inLabel, type: OFPGT_FF, buckets };
}

export function lfibFlows(e: LfibEntry, ctx: PipelineContext, t: PipelineTables): FlowSpec[] {
  const a = e.action ?? fail(`label ${e.inLabel} has no action`);
  const label = (bos?: 0 | 1): Oxm[] => [
    oxm(OxmField.ETH_TYPE, ETH_TYPE_MPLS),
    oxm(OxmField.MPLS_LABEL, e.inLabel),
    ...(bos === undefined ? [] : [oxm(OxmField.MPLS_BOS, bos)]),
  ];
  const flow = (match: Oxm[], instructions: Instruction[]): FlowSpec[] => [{ table: t.lfib, priority: PRIORITY_LABEL, match, instructions }];
  switch (a.$case) {
    case 'swap':
      // The group swaps (lfibGroup): primary, or the backup when the primary's port is not live.
      lfibGroup(e, ctx);
      return flow(label(), [apply({ type: 'group', group: e.inLabel })]);
    case 'pop':
      // Penultimate hop popping of a transport label over a VPN label (RFC 3031 §3.16); pipe TTL model, no copy out.
      lfibGroup(e, ctx);
      return flow(label(0), [apply({ type: 'group', group: e.inLabel })]);
    case 'popAndLookup':
      // OpenFlow cannot see the IP version under a label: the entry says it (a VRF's IPv6 label);
      // unspecified pops to IPv4, and IPv6 routes only such a label would deliver are refused (lookup-pops.ts).
      return flow(label(1), [
        apply({ type: 'pop_mpls', ethertype: a.value.family === LookupFamily.LOOKUP_FAMILY_IPV6 ? ETH_TYPE_IPV6 : ETH_TYPE_IPV4 }),
        { type: 'write_metadata', metadata: BigInt(tableOf(ctx, a.value.vrf)), mask: METADATA_ALL },
        { type: 'goto_table', table: t.fib },
      ]);
    case 'popAndForward': {
      const nh = a.value.nextHop ?? fail(`label ${e.inLabel} has no CE next hop`);
      const family = familyOf(nh.address);
      const pop: Action = { type: 'pop_mpls', ethertype: family === 6 ? ETH_TYPE_IPV6 : ETH_TYPE_IPV4 };
      return flow(label(1), towardsCe(ctx, t, nh, family, [pop], BigInt(tableOf(ctx, a.value.vrf))));
    }
  }
}

/** The key a flow of the agent's tables belongs to ("vrf:NAME", "route:VRF\0PREFIX", "label:N", "base"), or undefined for a flow it does not understand. */
export function flowOwner(f: FlowStats | FlowSpec, t: PipelineTables, vrfByTable: (id: number) => string): string | undefined {
  const field = (n: OxmField) => f.match.find((m) => m.field === n && m.cls === undefined);
  if (f.table === t.classifier || f.table === t.nd) {
    if (f.table === t.classifier && f.priority === PRIORITY_MPLS_DISPATCH) return 'base';
    const md = f.instructions.find((i) => i.type === 'write_metadata');
    return md?.type === 'write_metadata' ? `vrf:${vrfByTable(Number(md.metadata))}` : undefined;
  }
  if (f.table === t.lfib) {
    const l = field(OxmField.MPLS_LABEL);
    return l ? `label:${Number(bytesUint(l.value))}` : undefined;
  }
  if (f.table === t.fib) {
    if (f.priority === PRIORITY_FIB_GUARD) return 'base';
    const md = field(OxmField.METADATA);
    if (!md) return undefined;
    const vrf = vrfByTable(Number(bytesUint(md.value)));
    const dst = field(OxmField.IPV4_DST) ?? field(OxmField.IPV6_DST);
    const eth = field(OxmField.ETH_TYPE);
    const family: Family = dst ? (dst.value.length === 4 ? 4 : 6) : eth && Number(bytesUint(eth.value)) === ETH_TYPE_IPV6 ? 6 : 4;
    const length = f.priority - PRIORITY_PREFIX_BASE;
    const bytes = dst?.value ?? new Uint8Array(family === 4 ? 4 : 16);
    return `route:${vrfRouteKey({ vrf, prefix: `${formatAddress({ family, bytes })}/${length}` })}`;
  }
  return undefined;
}
