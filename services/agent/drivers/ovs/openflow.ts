// OpenFlow 1.3 wire format (OpenFlow Switch Specification 1.3.5), only the
// parts the ovs driver uses: HELLO, ERROR, ECHO, FEATURES, FLOW_MOD with OXM
// matches and instructions, GROUP_MOD, BARRIER, MULTIPART flow stats, group
// and port descriptions, and the ONF bundle extension (EXT-230, the 1.4 bundles
// carried as experimenter messages on 1.3). Pure: bytes in, bytes out.

export const OFP_VERSION = 0x04;

/** §7.1 ofp_type. */
export const enum MsgType {
  HELLO = 0,
  ERROR = 1,
  ECHO_REQUEST = 2,
  ECHO_REPLY = 3,
  EXPERIMENTER = 4,
  FEATURES_REQUEST = 5,
  FEATURES_REPLY = 6,
  SET_CONFIG = 9,
  PACKET_IN = 10,
  PORT_STATUS = 12,
  PACKET_OUT = 13,
  FLOW_MOD = 14,
  GROUP_MOD = 15,
  MULTIPART_REQUEST = 18,
  MULTIPART_REPLY = 19,
  BARRIER_REQUEST = 20,
  BARRIER_REPLY = 21,
}

/** §7.3.4.1 ofp_flow_mod_command. */
export const enum FlowModCommand {
  ADD = 0,
  MODIFY = 1,
  MODIFY_STRICT = 2,
  DELETE = 3,
  DELETE_STRICT = 4,
}

export const enum MultipartType {
  FLOW = 1,
  GROUP_DESC = 7,
  PORT_DESC = 13,
}

/** §7.3.4.2 ofp_group_mod_command. */
export const enum GroupModCommand {
  ADD = 0,
  MODIFY = 1,
  DELETE = 2,
}

/** §7.3.4.2 ofp_group_type: fast failover, the first live bucket (§5.6.1). */
/** §7.3.4.2 group types: select (one bucket per flow, ECMP) and fast failover. */
export const OFPGT_SELECT = 1;
export const OFPGT_FF = 3;

export const OFPP_ANY = 0xffffffff;
export const OFPP_IN_PORT = 0xfffffff8;
export const OFPP_CONTROLLER = 0xfffffffd;
export const OFPG_ANY = 0xffffffff;
export const OFPTT_ALL = 0xff;
export const OFP_NO_BUFFER = 0xffffffff;
export const OFPVID_PRESENT = 0x1000;
export const OFPVID_NONE = 0x0000;
const OFPMPF_REPLY_MORE = 1;

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_IPV6 = 0x86dd;
export const ETH_TYPE_MPLS = 0x8847;
export const ETH_TYPE_VLAN = 0x8100;
export const ETH_TYPE_ARP = 0x0806;
export const IP_PROTO_ICMPV6 = 58;
export const IP_PROTO_TCP = 6;

// ONF extension EXT-230: bundles on OpenFlow 1.3.
const ONF_EXPERIMENTER = 0x4f4e4600;
const ONFT_BUNDLE_CONTROL = 2300;
const ONFT_BUNDLE_ADD_MESSAGE = 2301;
export const enum BundleCtrl {
  OPEN_REQUEST = 0,
  OPEN_REPLY = 1,
  CLOSE_REQUEST = 2,
  CLOSE_REPLY = 3,
  COMMIT_REQUEST = 4,
  COMMIT_REPLY = 5,
  DISCARD_REQUEST = 6,
  DISCARD_REPLY = 7,
}
export const BUNDLE_ATOMIC = 1;
export const BUNDLE_ORDERED = 2;

// ---- OXM (§7.2.3) ----

