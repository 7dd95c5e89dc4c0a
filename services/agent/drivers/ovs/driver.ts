// The ovs driver: programs one Open vSwitch bridge (userspace netdev
// datapath, fail_mode=secure) over one kept-open OpenFlow 1.3 connection.
// Each entry becomes a few flows (pipeline.ts); a batch of changes is
// streamed in one ONF bundle committed atomically, or, when a bundle fails,
// again without one so that each refused entry can be named. It only ever
// touches flows with the agent's cookie, in the agent's tables.
import {
  ChangeKind,
  type DesiredStateChange,
  type DesiredStateEntry,
  type LfibEntry,
  type VrfInstance,
  type VrfRoute,
} from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { vrfRouteKey } from '../../../common/desired-state/index.js';
import type { ChangeFailure, Driver, InstalledState } from '../../driver.js';
import { describeError, OpenFlowConnection, OpenFlowError } from './connection.js';
import {
  BUNDLE_ATOMIC,
  BUNDLE_ORDERED,
  BundleCtrl,
  bundleAdd,
  bundleControl,
  decodeFlowStats,
  decodeMultipart,
  decodePortDescs,
  flowMod,
  FlowModCommand,
  flowStatsRequest,
  flowText,
  portDescRequest,
} from './openflow.js';
import {
  AGENT_COOKIE,
  AGENT_COOKIE_MASK,
  baseFlows,
  DEFAULT_TABLES,
  flowOwner,
  type FlowSpec,
  lfibFlows,
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
}

type Entry = NonNullable<DesiredStateEntry['entry']>;

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
}

const sameFlows = (a: readonly FlowSpec[], b: readonly FlowSpec[]) => {
  if (a.length !== b.length) return false;
  const x = a.map((f) => flowText(f)).sort();
  const y = b.map((f) => flowText(f)).sort();
  return x.every((t, i) => t === y[i]);
};

export class OvsDriver implements Driver {
  readonly name = 'ovs';
  readonly programsTransportPaths = false;
  private conn: OpenFlowConnection | undefined;
  private readonly tables: PipelineTables;
  private readonly atomic: boolean;
  private readonly ports = new Map<string, number>();
  private readonly vrfTables = new Map<string, number>();
  /**
   * Flows the last read found under a key that are not what the entry
   * installs (changed by hand, or nobody's): what a change of that key must
   * remove. Any other entry's flows are computed from the entry itself.
   */
  private flowsByKey = new Map<string, FlowSpec[]>();
  private bundleId = 1;
  /** Flow mods sent for entries (not counting a streamed retry of a refused bundle). */
  flowModsSent = 0;
  private readonly ctx: PipelineContext = {
    port: (name) => this.ports.get(`${this.options.portPrefix ?? ''}${name}`),
    vrfTable: (name) => this.vrfTables.get(name),
  };

  constructor(private readonly options: OvsDriverOptions) {
    this.tables = options.tables ?? DEFAULT_TABLES;
    this.atomic = options.atomic ?? true;
  }

  /** The open connection, reopened (ports re-read, base flows ensured) after a loss. */
  private async connection(): Promise<OpenFlowConnection> {
    if (this.conn && !this.conn.closed) return this.conn;
    const conn = await OpenFlowConnection.open(this.options.target);
    this.conn = conn;
    await this.refreshPorts(conn);
    for (const f of baseFlows(this.tables)) conn.send(flowMod(conn.nextXid(), { ...f, cookie: AGENT_COOKIE, cookieMask: 0n, command: FlowModCommand.ADD }));
    await conn.barrier();
    return conn;
  }

  async connect(): Promise<this> {
    await this.connection();
    return this;
  }

  private async refreshPorts(conn: OpenFlowConnection): Promise<void> {
    const parts = await conn.request(portDescRequest);
    this.ports.clear();
    for (const part of parts) for (const p of decodePortDescs(decodeMultipart(part).body)) this.ports.set(p.name, p.port);
  }

