// How desired-state entries become OpenFlow 1.3 flows on one OVS bridge, and
// which entry an installed flow belongs to. Pure.
//
// Tables (all flows carry the agent's cookie; goto_table only jumps
// forward, so the label table comes before the VRF FIB, DATAPLANE.md):
//   classifier  CE port + VLAN -> pop the tag, metadata := VRF table id, goto fib;
//               MPLS (any port) -> goto lfib
//   lfib        mpls_label [+ mpls_bos] -> swap / PHP pop / pop and look up / pop to a CE
//   fib         metadata = VRF table id + IP destination prefix -> push labels or send to a CE
// A VRF is a metadata value in the shared fib table, not a table of its
// own: OpenFlow has 254 tables and a node must hold 10,000 VRFs.
import type { LfibEntry, VrfInstance, VrfRoute } from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { vrfRouteKey } from '../../../common/desired-state/index.js';
import { formatAddress, parseAddress, parsePrefix, type Family } from '../../../common/desired-state/prefix.js';
import {
  type Action,
  bytesUint,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  ETH_TYPE_MPLS,
  ETH_TYPE_VLAN,
  type FlowStats,
  type Instruction,
  type Oxm,
  oxm,
  oxmBytes,
  OxmField,
  OFPVID_NONE,
  OFPVID_PRESENT,
} from './openflow.js';

export interface PipelineTables {
  classifier: number;
  lfib: number;
  fib: number;
}

export const DEFAULT_TABLES: PipelineTables = { classifier: 0, lfib: 1, fib: 2 };

/** Every flow of the agent carries this cookie ("L3" in the top 16 bits); nothing else is touched. */
export const AGENT_COOKIE = 0x4c33n << 48n;
export const AGENT_COOKIE_MASK = 0xffffn << 48n;

const PRIORITY_MPLS_DISPATCH = 10;
const PRIORITY_CE = 100;
const PRIORITY_LABEL = 100;
/** fib: 1000 + prefix length, so the longest prefix wins (IPv4 and IPv6 are apart by eth_type). */
const PRIORITY_PREFIX_BASE = 1000;
const METADATA_ALL = (1n << 64n) - 1n;

export interface FlowSpec {
  table: number;
  priority: number;
  match: Oxm[];
  instructions: Instruction[];
}

/** What a flow needs from outside the entry: port numbers and VRF table ids. */
export interface PipelineContext {
  port(name: string): number | undefined;
  vrfTable(name: string): number | undefined;
}

/** An entry that cannot be expressed on this bridge; the message is the driver's reason. */
export class PipelineError extends Error {}

const fail = (reason: string): never => {
  throw new PipelineError(reason);
};

function portOf(ctx: PipelineContext, name: string): number {
  return ctx.port(name) ?? fail(`no port ${name} on the bridge`);
}

function tableOf(ctx: PipelineContext, vrf: string): number {
  return ctx.vrfTable(vrf) ?? fail(`no VRF ${vrf}`);
}

const vlanMatch = (vlan: number) => oxm(OxmField.VLAN_VID, vlan ? OFPVID_PRESENT | vlan : OFPVID_NONE);
const apply = (...actions: Action[]): Instruction => ({ type: 'apply_actions', actions });
const setField = (field: OxmField, value: number): Action => ({ type: 'set_field', field: oxm(field, value) });