/** OFPXMT_OFB_* field numbers of the OPENFLOW_BASIC class used here. */
export const enum OxmField {
  IN_PORT = 0,
  METADATA = 2,
  ETH_DST = 3,
  ETH_SRC = 4,
  ETH_TYPE = 5,
  VLAN_VID = 6,
  IP_PROTO = 10,
  IPV4_SRC = 11,
  IPV4_DST = 12,
  TCP_SRC = 13,
  TCP_DST = 14,
  UDP_DST = 16,
  ARP_OP = 21,
  ARP_SPA = 22,
  ARP_TPA = 23,
  ARP_SHA = 24,
  IPV6_SRC = 26,
  IPV6_DST = 27,
  ICMPV6_TYPE = 29,
  ICMPV6_CODE = 30,
  IPV6_ND_TARGET = 31,
  IPV6_ND_SLL = 32,
  IPV6_ND_TLL = 33,
  MPLS_LABEL = 34,
  MPLS_BOS = 36,
}
const OFPXMC_OPENFLOW_BASIC = 0x8000;
const OXM_SIZE: Record<number, number> = {
  [OxmField.IN_PORT]: 4,
  [OxmField.METADATA]: 8,
  [OxmField.ETH_DST]: 6,
  [OxmField.ETH_SRC]: 6,
  [OxmField.ETH_TYPE]: 2,
  [OxmField.VLAN_VID]: 2,
  [OxmField.IP_PROTO]: 1,
  [OxmField.IPV4_SRC]: 4,
  [OxmField.IPV4_DST]: 4,
  [OxmField.TCP_SRC]: 2,
  [OxmField.TCP_DST]: 2,
  [OxmField.UDP_DST]: 2,
  [OxmField.ARP_OP]: 2,
  [OxmField.ARP_SPA]: 4,
  [OxmField.ARP_TPA]: 4,
  [OxmField.ARP_SHA]: 6,
  [OxmField.IPV6_SRC]: 16,
  [OxmField.IPV6_DST]: 16,
  [OxmField.ICMPV6_TYPE]: 1,
  [OxmField.ICMPV6_CODE]: 1,
  [OxmField.IPV6_ND_TARGET]: 16,
  [OxmField.IPV6_ND_SLL]: 6,
  [OxmField.IPV6_ND_TLL]: 6,
  [OxmField.MPLS_LABEL]: 4,
  [OxmField.MPLS_BOS]: 1,
};

/** One match field: value and optional mask as big-endian bytes. */
export interface Oxm {
  field: number;
  /** OXM class; OPENFLOW_BASIC unless decoded otherwise. */
  cls?: number;
  value: Uint8Array;
  mask?: Uint8Array;
}

