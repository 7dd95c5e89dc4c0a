// The ovs driver: programs one Open vSwitch bridge (userspace netdev
// datapath, fail_mode=secure) over one kept-open OpenFlow 1.3 connection.
// Each entry becomes a few flows (pipeline.ts); a batch of changes is
// streamed in one ONF bundle committed atomically, or, when a bundle fails,
// again without one so that each refused entry can be named. It only ever
// touches flows with the agent's cookie, in the agent's tables (and the
// neighbours the switch learnt, with theirs). After each batch and each
// read it asks the CE next hops the switch has not learnt (neighbours.ts),
// and keeps asking those of a batch, at growing intervals, until the switch
// has learnt them: a CE that was not up yet is found as soon as it is, not
// on the next periodic read.
//
// Node-SID entries are fast-failover groups (pipeline.ts), diffed like
// flows: a group's id is its entry's in-label, so it stays the same across
// changes of its next hops (GROUP_MOD MODIFY, never delete and add, which
// would take the flows using it along, §6.5). In a batch, groups are added
// or modified before the flows that use them, and deleted after the flows
// that used them. ECMP routes (VrfRoute.multipath) are select groups with
// ids of their own range (pipeline.ts ECMP_GROUP_FIRST..LAST), one per
// route, kept across changes of its members and found again after a
// restart from the group the route's flow jumps to. Groups with ids in
// neither range are not the agent's and are never touched.
import type { Logger } from '../../../common/logger.js';
import {
  type CeNextHop,
  ChangeKind,
  type DesiredStateChange,
  type DesiredStateEntry,
  type LfibEntry,
  type PortState,
  type VrfInstance,
  type VrfRoute,
} from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { vrfRouteKey } from '../../../common/desired-state/index.js';
import type { ChangeFailure, CoreDatagram, CoreIo, Driver, InstalledState } from '../../driver.js';
import { describeError, OpenFlowConnection, OpenFlowError } from './connection.js';
import {
  BUNDLE_ATOMIC,
  BUNDLE_ORDERED,
  BundleCtrl,
  bundleAdd,
  bundleControl,
  bytesUint,
  decodeFlowStats,
  decodeMultipart,
  decodePacketIn,
  decodePortDescs,
  decodePortStatus,
  ETH_TYPE_IPV6,
  flowMod,
  FlowModCommand,
  flowStatsRequest,
  flowText,
  forEachFlowStats,
  decodeGroupDescs,
  groupDescRequest,
  groupMod,
  GroupModCommand,
  type GroupSpec,
  groupText,
  MsgType,
  type Oxm,
  OxmField,
  packetOut,
  type PortDesc,
  PortReason,
  portDescRequest,
  setConfig,
} from './openflow.js';
import { BROADCAST_MAC, decodeUdpFrame, encodeUdpFrame } from './udp-frame.js';
import { type CeNeighbour, NeighbourResolver, neighbourKey, neighbourKeyOf } from './neighbours.js';
import { LookupPops } from './lookup-pops.js';
import { BgpPunts, type BgpPuntOptions } from './punt.js';
import {
  AGENT_COOKIE,
  AGENT_COOKIE_MASK,
  baseFlows,
  CORE_COOKIE,
  coreFlows,
  DEFAULT_TABLES,
  flowOwner,
  type FlowSpec,
  lfibFlows,
  lfibGroup,
  ECMP_GROUP_FIRST,
  ECMP_GROUP_LAST,
  isEcmpGroup,
  MAX_AGENT_GROUP,
  routeGroup,
  NEIGHBOUR_COOKIE,
  neighbourCookie,
  type PipelineContext,
  PipelineError,
  type PipelineTables,
  routeFlows,
  vrfFlows,
} from './pipeline.js';

export interface OvsDriverOptions {
  /** The bridge's OpenFlow endpoint: "unix:/run/openvswitch/br0.mgmt" or "tcp:127.0.0.1:6653". */
  target: string;
  tables?: PipelineTables;
  /** Apply each batch in one atomic ONF bundle (default true). */
  atomic?: boolean;
  /**
   * Prefix of the OVS port of each interface of the desired state
   * ("pe1-" maps cust0 to port pe1-cust0): port names are unique in one
   * ovs-vswitchd, which a lab shares between nodes.
   */
  portPrefix?: string;
  /** Where work the driver does on its own (not asked through the Driver interface) reports failures. */
  log?: Pick<Logger, 'warn'>;
  /** PE-CE BGP punts (punt.ts); absent: a VRF interface with bgp_sessions is refused. */
  ceBgp?: BgpPuntOptions;
}

/** How long a new punt port may take to appear on the bridge (ovs-vswitchd adds it after the database). */
const PUNT_PORT_WAIT_MS = 5000;

type Entry = NonNullable<DesiredStateEntry['entry']>;

/** Unlearnt CE next hops are asked again after 250 ms, then at doubling intervals up to 8 s, for at most 2 minutes. */
const CHASE_FIRST_MS = 250;
const CHASE_MAX_MS = 8000;
const CHASE_GIVE_UP_MS = 120_000;

function entryKeyOf(e: Entry): string {
  switch (e.$case) {
    case 'vrf':
      return `vrf:${e.value.name}`;
    case 'vrfRoute':
      return `route:${vrfRouteKey(e.value)}`;
    case 'lfibEntry':
      return `label:${e.value.inLabel}`;
    case 'transportPath':
      return `path:${e.value.remoteNode}`;
  }
}