/** Actions that send a frame out of a CE port, tagged when the attachment has a VLAN. */
function toCe(port: number, vlan: number): Action[] {
  const tag: Action[] = vlan ? [{ type: 'push_vlan', ethertype: ETH_TYPE_VLAN }, setField(OxmField.VLAN_VID, OFPVID_PRESENT | vlan)] : [];
  return [...tag, { type: 'output', port }];
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

export function baseFlows(t: PipelineTables): FlowSpec[] {
  return [{ table: t.classifier, priority: PRIORITY_MPLS_DISPATCH, match: [oxm(OxmField.ETH_TYPE, ETH_TYPE_MPLS)], instructions: [{ type: 'goto_table', table: t.lfib }] }];
}

export function vrfFlows(v: VrfInstance, ctx: PipelineContext, t: PipelineTables): FlowSpec[] {
  if (v.tableId <= 0) fail(`VRF ${v.name} has no table id`);
  return v.interfaces.map((i) => ({
    table: t.classifier,
    priority: PRIORITY_CE,
    match: [oxm(OxmField.IN_PORT, portOf(ctx, i.name)), vlanMatch(i.vlan)],
    instructions: [
      ...(i.vlan ? [apply({ type: 'pop_vlan' })] : []),
      { type: 'write_metadata', metadata: BigInt(v.tableId), mask: METADATA_ALL },
      { type: 'goto_table', table: t.fib },
    ],
  }));
}

/** Match fields and length of a prefix; customers reuse the same prefixes in many VRFs, so they are cached. */
const prefixCache = new Map<string, { match: Oxm[]; length: number }>();

function prefixMatch(prefix: string): { match: Oxm[]; length: number } {
  let m = prefixCache.get(prefix);
  if (!m) {
    if (prefixCache.size >= 65_536) prefixCache.clear();
    m = { match: buildPrefixMatch(prefix), length: parsePrefix(prefix).length };
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

export function routeFlows(r: VrfRoute, ctx: PipelineContext, t: PipelineTables): FlowSpec[] {
  const table = tableOf(ctx, r.vrf);
  const nh = r.nextHop ?? fail(`route ${r.vrf} ${r.prefix} has no next hop`);
  let actions: Action[];
  if (nh.$case === 'local') actions = toCe(portOf(ctx, nh.value.interface), nh.value.vlan);
  else {
    if (nh.value.externalTransport) fail('external transport (the node’s own LDP/SR) is not available on an OVS bridge');
    if (nh.value.labels.length === 0) fail('remote route without a label stack');
    actions = [...pushStack(nh.value.labels), { type: 'output', port: portOf(ctx, nh.value.outInterface) }];
  }
  const { match, length } = prefixMatch(r.prefix);
  return [
    {
      table: t.fib,
      priority: PRIORITY_PREFIX_BASE + length,
      match: [oxm(OxmField.METADATA, BigInt(table)), ...match],
      instructions: [apply(...actions)],
    },
  ];
}

const familyEthType = (address: string): number => (parseAddress(address)?.family === 6 ? ETH_TYPE_IPV6 : ETH_TYPE_IPV4);

export function lfibFlows(e: LfibEntry, ctx: PipelineContext, t: PipelineTables): FlowSpec[] {
  const a = e.action ?? fail(`label ${e.inLabel} has no action`);
  const label = (bos?: 0 | 1): Oxm[] => [
    oxm(OxmField.ETH_TYPE, ETH_TYPE_MPLS),
    oxm(OxmField.MPLS_LABEL, e.inLabel),
    ...(bos === undefined ? [] : [oxm(OxmField.MPLS_BOS, bos)]),
  ];
  const flow = (match: Oxm[], instructions: Instruction[]): FlowSpec[] => [{ table: t.lfib, priority: PRIORITY_LABEL, match, instructions }];
  switch (a.$case) {
    case 'swap': {
      const out = a.value.outLabels;
      if (out.length === 0) fail('swap without outgoing labels');
      // The innermost outgoing label replaces the top one; any others are pushed over it.
      const actions: Action[] = [setField(OxmField.MPLS_LABEL, out[out.length - 1]!), ...pushStack(out.slice(0, -1)), { type: 'output', port: portOf(ctx, a.value.outInterface) }];
      return flow(label(), [apply(...actions)]);
    }
    case 'pop':
      // Penultimate hop popping of a transport label over a VPN label (RFC 3031 §3.16); pipe TTL model, no copy out.
      return flow(label(0), [apply({ type: 'pop_mpls', ethertype: ETH_TYPE_MPLS }, { type: 'output', port: portOf(ctx, a.value.outInterface) })]);
    case 'popAndLookup':
      // OpenFlow cannot see the IP version under a label: a per-VRF label pops to IPv4 here.
      return flow(label(1), [
        apply({ type: 'pop_mpls', ethertype: ETH_TYPE_IPV4 }),
        { type: 'write_metadata', metadata: BigInt(tableOf(ctx, a.value.vrf)), mask: METADATA_ALL },
        { type: 'goto_table', table: t.fib },
      ]);
    case 'popAndForward': {
      const nh = a.value.nextHop ?? fail(`label ${e.inLabel} has no CE next hop`);
      tableOf(ctx, a.value.vrf);
      return flow(label(1), [apply({ type: 'pop_mpls', ethertype: familyEthType(nh.address) }, ...toCe(portOf(ctx, nh.interface), nh.vlan))]);
    }
  }
}

/** The key a flow of the agent's tables belongs to ("vrf:NAME", "route:VRF\0PREFIX", "label:N", "base"), or undefined for a flow it does not understand. */
export function flowOwner(f: FlowStats | FlowSpec, t: PipelineTables, vrfByTable: (id: number) => string): string | undefined {
  const field = (n: OxmField) => f.match.find((m) => m.field === n && m.cls === undefined);
  if (f.table === t.classifier) {
    if (f.priority === PRIORITY_MPLS_DISPATCH) return 'base';
    const md = f.instructions.find((i) => i.type === 'write_metadata');
    return md?.type === 'write_metadata' ? `vrf:${vrfByTable(Number(md.metadata))}` : undefined;
  }
  if (f.table === t.lfib) {
    const l = field(OxmField.MPLS_LABEL);
    return l ? `label:${Number(bytesUint(l.value))}` : undefined;
  }
  if (f.table === t.fib) {
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