export function uintBytes(value: number | bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  if (typeof value === 'number' && size <= 4) {
    for (let i = size - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
    return out;
  }
  let v = BigInt(value);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function bytesUint(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export const oxm = (field: OxmField, value: number | bigint, mask?: number | bigint): Oxm => {
  const size = OXM_SIZE[field]!;
  return mask === undefined ? { field, value: uintBytes(value, size) } : { field, value: uintBytes(value, size), mask: uintBytes(mask, size) };
};

export const oxmBytes = (field: OxmField, value: Uint8Array, mask?: Uint8Array): Oxm => (mask ? { field, value, mask } : { field, value });

function encodeOxm(w: Writer, f: Oxm): void {
  const len = f.value.length + (f.mask?.length ?? 0);
  w.u16(f.cls ?? OFPXMC_OPENFLOW_BASIC);
  w.u8((f.field << 1) | (f.mask ? 1 : 0));
  w.u8(len);
  w.bytes(f.value);
  if (f.mask) w.bytes(f.mask);
}

/** §7.2.2 ofp_match (type OXM), padded to 8 bytes. */
function encodeMatch(w: Writer, fields: readonly Oxm[]): void {
  const start = w.length;
  w.u16(1); // OFPMT_OXM
  const lenAt = w.reserve(2);
  for (const f of fields) encodeOxm(w, f);
  w.setU16(lenAt, w.length - start);
  w.pad8(start);
}

function decodeMatch(r: Reader): Oxm[] {
  const start = r.offset;
  r.u16(); // type
  const length = r.u16();
  const out: Oxm[] = [];
  while (r.offset < start + length) {
    const cls = r.u16();
    const fh = r.u8();
    const len = r.u8();
    const hasMask = (fh & 1) === 1;
    const body = r.bytes(len);
    const half = hasMask ? len / 2 : len;
    const f: Oxm = { field: fh >> 1, value: body.slice(0, half) };
    if (cls !== OFPXMC_OPENFLOW_BASIC) f.cls = cls;
    if (hasMask) f.mask = body.slice(half);
    out.push(f);
  }
  r.offset = start + ((length + 7) & ~7);
  return out;
}

// ---- Actions (§7.2.5) and instructions (§7.2.4) ----

export type Action =
  | { type: 'output'; port: number }
  | { type: 'push_vlan'; ethertype: number }
  | { type: 'pop_vlan' }
  | { type: 'push_mpls'; ethertype: number }
  | { type: 'pop_mpls'; ethertype: number }
  | { type: 'set_field'; field: Oxm }
  | { type: 'group'; group: number }
  | { type: 'other'; code: number; body: Uint8Array };

export type Instruction =
  | { type: 'goto_table'; table: number }
  | { type: 'write_metadata'; metadata: bigint; mask: bigint }
  | { type: 'apply_actions'; actions: Action[] }
  | { type: 'other'; code: number; body: Uint8Array };

const enum ActionCode {
  OUTPUT = 0,
  PUSH_VLAN = 17,
  POP_VLAN = 18,
  PUSH_MPLS = 19,
  POP_MPLS = 20,
  GROUP = 22,
  SET_FIELD = 25,
}

const enum InstructionCode {
  GOTO_TABLE = 1,
  WRITE_METADATA = 2,
  APPLY_ACTIONS = 4,
}

const OFPCML_NO_BUFFER = 0xffff;

function encodeAction(w: Writer, a: Action): void {
  const start = w.length;
  switch (a.type) {
    case 'output':
      w.u16(ActionCode.OUTPUT).u16(16).u32(a.port).u16(OFPCML_NO_BUFFER).zeros(6);
      return;
    case 'push_vlan':
    case 'push_mpls':
    case 'pop_mpls':
      w.u16(a.type === 'push_vlan' ? ActionCode.PUSH_VLAN : a.type === 'push_mpls' ? ActionCode.PUSH_MPLS : ActionCode.POP_MPLS).u16(8).u16(a.ethertype).zeros(2);
      return;
    case 'pop_vlan':
      w.u16(ActionCode.POP_VLAN).u16(8).zeros(4);
      return;
    case 'group':
      w.u16(ActionCode.GROUP).u16(8).u32(a.group);
      return;
    case 'set_field': {
      w.u16(ActionCode.SET_FIELD);
      const lenAt = w.reserve(2);
      encodeOxm(w, a.field);
      w.pad8(start);
      w.setU16(lenAt, w.length - start);
      return;
    }
    case 'other':
      w.u16(a.code).u16(4 + a.body.length).bytes(a.body);
      return;
  }
}

function decodeAction(r: Reader): Action {
  const start = r.offset;
  const code = r.u16();
  const len = r.u16();
  const end = start + len;
  let a: Action;
  switch (code) {
    case ActionCode.OUTPUT:
      a = { type: 'output', port: r.u32() };
      break;
    case ActionCode.PUSH_VLAN:
      a = { type: 'push_vlan', ethertype: r.u16() };
      break;
    case ActionCode.POP_VLAN:
      a = { type: 'pop_vlan' };
      break;
    case ActionCode.PUSH_MPLS:
      a = { type: 'push_mpls', ethertype: r.u16() };
      break;
    case ActionCode.POP_MPLS:
      a = { type: 'pop_mpls', ethertype: r.u16() };
      break;
    case ActionCode.GROUP:
      a = { type: 'group', group: r.u32() };
      break;
    case ActionCode.SET_FIELD: {
      const cls = r.u16();
      const fh = r.u8();
      const flen = r.u8();
      const field: Oxm = { field: fh >> 1, value: r.bytes(flen) };
      if (cls !== OFPXMC_OPENFLOW_BASIC) field.cls = cls;
      a = { type: 'set_field', field };
      break;
    }
    default:
      a = { type: 'other', code, body: r.bytes(len - 4) };
  }
  r.offset = end;
  return a;
}

function encodeInstruction(w: Writer, i: Instruction): void {
  switch (i.type) {
    case 'goto_table':
      w.u16(InstructionCode.GOTO_TABLE).u16(8).u8(i.table).zeros(3);
      return;
    case 'write_metadata':
      w.u16(InstructionCode.WRITE_METADATA).u16(24).zeros(4).u64(i.metadata).u64(i.mask);
      return;
    case 'apply_actions': {
      const start = w.length;
      w.u16(InstructionCode.APPLY_ACTIONS);
      const lenAt = w.reserve(2);
      w.zeros(4);
      for (const a of i.actions) encodeAction(w, a);
      w.setU16(lenAt, w.length - start);
      return;
    }
    case 'other':
      w.u16(i.code).u16(4 + i.body.length).bytes(i.body);
      return;
  }
}

function decodeInstruction(r: Reader): Instruction {
  const start = r.offset;
  const code = r.u16();
  const len = r.u16();
  const end = start + len;
  let i: Instruction;
  switch (code) {
    case InstructionCode.GOTO_TABLE:
      i = { type: 'goto_table', table: r.u8() };
      break;
    case InstructionCode.WRITE_METADATA:
      r.skip(4);
      i = { type: 'write_metadata', metadata: r.u64(), mask: r.u64() };
      break;
    case InstructionCode.APPLY_ACTIONS: {
      r.skip(4);
      const actions: Action[] = [];
      while (r.offset < end) actions.push(decodeAction(r));
      i = { type: 'apply_actions', actions };
      break;
    }
    default:
      i = { type: 'other', code, body: r.bytes(len - 4) };
  }
  r.offset = end;
  return i;
}

// ---- Messages ----

export interface Header {
  version: number;
  type: number;
  length: number;
  xid: number;
}

export interface FlowMod {
  cookie: bigint;
  cookieMask: bigint;
  table: number;
  command: FlowModCommand;
  priority: number;
  match: Oxm[];
  instructions: Instruction[];
  outPort?: number;
  outGroup?: number;
}

export interface FlowStats {
  table: number;
  priority: number;
  cookie: bigint;
  packets: bigint;
  bytes: bigint;
  match: Oxm[];
  instructions: Instruction[];
}

export interface PortDesc {
  port: number;
  name: string;
  /** The port's Ethernet address (6 bytes). */
  mac: Uint8Array;
  /** §7.2.1 OFPPC_PORT_DOWN: administratively down. */
  adminDown: boolean;
  /** §7.2.1 OFPPS_LINK_DOWN: no physical link present. */
  linkDown: boolean;
}

const OFPPC_PORT_DOWN = 1;
const OFPPS_LINK_DOWN = 1;

/** §7.4.3 ofp_port_reason. */
export const enum PortReason {
  ADD = 0,
  DELETE = 1,
  MODIFY = 2,
}


export interface OfError {
  type: number;
  code: number;
  /** The start of the offending message (at least its header). */
  data: Uint8Array;
}

function message(type: MsgType, xid: number, body: (w: Writer) => void): Uint8Array {
  const w = new Writer();
  w.u8(OFP_VERSION).u8(type);
  const lenAt = w.reserve(2);
  w.u32(xid);
  body(w);
  w.setU16(lenAt, w.length);
  return w.finish();
}

export const hello = (xid: number) => message(MsgType.HELLO, xid, () => undefined);
export const echoReply = (xid: number, data: Uint8Array) => message(MsgType.ECHO_REPLY, xid, (w) => w.bytes(data));
export const featuresRequest = (xid: number) => message(MsgType.FEATURES_REQUEST, xid, () => undefined);
export const barrierRequest = (xid: number) => message(MsgType.BARRIER_REQUEST, xid, () => undefined);

/** §7.3.7 ofp_packet_out of a frame built by the controller. */
export function packetOut(xid: number, actions: readonly Action[], data: Uint8Array): Uint8Array {
  return message(MsgType.PACKET_OUT, xid, (w) => {
    w.u32(OFP_NO_BUFFER).u32(OFPP_CONTROLLER);
    const lenAt = w.reserve(2);
    w.zeros(6);
    const start = w.length;
    for (const a of actions) encodeAction(w, a);
    w.setU16(lenAt, w.length - start);
    w.bytes(data);
  });
}

/** §7.3.4.1 ofp_flow_mod. */
export function flowMod(xid: number, f: FlowMod): Uint8Array {
  return message(MsgType.FLOW_MOD, xid, (w) => {
    w.u64(f.cookie).u64(f.cookieMask).u8(f.table).u8(f.command);
    w.u16(0).u16(0); // idle and hard timeouts: never expire
    w.u16(f.priority).u32(OFP_NO_BUFFER).u32(f.outPort ?? OFPP_ANY).u32(f.outGroup ?? OFPG_ANY);
    w.u16(0).zeros(2); // flags, pad
    encodeMatch(w, f.match);
    for (const i of f.instructions) encodeInstruction(w, i);
  });
}

/** One bucket of a group (§7.3.4.2 ofp_bucket): a fast-failover bucket is live while its watch port is (§5.6.1, §6.5). */
export interface Bucket {
  watchPort: number;
  actions: Action[];
  /** Share of a select group's traffic (§5.6.1); absent: 0, as fast-failover buckets carry it. */
  weight?: number;
}

export interface GroupSpec {
  group: number;
  type: number;
  buckets: Bucket[];
}

function encodeBuckets(w: Writer, buckets: readonly Bucket[]): void {
  for (const b of buckets) {
    const start = w.length;
    const lenAt = w.reserve(2);
    w.u16(b.weight ?? 0).u32(b.watchPort).u32(OFPG_ANY).zeros(4); // weight (select groups only), watch port, watch group, pad
    for (const a of b.actions) encodeAction(w, a);
    w.setU16(lenAt, w.length - start);
  }
}

function decodeBuckets(r: Reader, end: number): Bucket[] {
  const out: Bucket[] = [];
  while (r.offset < end) {
    const start = r.offset;
    const len = r.u16();
    const weight = r.u16();
    const watchPort = r.u32();
    r.skip(4 + 4);
    const actions: Action[] = [];
    while (r.offset < start + len) actions.push(decodeAction(r));
    out.push(weight ? { watchPort, actions, weight } : { watchPort, actions });
    r.offset = start + len;
  }
  return out;
}

/** §7.3.4.2 ofp_group_mod. A DELETE needs only the group id (and removes the flows that use the group, §6.5). */
export function groupMod(xid: number, command: GroupModCommand, g: GroupSpec): Uint8Array {
  return message(MsgType.GROUP_MOD, xid, (w) => {
    w.u16(command).u8(g.type).zeros(1).u32(g.group);
    if (command !== GroupModCommand.DELETE) encodeBuckets(w, g.buckets);
  });
}

/** §7.3.5.8 group description request: every group of the switch. */
export function groupDescRequest(xid: number): Uint8Array {
  return message(MsgType.MULTIPART_REQUEST, xid, (w) => w.u16(MultipartType.GROUP_DESC).u16(0).zeros(4));
}

/** §7.3.5.8 ofp_group_desc entries of a group description reply body. */
export function decodeGroupDescs(body: Uint8Array): GroupSpec[] {
  const out: GroupSpec[] = [];
  const r = new Reader(body, 0);
  while (r.offset + 8 <= body.length) {
    const start = r.offset;
    const length = r.u16();
    const type = r.u8();
    r.skip(1);
    const group = r.u32();
    out.push({ group, type, buckets: decodeBuckets(r, start + length) });
    r.offset = start + length;
  }
  return out;
}

/** Canonical text of a group, to compare desired and installed groups. */
export function groupText(g: GroupSpec): string {
  const w = new Writer();
  encodeBuckets(w, g.buckets);
  return `${g.group}|${g.type}|${Buffer.from(w.finish()).toString('hex')}`;
}

/** §7.3.5.2 individual flow statistics request, filtered by cookie. */
export function flowStatsRequest(xid: number, cookie: bigint, cookieMask: bigint, table = OFPTT_ALL): Uint8Array {
  return message(MsgType.MULTIPART_REQUEST, xid, (w) => {
    w.u16(MultipartType.FLOW).u16(0).zeros(4);
    w.u8(table).zeros(3).u32(OFPP_ANY).u32(OFPG_ANY).zeros(4).u64(cookie).u64(cookieMask);
    encodeMatch(w, []);
  });
}

export function portDescRequest(xid: number): Uint8Array {
  return message(MsgType.MULTIPART_REQUEST, xid, (w) => w.u16(MultipartType.PORT_DESC).u16(0).zeros(4));
}

export function bundleControl(xid: number, bundleId: number, type: BundleCtrl, flags: number): Uint8Array {
  return message(MsgType.EXPERIMENTER, xid, (w) => w.u32(ONF_EXPERIMENTER).u32(ONFT_BUNDLE_CONTROL).u32(bundleId).u16(type).u16(flags));
}

/** The inner message carries the same xid as the bundle add message (OpenFlow 1.4 §7.3.9.6). */
export function bundleAdd(xid: number, bundleId: number, flags: number, inner: Uint8Array): Uint8Array {
  return message(MsgType.EXPERIMENTER, xid, (w) => {
    w.u32(ONF_EXPERIMENTER).u32(ONFT_BUNDLE_ADD_MESSAGE).u32(bundleId).u16(0).u16(flags).bytes(inner);
  });
}

export function decodeHeader(b: Uint8Array): Header {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { version: v.getUint8(0), type: v.getUint8(1), length: v.getUint16(2), xid: v.getUint32(4) };
}

export function decodeError(msg: Uint8Array): OfError {
  const r = new Reader(msg, 8);
  return { type: r.u16(), code: r.u16(), data: msg.slice(12) };
}

export function decodeFeatures(msg: Uint8Array): { datapathId: bigint; tables: number } {
  const r = new Reader(msg, 8);
  const datapathId = r.u64();
  r.skip(4);
  return { datapathId, tables: r.u8() };
}

/** A MULTIPART_REPLY: its type, whether more parts follow, and its body. */
export function decodeMultipart(msg: Uint8Array): { type: number; more: boolean; body: Uint8Array } {
  const r = new Reader(msg, 8);
  const type = r.u16();
  const flags = r.u16();
  return { type, more: (flags & OFPMPF_REPLY_MORE) !== 0, body: msg.subarray(16) };
}

/** §7.3.5.2 ofp_flow_stats entries of a flow stats reply body. */
export function decodeFlowStats(body: Uint8Array): FlowStats[] {
  const out: FlowStats[] = [];
  forEachFlowStats(body, (f) => out.push(f));
  return out;
}

/** Each flow of a flow stats reply body, with the bytes of its entry (a view into `body`). */
export function forEachFlowStats(body: Uint8Array, fn: (flow: FlowStats, entry: Uint8Array) => void): void {
  const r = new Reader(body, 0);
  while (r.offset < body.length) {
    const start = r.offset;
    const length = r.u16();
    const table = r.u8();
    r.skip(1 + 4 + 4); // pad, duration
    const priority = r.u16();
    r.skip(2 + 2 + 2 + 4); // idle, hard, flags, pad
    const cookie = r.u64();
    const packets = r.u64();
    const bytes = r.u64();
    const match = decodeMatch(r);
    const instructions: Instruction[] = [];
    while (r.offset < start + length) instructions.push(decodeInstruction(r));
    fn({ table, priority, cookie, packets, bytes, match, instructions }, body.subarray(start, start + length));
    r.offset = start + length;
  }
}

/** §7.2.1 ofp_port entries of a port description reply body. */
export function decodePortDescs(body: Uint8Array): PortDesc[] {
  const out: PortDesc[] = [];
  for (let o = 0; o + 64 <= body.length; o += 64) {
    const r = new Reader(body, o);
    const port = r.u32();
    r.skip(4);
    const mac = r.bytes(6);
    r.skip(2);
    const nameBytes = r.bytes(16);
    const nul = nameBytes.indexOf(0);
    const config = r.u32();
    const state = r.u32();
    out.push({
      port,
      mac,
      name: Buffer.from(nameBytes.subarray(0, nul < 0 ? 16 : nul)).toString('latin1'),
      adminDown: (config & OFPPC_PORT_DOWN) !== 0,
      linkDown: (state & OFPPS_LINK_DOWN) !== 0,
    });
  }
  return out;
}

/** §7.4.3 an OFPT_PORT_STATUS message: why, and the port as it is now. */
export function decodePortStatus(msg: Uint8Array): { reason: PortReason; port: PortDesc } | undefined {
  if (msg.length < 16 + 64) return undefined;
  const port = decodePortDescs(msg.subarray(16, 16 + 64))[0];
  return port ? { reason: msg[8]! as PortReason, port } : undefined;
}

/** §7.4.1 an OFPT_PACKET_IN: the port it came in on (from its match) and the frame. */
export function decodePacketIn(msg: Uint8Array): { inPort: number | undefined; cookie: bigint; frame: Uint8Array } | undefined {
  if (msg.length < 32) return undefined;
  const r = new Reader(msg, 8);
  r.skip(4 + 2 + 1 + 1); // buffer id, total length, reason, table
  const cookie = r.u64();
  const match = decodeMatch(r);
  r.skip(2);
  const inPort = match.find((m) => m.cls === undefined && m.field === OxmField.IN_PORT);
  return { inPort: inPort ? Number(bytesUint(inPort.value)) : undefined, cookie, frame: msg.subarray(r.offset) };
}

/**
 * §7.3.2 OFPT_SET_CONFIG. A service connection (the bridge's .mgmt socket)
 * gets no asynchronous messages (PACKET_IN, PORT_STATUS) until it sets a
 * nonzero miss_send_len (Open vSwitch's connmgr).
 */
export function setConfig(xid: number, missSendLen = 0xffff): Uint8Array {
  return message(MsgType.SET_CONFIG, xid, (w) => w.u16(0).u16(missSendLen));
}

/** Canonical text of a flow's match (fields sorted) and instructions, to compare desired and installed flows. */
export function flowText(f: { table: number; priority: number; match: readonly Oxm[]; instructions?: readonly Instruction[] }, withInstructions = true): string {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const m = f.match
    .map((x) => `${x.cls ?? OFPXMC_OPENFLOW_BASIC}.${x.field}=${hex(x.value)}${x.mask ? `/${hex(x.mask)}` : ''}`)
    .sort()
    .join(',');
  const head = `${f.table}|${f.priority}|${m}`;
  if (!withInstructions) return head;
  const w = new Writer();
  for (const i of f.instructions ?? []) encodeInstruction(w, i);
  return `${head}|${hex(w.finish())}`;
}

// ---- Byte helpers ----

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): this {
    this.ensure(1);
    this.view.setUint8(this.length++, v);
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.length, v);
    this.length += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
    return this;
  }
  u64(v: bigint): this {
    this.ensure(8);
    this.view.setBigUint64(this.length, v);
    this.length += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }
  reserve(n: number): number {
    const at = this.length;
    this.zeros(n);
    return at;
  }
  setU16(at: number, v: number): void {
    this.view.setUint16(at, v);
  }
  /** Zero-pads so that the length since `start` is a multiple of 8. */
  pad8(start: number): void {
    const rem = (this.length - start) % 8;
    if (rem) this.zeros(8 - rem);
  }
  /** The bytes written; the writer must not be used afterwards. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

class Reader {
  private readonly view: DataView;
  constructor(
    private readonly b: Uint8Array,
    public offset: number,
  ) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  u8(): number {
    return this.view.getUint8(this.offset++);
  }
  u16(): number {
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }
  u64(): bigint {
    const v = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    const v = this.b.slice(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  skip(n: number): void {
    this.offset += n;
  }
}