interface PlannedFlowMod {
  index: number;
  command: FlowModCommand;
  flow: FlowSpec;
  /** Another cookie than the agent's (the learnt neighbours of a VRF), matched exactly. */
  cookie?: bigint;
  group?: undefined;
}

interface PlannedGroupMod {
  index: number;
  command: GroupModCommand;
  group: GroupSpec;
}

type PlannedMod = PlannedFlowMod | PlannedGroupMod;

/** An installed flow as read: its canonical text, and its flow-stats entry to decode again when it must go. */
interface InstalledFlow {
  text: string;
  entry: Uint8Array;
}

const sameFlows = (want: readonly FlowSpec[], have: readonly InstalledFlow[]) => {
  if (want.length !== have.length) return false;
  const x = want.map((f) => flowText(f)).sort();
  const y = have.map((f) => f.text).sort();
  return x.every((t, i) => t === y[i]);
};

/**
 * The address a learnt neighbour flow matches: reg0 for IPv4; for IPv6 the
 * switch hands xxreg0 back as reg0..reg3 in OpenFlow 1.3 (or as xxreg0).
 */
function learntAddress(match: readonly Oxm[]): Uint8Array | undefined {
  const reg = (n: number) => match.find((m) => m.cls === 0x0001 && m.field === n)?.value;
  const eth = match.find((m) => m.cls === undefined && m.field === OxmField.ETH_TYPE);
  if (!eth || Number(bytesUint(eth.value)) !== ETH_TYPE_IPV6) return reg(0);
  const whole = reg(111);
  if (whole) return whole;
  const parts = [0, 1, 2, 3].map(reg);
  if (parts.some((p) => p?.length !== 4)) return undefined;
  return Uint8Array.from(parts.flatMap((p) => [...p!]));
}

const decodeEntry = (entry: Uint8Array): FlowSpec => decodeFlowStats(entry)[0]!;

export class OvsDriver implements Driver {
  readonly name = 'ovs';
  readonly programsTransportPaths = false;
  readonly signalsPortChanges = true;
  private conn: OpenFlowConnection | undefined;
  private readonly tables: PipelineTables;
  private readonly atomic: boolean;
  private readonly ports = new Map<string, PortDesc>();
  private readonly portListeners: (() => void)[] = [];
  private readonly datagramListeners: ((d: CoreDatagram) => void)[] = [];
  /** The core addresses the agent receives datagrams at (re-installed after a reconnect). */
  private coreBindings: { bindings: { interface: string; address: string }[]; port: number } | undefined;
  /** Neighbours' MACs on core ports, learnt from their datagrams (broadcast until then). */
  private readonly coreNeighbourMacs = new Map<string, Uint8Array>();
  private readonly vrfTables = new Map<string, number>();
  /** VRFs installed: the attachments the neighbour resolver asks CEs on. */
  private readonly vrfs = new Map<string, VrfInstance>();
  /** The VPN labels that pop, as desired: which IPv6 routes only a pop to IPv4 would deliver (refused, lookup-pops.ts). */
  private readonly pops = new LookupPops();
  readonly neighbours: NeighbourResolver;
  /**
   * Flows the last read found under a key that are not what the entry
   * installs (changed by hand, or nobody's): what a change of that key must
   * remove. Any other entry's flows are computed from the entry itself.
   */
  private flowsByKey = new Map<string, InstalledFlow[]>();
  /** The agent's groups on the switch (id -> groupText), as last read or written. */
  private groups = new Map<number, string>();
  /** ECMP routes' select groups: route entry key -> group id, and back. */
  private readonly ecmpIds = new Map<string, number>();
  private readonly ecmpKeys = new Map<number, string>();
  private bundleId = 1;
  /** CE next hops of installed entries the switch had not learnt when last asked, by neighbourKey. */
  private readonly unresolved = new Map<string, { ce: CeNeighbour; since: number }>();
  private chaseTimer: NodeJS.Timeout | undefined;
  private chaseDelayMs = CHASE_FIRST_MS;
  /** Flow mods sent for entries (not counting a streamed retry of a refused bundle). */
  flowModsSent = 0;
  private readonly port = (name: string) => this.ports.get(`${this.options.portPrefix ?? ''}${name}`);
  private readonly punts: BgpPunts | undefined;
  private readonly ctx: PipelineContext = {
    port: (name) => this.port(name)?.port,
    mac: (name) => this.port(name)?.mac,
    vrfTable: (name) => this.vrfTables.get(name),
    puntPort: (vrf, iface, vlan) => {
      const name = this.punts?.portName(vrf, iface, vlan);
      return name === undefined ? undefined : this.ports.get(name)?.port;
    },
  };

  constructor(private readonly options: OvsDriverOptions) {
    this.tables = options.tables ?? DEFAULT_TABLES;
    this.atomic = options.atomic ?? true;
    this.punts = options.ceBgp ? new BgpPunts({ ...options.ceBgp, ...(options.log && !options.ceBgp.log ? { log: options.log } : {}) }) : undefined;
    this.neighbours = new NeighbourResolver({
      port: this.port,
      send: (actions, frame) => {
        const conn = this.conn;
        if (!conn || conn.closed) return;
        conn.send(packetOut(conn.nextXid(), actions, frame));
        conn.flush();
      },
    });
  }