  private flowsFor(e: Entry): FlowSpec[] {
    switch (e.$case) {
      case 'vrf':
        return vrfFlows(e.value, this.ctx, this.tables);
      case 'vrfRoute':
        return routeFlows(e.value, this.ctx, this.tables);
      case 'lfibEntry':
        return lfibFlows(e.value, this.ctx, this.tables);
      case 'transportPath':
        return [];
    }
  }

  /** Every flow with the agent's cookie, in any table. */
  async dumpFlows(): Promise<FlowSpec[]> {
    const conn = await this.connection();
    const parts = await conn.request((xid) => flowStatsRequest(xid, AGENT_COOKIE, AGENT_COOKIE_MASK));
    return parts.flatMap((p) => decodeFlowStats(decodeMultipart(p).body));
  }

  async read(expected?: InstalledState): Promise<InstalledState> {
    const conn = await this.connection();
    await this.refreshPorts(conn);
    for (const v of expected?.vrfs ?? []) this.vrfTables.set(v.name, v.tableId);
    const nameByTable = new Map([...this.vrfTables].map(([n, t]) => [t, n]));
    const vrfName = (id: number) => nameByTable.get(id) ?? `#table${id}`;
    const grouped = new Map<string, FlowSpec[]>();
    for (const f of await this.dumpFlows()) {
      const key = flowOwner(f, this.tables, vrfName) ?? `unknown:${flowText(f, false)}`;
      const list = grouped.get(key);
      if (list) list.push(f);
      else grouped.set(key, [f]);
    }
    if (!sameFlows(grouped.get('base') ?? [], baseFlows(this.tables))) {
      // The driver's own dispatch flow: put back without asking anyone.
      for (const f of baseFlows(this.tables)) conn.send(flowMod(conn.nextXid(), { ...f, cookie: AGENT_COOKIE, cookieMask: 0n, command: FlowModCommand.ADD }));
      await conn.barrier();
    }
    grouped.delete('base');
    // Remember only the flows that are not what their entry installs: the rest follow from the entries.
    this.flowsByKey = new Map();

    const out: InstalledState = { vrfs: [], vrfRoutes: [], lfibEntries: [], transportPaths: [] };
    const known = new Set<string>();
    const consider = <T>(entry: Entry, value: T, differs: (v: T) => T, list: T[]) => {
      const key = entryKeyOf(entry);
      known.add(key);
      let want: FlowSpec[] | undefined;
      try {
        want = this.flowsFor(entry);
      } catch (err) {
        if (!(err instanceof PipelineError)) throw err;
      }
      const have = grouped.get(key) ?? [];
      if (want && sameFlows(want, have)) list.push(value);
      else if (have.length) {
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
        const md = flows[0]!.instructions.find((i) => i.type === 'write_metadata');
        const tableId = md?.type === 'write_metadata' ? Number(md.metadata) : 0;
        out.vrfs.push({ name: rest, tableId, rd: '', importRouteTargets: [], exportRouteTargets: [], interfaces: [], vpn: '' } satisfies VrfInstance);
      } else if (kind === 'route') {
        const [vrf, prefix] = rest.split('\u0000') as [string, string];
        out.vrfRoutes.push({ vrf, prefix, nextHop: undefined, source: 0 } satisfies VrfRoute);
      } else if (kind === 'label') {
        out.lfibEntries.push({ inLabel: Number(rest), action: undefined, owner: '' } satisfies LfibEntry);
      } else {
        // Not an entry at all (a flow in our tables with our cookie we cannot place): remove it now.
        for (const f of flows) conn.send(flowMod(conn.nextXid(), { ...f, cookie: AGENT_COOKIE, cookieMask: AGENT_COOKIE_MASK, command: FlowModCommand.DELETE_STRICT }));
        await conn.barrier();
      }
    }
    return out;
  }

  async apply(changes: readonly DesiredStateChange[]): Promise<ChangeFailure[]> {
    const conn = await this.connection();
    const failures = new Map<number, string>();
    const plan: PlannedFlowMod[] = [];
    const touched: string[] = [];
    let portsRefreshed = false;
    for (const [index, c] of changes.entries()) {
      const del = c.kind === ChangeKind.CHANGE_KIND_DELETE;
      const e = (del ? c.previous : c.entry)?.entry;
      if (!e) {
        failures.set(index, 'change without an entry');
        continue;
      }
      if (e.$case === 'transportPath') continue;
      const key = entryKeyOf(e);
      if (e.$case === 'vrf' && !del) this.vrfTables.set(e.value.name, e.value.tableId);
      let next: FlowSpec[] = [];
      if (!del) {
        try {
          next = this.flowsFor(e);
        } catch (err) {
          if (!(err instanceof PipelineError)) throw err;
          if (!portsRefreshed && err.message.startsWith('no port')) {
            portsRefreshed = true;
            await this.refreshPorts(conn);
            try {
              next = this.flowsFor(e);
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
      let old = this.flowsByKey.get(key);
      if (!old && c.previous?.entry) {
        try {
          old = this.flowsFor(c.previous.entry);
        } catch {
          old = [];
        }
      }
      for (const flow of next) plan.push({ index, command: FlowModCommand.ADD, flow });
      if (old?.length) {
        // An ADD with the same table, priority and match replaces a flow (OpenFlow 1.3.5 §6.4); delete only the others.
        const keep = new Set(next.map((f) => flowText(f, false)));
        for (const flow of old) if (!keep.has(flowText(flow, false))) plan.push({ index, command: FlowModCommand.DELETE_STRICT, flow });
      }
      touched.push(key);
      if (del && e.$case === 'vrf') this.vrfTables.delete(e.value.name);
    }

    this.flowModsSent += plan.length;
    const refused = this.atomic && plan.length > 0 ? await this.sendBundle(conn, plan) : await this.sendStreamed(conn, plan);
    for (const [index, reason] of refused) if (!failures.has(index)) failures.set(index, reason);
    // Written (or failed: then the next read tells what is there).
    for (const key of touched) this.flowsByKey.delete(key);
    return [...failures].map(([index, reason]) => ({ index, reason })).sort((a, b) => a.index - b.index);
  }

  /** Streams the flow mods with one barrier; returns the reason of each change a flow mod of which failed. */
  private async sendStreamed(conn: OpenFlowConnection, plan: readonly PlannedFlowMod[]): Promise<Map<number, string>> {
    const byXid = new Map<number, number>();
    for (const p of plan) {
      const xid = conn.nextXid();
      byXid.set(xid, p.index);
      conn.send(flowMod(xid, { ...p.flow, cookie: AGENT_COOKIE, cookieMask: p.command === FlowModCommand.ADD ? 0n : AGENT_COOKIE_MASK, command: p.command }));
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
  private async sendBundle(conn: OpenFlowConnection, plan: readonly PlannedFlowMod[]): Promise<Map<number, string>> {
    const id = this.bundleId++;
    const flags = BUNDLE_ATOMIC | BUNDLE_ORDERED;
    await conn.request((xid) => bundleControl(xid, id, BundleCtrl.OPEN_REQUEST, flags));
    for (const p of plan) {
      const xid = conn.nextXid();
      const inner = flowMod(xid, { ...p.flow, cookie: AGENT_COOKIE, cookieMask: p.command === FlowModCommand.ADD ? 0n : AGENT_COOKIE_MASK, command: p.command });
      conn.send(bundleAdd(xid, id, flags, inner));
    }
    try {
      await conn.request((xid) => bundleControl(xid, id, BundleCtrl.COMMIT_REQUEST, flags));
      conn.takeAllErrors();
      return new Map();
    } catch (err) {
      if (!(err instanceof OpenFlowError)) throw err;
      conn.takeAllErrors();
      return this.sendStreamed(conn, plan);
    }
  }

  async close(): Promise<void> {
    this.conn?.close();
    this.conn = undefined;
  }
}