  private holdVrf(v: VrfInstance): void {
    this.vrfTables.set(v.name, v.tableId);
    this.vrfs.set(v.name, v);
  }

  /** The CE an entry sends to, when it names one by address (a route via a CE, a per-CE label). */
  private ceNeighbour(e: Entry): CeNeighbour | undefined {
    const at = (vrf: string, nextHop: CeNextHop | undefined) => {
      const v = this.vrfs.get(vrf);
      return v && nextHop?.address ? { vrf: v, nextHop } : undefined;
    };
    if (e.$case === 'vrfRoute' && e.value.nextHop?.$case === 'local') return at(e.value.vrf, e.value.nextHop.value);
    if (e.$case === 'lfibEntry' && e.value.action?.$case === 'popAndForward') return at(e.value.action.value.vrf, e.value.action.value.nextHop);
    return undefined;
  }

  /** Neighbours the switch has learnt, as neighbourKey()s. */
  private async learntNeighbours(conn: OpenFlowConnection): Promise<Set<string>> {
    const out = new Set<string>();
    await conn.stream(
      (xid) => flowStatsRequest(xid, NEIGHBOUR_COOKIE, AGENT_COOKIE_MASK, this.tables.neigh),
      (part) =>
        forEachFlowStats(decodeMultipart(part).body, (f) => {
          const md = f.match.find((m) => m.cls === undefined && m.field === OxmField.METADATA);
          const address = learntAddress(f.match);
          if (md && address) out.add(neighbourKey(Number(bytesUint(md.value)), address));
        }),
    );
    return out;
  }

  /** The open connection, reopened (ports re-read, base flows ensured) after a loss. */
  private async connection(): Promise<OpenFlowConnection> {
    if (this.conn && !this.conn.closed) return this.conn;
    const conn = await OpenFlowConnection.open(this.options.target);
    this.conn = conn;
    conn.onAsync = (type, msg) => this.asyncMessage(type, msg);
    // Port status and packet-ins come to this (service) connection only once asked for.
    conn.send(setConfig(conn.nextXid()));
    await this.refreshPorts(conn);
    for (const f of baseFlows(this.tables)) conn.send(flowMod(conn.nextXid(), { ...f, cookie: AGENT_COOKIE, cookieMask: 0n, command: FlowModCommand.ADD }));
    await conn.barrier();
    if (this.coreBindings) await this.installCoreFlows(conn);
    // Ports may have changed while the connection was down.
    for (const fn of this.portListeners) fn();
    return conn;
  }

  private asyncMessage(type: MsgType, msg: Uint8Array): void {
    if (type === MsgType.PORT_STATUS) {
      const ps = decodePortStatus(msg);
      if (!ps) return;
      if (ps.reason === PortReason.DELETE) this.ports.delete(ps.port.name);
      else this.ports.set(ps.port.name, ps.port);
      // A core port added after its binding: its ARP and BFD flows now have a port number.
      const conn = this.conn;
      if (ps.reason === PortReason.ADD && this.coreBindings && conn && !conn.closed) void this.installCoreFlows(conn).catch((err: Error) => this.options.log?.warn({ err: err.message, port: ps.port.name }, 'ARP and BFD flows of a new core port not installed: BFD on it cannot come up'));
      for (const fn of this.portListeners) fn();
    } else if (type === MsgType.PACKET_IN) {
      const pin = decodePacketIn(msg);
      if (!pin || pin.cookie !== CORE_COOKIE || pin.inPort === undefined) return;
      const name = [...this.ports.values()].find((p) => p.port === pin.inPort)?.name;
      const prefix = this.options.portPrefix ?? '';
      if (!name?.startsWith(prefix)) return;
      const udp = decodeUdpFrame(pin.frame);
      if (!udp) return;
      const itf = name.slice(prefix.length);
      this.coreNeighbourMacs.set(itf, udp.srcMac);
      const d: CoreDatagram = { interface: itf, source: udp.source, destination: udp.destination, sourcePort: udp.sourcePort, destinationPort: udp.destinationPort, ttl: udp.ttl, payload: udp.payload };
      for (const fn of this.datagramListeners) fn(d);
    }
  }

  /** Makes the "LB" flows those of the bindings: only what differs is touched, so a rebind with the same set changes nothing. */
  private async installCoreFlows(conn: OpenFlowConnection): Promise<void> {
    const all = (1n << 64n) - 1n;
    const { bindings, port } = this.coreBindings ?? { bindings: [], port: 0 };
    const wanted = new Map<string, FlowSpec>();
    for (const b of bindings) {
      try {
        for (const f of coreFlows(b, port, this.ctx, this.tables)) wanted.set(flowText(f), f);
      } catch (err) {
        if (!(err instanceof PipelineError)) throw err;
        // No such port yet: bound when the port appears (PORT_STATUS ADD).
      }
    }
    const have = new Set<string>();
    await conn.stream(
      (xid) => flowStatsRequest(xid, CORE_COOKIE, all),
      (part) =>
        forEachFlowStats(decodeMultipart(part).body, (f) => {
          const text = flowText(f);
          if (wanted.has(text)) have.add(text);
          else conn.send(flowMod(conn.nextXid(), { ...f, cookie: CORE_COOKIE, cookieMask: all, command: FlowModCommand.DELETE_STRICT }));
        }),
    );
    for (const [text, f] of wanted) if (!have.has(text)) conn.send(flowMod(conn.nextXid(), { ...f, cookie: CORE_COOKIE, cookieMask: 0n, command: FlowModCommand.ADD }));
    await conn.barrier();
  }

  readonly coreIo: CoreIo = {
    bind: async (bindings, port) => {
      this.coreBindings = { bindings: [...bindings], port };
      const conn = await this.connection();
      await this.installCoreFlows(conn);
    },
    send: (d) => {
      const conn = this.conn;
      const port = this.port(d.interface);
      if (!conn || conn.closed || !port) return;
      const frame = encodeUdpFrame({
        srcMac: port.mac,
        dstMac: this.coreNeighbourMacs.get(d.interface) ?? BROADCAST_MAC,
        source: d.source,
        destination: d.destination,
        ttl: d.ttl,
        sourcePort: d.sourcePort,
        destinationPort: d.destinationPort,
        payload: d.payload,
      });
      conn.send(packetOut(conn.nextXid(), [{ type: 'output', port: port.port }], frame));
      conn.flush();
    },
    onDatagram: (fn) => void this.datagramListeners.push(fn),
  };

  async portStates(interfaces: readonly string[]): Promise<PortState[]> {
    await this.connection();
    return interfaces.map((name) => {
      const p = this.port(name);
      if (!p) return { interface: name, up: false, reason: 'no such port on the bridge' };
      if (p.adminDown) return { interface: name, up: false, reason: 'administratively down' };
      if (p.linkDown) return { interface: name, up: false, reason: 'link down' };
      return { interface: name, up: true, reason: '' };
    });
  }

  onPortChange(fn: () => void): void {
    this.portListeners.push(fn);
  }

  async connect(): Promise<this> {
    await this.connection();
    return this;
  }

  private async refreshPorts(conn: OpenFlowConnection): Promise<void> {
    const parts = await conn.request(portDescRequest);
    this.ports.clear();
    for (const part of parts) for (const p of decodePortDescs(decodeMultipart(part).body)) this.ports.set(p.name, p);
  }

  /** The entry's flows; `refuse`: throw the refusal of a route only a pop to IPv4 would deliver (false: the flows it had before the refusal). */
  private flowsFor(e: Entry, refuse = true): FlowSpec[] {
    switch (e.$case) {
      case 'vrf':
        return vrfFlows(e.value, this.ctx, this.tables);
      case 'vrfRoute': {
        const refused = refuse ? this.pops.refusal(e.value) : undefined;
        if (refused) throw new PipelineError(refused);
        return routeFlows(e.value, this.ctx, this.tables, e.value.multipath.length ? this.ecmpId(entryKeyOf(e)) : undefined);
      }
      case 'lfibEntry':
        return lfibFlows(e.value, this.ctx, this.tables);
      case 'transportPath':
        return [];
    }
  }

  private groupFor(e: Entry): GroupSpec | undefined {
    if (e.$case === 'vrfRoute') return e.value.multipath.length ? routeGroup(e.value, this.ctx, this.ecmpId(entryKeyOf(e))) : undefined;
    return e.$case === 'lfibEntry' ? lfibGroup(e.value, this.ctx) : undefined;
  }

  /** The id of the group an entry has or would have: a node-SID entry's label, an ECMP route's own id (if it has one). */
  private groupIdOf(e: Entry): number | undefined {
    if (e.$case === 'lfibEntry') return e.value.inLabel <= MAX_AGENT_GROUP ? e.value.inLabel : undefined;
    if (e.$case === 'vrfRoute') return this.ecmpIds.get(entryKeyOf(e));
    return undefined;
  }

  /**
   * The ECMP group id of a route: the one it has, else the first free one
   * from a hash of its key (so an agent restarted with its flows gone
   * finds the same group again, almost always).
   */
  private ecmpId(key: string): number {
    const have = this.ecmpIds.get(key);
    if (have !== undefined) return have;
    const span = ECMP_GROUP_LAST - ECMP_GROUP_FIRST + 1;
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
    let id = ECMP_GROUP_FIRST + (h % span);
    while (this.ecmpKeys.has(id)) id = id === ECMP_GROUP_LAST ? ECMP_GROUP_FIRST : id + 1;
    this.bindEcmp(key, id);
    return id;
  }

  private bindEcmp(key: string, id: number): void {
    this.ecmpIds.set(key, id);
    this.ecmpKeys.set(id, key);
  }

  private releaseEcmp(id: number): void {
    const key = this.ecmpKeys.get(id);
    this.ecmpKeys.delete(id);
    if (key !== undefined && this.ecmpIds.get(key) === id) this.ecmpIds.delete(key);
  }

  /** The agent's groups on the switch: id -> groupText. */
  private async readGroups(conn: OpenFlowConnection): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    await conn.stream(groupDescRequest, (part) => {
      for (const g of decodeGroupDescs(decodeMultipart(part).body)) if (g.group <= MAX_AGENT_GROUP || isEcmpGroup(g.group)) out.set(g.group, groupText(g));
    });
    return out;
  }

  /** Every group on the bridge, decoded (tests and tools). */
  async dumpGroups(): Promise<GroupSpec[]> {
    const conn = await this.connection();
    const out: GroupSpec[] = [];
    await conn.stream(groupDescRequest, (part) => void out.push(...decodeGroupDescs(decodeMultipart(part).body)));
    return out;
  }

  /** Each flow with the agent's cookie, in any table, as the reply streams in (never the whole dump at once). */
  async forEachFlow(fn: (flow: FlowSpec, entry: Uint8Array) => void): Promise<void> {
    const conn = await this.connection();
    await conn.stream(
      (xid) => flowStatsRequest(xid, AGENT_COOKIE, AGENT_COOKIE_MASK),
      (part) => forEachFlowStats(decodeMultipart(part).body, fn),
    );
  }

  async dumpFlows(): Promise<FlowSpec[]> {
    const out: FlowSpec[] = [];
    await this.forEachFlow((f) => out.push(f));
    return out;
  }

  async read(expected?: InstalledState): Promise<InstalledState> {
    const conn = await this.connection();
    await this.refreshPorts(conn);
    for (const v of expected?.vrfs ?? []) this.holdVrf(v);
    if (expected) this.pops.reset(expected.lfibEntries);
    const nameByTable = new Map([...this.vrfTables].map(([n, t]) => [t, n]));
    const vrfName = (id: number) => nameByTable.get(id) ?? `#table${id}`;
    // Only the text of each flow is kept (and a view of its bytes): decoded flows are dropped as parts arrive.
    const grouped = new Map<string, InstalledFlow[]>();
    await this.forEachFlow((f, entry) => {
      const key = flowOwner(f, this.tables, vrfName) ?? `unknown:${flowText(f, false)}`;
      const flow = { text: flowText(f), entry };
      const list = grouped.get(key);
      if (list) list.push(flow);
      else grouped.set(key, [flow]);
    });
    if (!sameFlows(baseFlows(this.tables), grouped.get('base') ?? [])) {
      // The driver's own dispatch and neighbour-miss flows: put back without asking anyone.
      for (const f of baseFlows(this.tables)) conn.send(flowMod(conn.nextXid(), { ...f, cookie: AGENT_COOKIE, cookieMask: 0n, command: FlowModCommand.ADD }));
      await conn.barrier();
    }
    grouped.delete('base');
    this.groups = await this.readGroups(conn);
    // Which ECMP group each route's flow jumps to: the routes keep their groups.
    this.ecmpIds.clear();
    this.ecmpKeys.clear();
    for (const [key, flows] of grouped) {
      if (!key.startsWith('route:')) continue;
      for (const f of flows) {
        for (const i of decodeEntry(f.entry).instructions) {
          if (i.type !== 'apply_actions') continue;
          for (const a of i.actions) if (a.type === 'group' && isEcmpGroup(a.group) && this.groups.has(a.group) && !this.ecmpKeys.has(a.group)) this.bindEcmp(key, a.group);
        }
      }
    }
    // Remember only the flows that are not what their entry installs: the rest follow from the entries.
    this.flowsByKey = new Map();

    const out: InstalledState = { vrfs: [], vrfRoutes: [], lfibEntries: [], transportPaths: [] };
    const known = new Set<string>();
    const exact = new Set<string>();
    const consider = <T>(entry: Entry, value: T, differs: (v: T) => T, list: T[]) => {
      const key = entryKeyOf(entry);
      known.add(key);
      let want: FlowSpec[] | undefined;
      let wantGroup: GroupSpec | undefined;
      try {
        want = this.flowsFor(entry);
        wantGroup = this.groupFor(entry);
      } catch (err) {
        if (!(err instanceof PipelineError)) throw err;
      }
      const have = grouped.get(key) ?? [];
      const groupId = this.groupIdOf(entry);
      const sameGroup = groupId === undefined || (wantGroup ? this.groups.get(groupId) === groupText(wantGroup) : !this.groups.has(groupId));
      // A VRF whose PE-CE BGP punts are not all in place (a listener died, a namespace went) is not installed as desired.
      const puntsOk = entry.$case !== 'vrf' || this.puntsHealthy(entry.value);
      if (want && sameFlows(want, have) && sameGroup && puntsOk) {
        list.push(value);
        exact.add(key);
      }
      else if (have.length || (groupId !== undefined && this.groups.has(groupId))) {
        list.push(differs(value));
        this.flowsByKey.set(key, have);
      }
    };
    for (const v of expected?.vrfs ?? []) consider({ $case: 'vrf', value: v }, v, (x) => ({ ...x, rd: `${x.rd} (installed flows differ)` }), out.vrfs);
    for (const r of expected?.vrfRoutes ?? []) consider({ $case: 'vrfRoute', value: r }, r, (x) => ({ ...x, nextHop: undefined }), out.vrfRoutes);
    for (const e of expected?.lfibEntries ?? []) consider({ $case: 'lfibEntry', value: e }, e, (x) => ({ ...x, action: undefined }), out.lfibEntries);

    // Flows nobody asked for: entries with the key they occupy, for the agent to delete.
    for (const [key, flows] of grouped) {
      if (known.has(key)) continue;
      this.flowsByKey.set(key, flows);
      const [kind, rest] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
      if (kind === 'vrf') {
        const md = decodeEntry(flows[0]!.entry).instructions.find((i) => i.type === 'write_metadata');
        const tableId = md?.type === 'write_metadata' ? Number(md.metadata) : 0;
        out.vrfs.push({ name: rest, tableId, rd: '', importRouteTargets: [], exportRouteTargets: [], interfaces: [], vpn: '' } satisfies VrfInstance);
      } else if (kind === 'route') {
        const [vrf, prefix] = rest.split('\u0000') as [string, string];
        out.vrfRoutes.push({ vrf, prefix, nextHop: undefined, source: 0, multipath: [] } satisfies VrfRoute);
      } else if (kind === 'label') {
        out.lfibEntries.push({ inLabel: Number(rest), action: undefined, owner: '' } satisfies LfibEntry);
      } else {
        // Not an entry at all (a flow in our tables with our cookie we cannot place): remove it now.
        for (const f of flows) conn.send(flowMod(conn.nextXid(), { ...decodeEntry(f.entry), cookie: AGENT_COOKIE, cookieMask: AGENT_COOKIE_MASK, command: FlowModCommand.DELETE_STRICT }));
        await conn.barrier();
      }
    }
    // Groups of no entry at all (no flows of their label left, none expected; an ECMP group no route has): nothing uses them.
    const expectedLabels = new Set((expected?.lfibEntries ?? []).map((e) => e.inLabel));
    const orphans = [...this.groups.keys()].filter((id) => (isEcmpGroup(id) ? !this.ecmpKeys.has(id) : !expectedLabels.has(id) && !grouped.has(`label:${id}`)));
    if (orphans.length) {
      for (const id of orphans) {
        conn.send(groupMod(conn.nextXid(), GroupModCommand.DELETE, { group: id, type: 0, buckets: [] }));
        this.groups.delete(id);
      }
      await conn.barrier();
    }
    // Punts no expected VRF wants (a previous run's, a VRF gone while the agent was away).
    if (expected && this.punts) await this.punts.sweep(expected.vrfs);
    // CEs of entries installed as desired (VRF included: its flows learn the reply) that the switch has not learnt; apply() asks the others.
    const learnt = await this.learntNeighbours(conn);
    const asked: CeNeighbour[] = [];
    const consult = (entry: Entry) => {
      const ce = this.ceNeighbour(entry);
      if (ce && exact.has(entryKeyOf(entry)) && exact.has(`vrf:${ce.vrf.name}`)) asked.push(ce);
    };
    for (const value of expected?.vrfRoutes ?? []) consult({ $case: 'vrfRoute', value });
    for (const value of expected?.lfibEntries ?? []) consult({ $case: 'lfibEntry', value });
    this.neighbours.resolve(asked, learnt);
    return out;
  }

  async apply(changes: readonly DesiredStateChange[]): Promise<ChangeFailure[]> {
    const conn = await this.connection();
    const failures = new Map<number, string>();
    const plan: PlannedFlowMod[] = [];
    /** Group mods before the flows (adds, modifies) and after them (deletes). */
    const groupsFirst: PlannedGroupMod[] = [];
    const groupsLast: PlannedGroupMod[] = [];
    const touched: string[] = [];
    const neighbours: CeNeighbour[] = [];
    /** VRFs deleted: their punts go once their flows have. */
    const puntsGone: string[] = [];
    /** VRFs changed: their punts no interface wants any more go once the flows using them have. */
    const puntsPruned: VrfInstance[] = [];
    let portsRefreshed = false;
    // The batch's labels first: whether a route of it is refused depends on them, in any order.
    for (const c of changes) {
      const e = (c.kind === ChangeKind.CHANGE_KIND_DELETE ? c.previous : c.entry)?.entry;
      if (e?.$case !== 'lfibEntry') continue;
      if (c.kind === ChangeKind.CHANGE_KIND_DELETE) this.pops.delete(e.value.inLabel);
      else this.pops.set(e.value);
    }
    for (const [index, c] of changes.entries()) {
      const del = c.kind === ChangeKind.CHANGE_KIND_DELETE;
      const e = (del ? c.previous : c.entry)?.entry;
      if (!e) {
        failures.set(index, 'change without an entry');
        continue;
      }
      if (e.$case === 'transportPath') continue;
      const key = entryKeyOf(e);
      // What the key held, before a VRF's punts change (its old flows output to the punt ports it had).
      let old = this.flowsByKey.get(key)?.map((f) => decodeEntry(f.entry));
      if (!old && c.previous?.entry) {
        try {
          old = this.flowsFor(c.previous.entry, false);
        } catch {
          old = [];
        }
      }
      if (e.$case === 'vrf') {
        // The neighbours a VRF learnt go with it, or with its old table id.
        const old = this.vrfTables.get(e.value.name) ?? (c.previous?.entry?.$case === 'vrf' ? c.previous.entry.value.tableId : undefined);
        if (old !== undefined && (del || old !== e.value.tableId)) plan.push(this.forgetNeighbours(index, old));
        if (!del) this.holdVrf(e.value);
        // Sessions no longer listed end first, while their flows still carry the close to the CE.
        await this.punts?.closeUnlisted(e.value.name, del ? undefined : e.value);
        if (del) puntsGone.push(e.value.name);
        else {
          // Before its flows: they output to the punt ports. A punt that fails leaves the VRF's other flows to go in.
          const reasons = await this.ensurePunts(conn, e.value);
          if (reasons.length) failures.set(index, reasons.join('; '));
          puntsPruned.push(e.value);
        }
      }
      let next: FlowSpec[] = [];
      let nextGroup: GroupSpec | undefined;
      const refused = del || e.$case !== 'vrfRoute' ? undefined : this.pops.refusal(e.value);
      // A refused route's old flows go too: it is reported not installed, so nothing of it stays.
      if (refused) failures.set(index, refused);
      else if (!del) {
        try {
          next = this.flowsFor(e);
          nextGroup = this.groupFor(e);
        } catch (err) {
          if (!(err instanceof PipelineError)) throw err;
          if (!portsRefreshed && err.message.startsWith('no port')) {
            portsRefreshed = true;
            await this.refreshPorts(conn);
            try {
              next = this.flowsFor(e);
              nextGroup = this.groupFor(e);
            } catch (again) {
              if (!(again instanceof PipelineError)) throw again;
              failures.set(index, again.message);
              continue;
            }
          } else {
            failures.set(index, err.message);
            continue;
          }
        }
      }
      const id = this.groupIdOf(e);
      if (id !== undefined) {
        const have = this.groups.get(id);
        if (nextGroup && have !== groupText(nextGroup)) groupsFirst.push({ index, command: have === undefined ? GroupModCommand.ADD : GroupModCommand.MODIFY, group: nextGroup });
        else if (!nextGroup && have !== undefined) groupsLast.push({ index, command: GroupModCommand.DELETE, group: { group: id, type: 0, buckets: [] } });
        // A route that no longer balances gives its (uninstalled) ECMP id back.
        else if (!nextGroup && isEcmpGroup(id)) this.releaseEcmp(id);
      }
      for (const flow of next) plan.push({ index, command: FlowModCommand.ADD, flow });
      const ce = del || refused ? undefined : this.ceNeighbour(e);
      if (ce) neighbours.push(ce);
      if (old?.length) {
        // An ADD with the same table, priority and match replaces a flow (OpenFlow 1.3.5 §6.4); delete only the others.
        const keep = new Set(next.map((f) => flowText(f, false)));
        for (const flow of old) if (!keep.has(flowText(flow, false))) plan.push({ index, command: FlowModCommand.DELETE_STRICT, flow });
      }
      touched.push(key);
      if (del && e.$case === 'vrf') {
        this.vrfs.delete(e.value.name);
        this.vrfTables.delete(e.value.name);
      }
    }

    this.flowModsSent += plan.length;
    const mods: PlannedMod[] = [...groupsFirst, ...plan, ...groupsLast];
    const refused = this.atomic && mods.length > 0 ? await this.sendBundle(conn, mods) : await this.sendStreamed(conn, mods);
    for (const [index, reason] of refused) if (!failures.has(index)) failures.set(index, reason);
    // What the switch now has (a refused change: the next read tells).
    for (const g of [...groupsFirst, ...groupsLast]) {
      if (refused.has(g.index)) continue;
      if (g.command === GroupModCommand.DELETE) {
        this.groups.delete(g.group.group);
        if (isEcmpGroup(g.group.group)) this.releaseEcmp(g.group.group);
      } else this.groups.set(g.group.group, groupText(g.group));
    }
    // Written (or failed: then the next read tells what is there).
    for (const key of touched) this.flowsByKey.delete(key);
    try {
      for (const v of puntsPruned) await this.punts?.prune(v);
      for (const vrf of puntsGone) await this.punts?.removeVrf(vrf);
    } catch (err) {
      this.options.log?.warn({ err: (err as Error).message }, 'PE-CE BGP punts no longer wanted not all removed; the next read sweeps them');
    }
    // New CE next hops: ask them now (the flows that learn their replies are in place), and again until learnt.
    this.neighbours.resolve(neighbours);
    this.chase(neighbours);
    return [...failures].map(([index, reason]) => ({ index, reason })).sort((a, b) => a.index - b.index);
  }

  /** Asks `neighbours` again, after CHASE_FIRST_MS then at doubling intervals, until the switch has learnt each or CHASE_GIVE_UP_MS passed (the periodic read asks after that). */
  private chase(neighbours: readonly CeNeighbour[]): void {
    const now = Date.now();
    for (const ce of neighbours) {
      const key = neighbourKeyOf(ce);
      if (key && !this.unresolved.has(key)) this.unresolved.set(key, { ce, since: now });
    }
    if (!neighbours.length || !this.unresolved.size) return;
    this.chaseDelayMs = CHASE_FIRST_MS;
    clearTimeout(this.chaseTimer);
    this.chaseTimer = setTimeout(() => void this.chaseOnce(), this.chaseDelayMs).unref();
  }

  private async chaseOnce(): Promise<void> {
    this.chaseTimer = undefined;
    const conn = this.conn;
    if (!conn || conn.closed) return; // the next read() asks again
    let learnt: Set<string>;
    try {
      learnt = await this.learntNeighbours(conn);
    } catch {
      return;
    }
    const now = Date.now();
    for (const [key, { ce, since }] of this.unresolved) {
      // Learnt, given up on, or its VRF is gone or renumbered: no longer chased.
      if (learnt.has(key) || now - since > CHASE_GIVE_UP_MS || this.vrfs.get(ce.vrf.name)?.tableId !== ce.vrf.tableId) this.unresolved.delete(key);
    }
    if (!this.unresolved.size) return;
    this.neighbours.resolve([...this.unresolved.values()].map((u) => u.ce), learnt);
    this.chaseDelayMs = Math.min(this.chaseDelayMs * 2, CHASE_MAX_MS);
    this.chaseTimer = setTimeout(() => void this.chaseOnce(), this.chaseDelayMs).unref();
  }

  private forgetNeighbours(index: number, tableId: number): PlannedFlowMod {
    return { index, command: FlowModCommand.DELETE, cookie: neighbourCookie(tableId), flow: { table: this.tables.neigh, priority: 0, match: [], instructions: [] } };
  }

  /** Streams the flow mods with one barrier; returns the reason of each change a flow mod of which failed. */
  private async sendStreamed(conn: OpenFlowConnection, plan: readonly PlannedMod[]): Promise<Map<number, string>> {
    const byXid = new Map<number, number>();
    for (const p of plan) {
      const xid = conn.nextXid();
      byXid.set(xid, p.index);
      conn.send(this.encode(xid, p));
    }
    await conn.barrier();
    const out = new Map<number, string>();
    for (const [xid, e] of conn.takeAllErrors()) {
      const index = byXid.get(xid);
      if (index !== undefined && !out.has(index)) out.set(index, describeError(e));
    }
    return out;
  }

  /** One atomic bundle (ONF EXT-230); if the switch refuses it, nothing changed and the batch goes again streamed. */
  private async sendBundle(conn: OpenFlowConnection, plan: readonly PlannedMod[]): Promise<Map<number, string>> {
    const id = this.bundleId++;
    const flags = BUNDLE_ATOMIC | BUNDLE_ORDERED;
    await conn.request((xid) => bundleControl(xid, id, BundleCtrl.OPEN_REQUEST, flags));
    const byXid = new Map<number, number>();
    for (const p of plan) {
      const xid = conn.nextXid();
      byXid.set(xid, p.index);
      const inner = this.encode(xid, p);
      conn.send(bundleAdd(xid, id, flags, inner));
    }
    try {
      await conn.request((xid) => bundleControl(xid, id, BundleCtrl.COMMIT_REQUEST, flags));
      // A message the switch refused to add (a bad match) is left out of the bundle, which still commits: its change failed.
      const out = new Map<number, string>();
      for (const [xid, e] of conn.takeAllErrors()) {
        const index = byXid.get(xid);
        if (index !== undefined && !out.has(index)) out.set(index, describeError(e));
      }
      return out;
    } catch (err) {
      if (!(err instanceof OpenFlowError)) throw err;
      conn.takeAllErrors();
      return this.sendStreamed(conn, plan);
    }
  }

  private encode(xid: number, p: PlannedMod): Uint8Array {
    return p.group ? groupMod(xid, p.command, p.group) : flowMod(xid, this.flowModOf(p as PlannedFlowMod));
  }

  private flowModOf(p: PlannedFlowMod) {
    if (p.cookie !== undefined) return { ...p.flow, cookie: p.cookie, cookieMask: (1n << 64n) - 1n, command: p.command };
    return { ...p.flow, cookie: AGENT_COOKIE, cookieMask: p.command === FlowModCommand.ADD ? 0n : AGENT_COOKIE_MASK, command: p.command };
  }

  /** Whether the punts of `v` are as it wants them (none wanted: trivially). */
  private puntsHealthy(v: VrfInstance): boolean {
    if (!v.interfaces.some((i) => i.bgpSessions.length)) return !this.punts?.portsOf(v.name).length;
    return this.punts?.healthy(v, (name) => this.port(name)?.mac) ?? false;
  }

  /** Sets up the punts of `v` and waits for the switch to number their ports; returns the failures. */
  private async ensurePunts(conn: OpenFlowConnection, v: VrfInstance): Promise<string[]> {
    const wanted = v.interfaces.some((i) => i.bgpSessions.length);
    if (!this.punts) return wanted ? ['PE-CE BGP relay is not configured on this ovs driver (no bridge name for its punt ports)'] : [];
    let reasons: string[];
    try {
      reasons = await this.punts.ensure(v, (name) => this.port(name)?.mac);
    } catch (err) {
      return [`PE-CE BGP punts: ${(err as Error).message}`];
    }
    const deadline = Date.now() + PUNT_PORT_WAIT_MS;
    for (;;) {
      const missing = this.punts.portsOf(v.name).filter((p) => !this.ports.has(p));
      if (!missing.length) break;
      if (Date.now() > deadline) {
        reasons.push(`PE-CE BGP punt port ${missing.join(', ')} not on the bridge after ${PUNT_PORT_WAIT_MS} ms`);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
      await this.refreshPorts(conn);
    }
    return reasons;
  }

  /** Every PE-CE BGP punt of this driver, gone (tests, decommissioning). */
  async removePunts(): Promise<void> {
    await this.punts?.removeAll();
  }

  async close(): Promise<void> {
    this.punts?.close();
    clearTimeout(this.chaseTimer);
    this.unresolved.clear();
    this.conn?.close();
    this.conn = undefined;
  }
}
