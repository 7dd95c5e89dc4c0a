// The agent's reconciler: holds the node's desired state, applies the
// controller's deltas to the driver as they come (only the changed entries,
// in the delta's order, which never black-holes: see DesiredStateDelta in
// agent.proto), and reconciles level-triggered — it reads what the driver
// really has, diffs it with the desired state and repairs the difference.
// Keeps the last applied state in a store on the node (headless mode).
// No sockets and no timers of its own: the driver, the store and the clock
// are injected; the controller link (controller-link.ts) drives it.
import {
  ChangeKind,
  DriftKind,
  type DesiredStateChange,
  type DesiredStateDelta,
  type DesiredStateEntryKey,
  type Drift,
  type EntryFailure,
  NodeRole,
  type NodeDesiredState,
  type NodeTransport,
  type ReportStatusRequest,
  type VrfInstance,
} from '../common/gen/proto/l3vpn/v1/agent.js';
import { applyChange, diffDesiredState, entryKey, messageEquals, stateTables, vrfRouteKey, type StateTables } from '../common/desired-state/index.js';
import type { Driver } from './driver.js';
import type { StateStore } from './state-file.js';

export interface Clock {
  now(): Date;
}

/** The subset of a pino logger the agent uses. */
export interface AgentLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AgentOptions {
  node: string;
  driver: Driver;
  store?: StateStore;
  clock?: Clock;
  log?: AgentLog;
  /** Writes of the state file coalesce over this long (off the apply path). */
  persistDelayMs?: number;
}

export type DeltaOutcome =
  /** Applied (entries the driver refused are failures in the next report). */
  | 'applied'
  /** The delta does not start at the generation held, or does not fit it: watch again for a snapshot. */
  | 'out-of-sequence';

export interface ReconcileResult {
  /** Changes made to the driver. */
  changes: number;
  drift: Drift[];
  failures: number;
}

type Key = string;

const MAX_DRIFT_HELD = 1000;

function keyString(k: DesiredStateEntryKey): Key {
  const v = k.key;
  switch (v?.$case) {
    case 'vrf':
      return `vrf:${v.value}`;
    case 'vrfRoute':
      return `route:${vrfRouteKey(v.value)}`;
    case 'inLabel':
      return `label:${v.value}`;
    case 'transportPath':
      return `path:${v.value}`;
    default:
      return 'none';
  }
}

const changeEntry = (c: DesiredStateChange) => (c.kind === ChangeKind.CHANGE_KIND_DELETE ? c.previous : c.entry);

function changeKey(c: DesiredStateChange): DesiredStateEntryKey {
  const e = changeEntry(c);
  return e ? entryKey(e) : { key: undefined };
}

function lookup(t: StateTables, k: DesiredStateEntryKey): unknown {
  const v = k.key;
  switch (v?.$case) {
    case 'vrf':
      return t.vrfs.get(v.value);
    case 'vrfRoute':
      return t.routes.get(vrfRouteKey(v.value));
    case 'inLabel':
      return t.lfib.get(v.value);
    case 'transportPath':
      return t.paths.get(v.value);
    default:
      return undefined;
  }
}

const has = (t: StateTables, k: DesiredStateEntryKey) => lookup(t, k) !== undefined;

/** Whether every change of a delta fits the tables (ADD of a new key, MODIFY/DELETE of an existing one), in order. */
function deltaFits(t: StateTables, changes: readonly DesiredStateChange[]): boolean {
  const overlay = new Map<Key, boolean>();
  for (const c of changes) {
    const k = changeKey(c);
    if (!k.key) return false;
    const ks = keyString(k);
    const present = overlay.get(ks) ?? has(t, k);
    if ((c.kind === ChangeKind.CHANGE_KIND_ADD) === present) return false;
    if (c.kind !== ChangeKind.CHANGE_KIND_ADD && c.kind !== ChangeKind.CHANGE_KIND_MODIFY && c.kind !== ChangeKind.CHANGE_KIND_DELETE) return false;
    overlay.set(ks, c.kind !== ChangeKind.CHANGE_KIND_DELETE);
  }
  return true;
}

function renumbersVrf(c: DesiredStateChange): boolean {
  const [a, b] = [c.previous?.entry, c.entry?.entry];
  return c.kind === ChangeKind.CHANGE_KIND_MODIFY && a?.$case === 'vrf' && b?.$case === 'vrf' && a.value.tableId !== b.value.tableId;
}

const DRIFT_OF: Record<number, DriftKind> = {
  [ChangeKind.CHANGE_KIND_ADD]: DriftKind.DRIFT_KIND_MISSING,
  [ChangeKind.CHANGE_KIND_DELETE]: DriftKind.DRIFT_KIND_UNEXPECTED,
  [ChangeKind.CHANGE_KIND_MODIFY]: DriftKind.DRIFT_KIND_MODIFIED,
};

function brief(c: DesiredStateChange): string {
  const show = (v: unknown) => {
    const s = JSON.stringify(v);
    return s.length > 300 ? `${s.slice(0, 297)}...` : s;
  };
  switch (c.kind) {
    case ChangeKind.CHANGE_KIND_ADD:
      return 'not installed';
    case ChangeKind.CHANGE_KIND_DELETE:
      return `installed but not desired: ${show(c.previous?.entry?.value)}`;
    default:
      return `installed as ${show(c.previous?.entry?.value)}`;
  }
}

export class Agent {
  readonly node: string;
  private readonly driver: Driver;
  private readonly store: StateStore | undefined;
  private readonly clock: Clock;
  private readonly log: AgentLog | undefined;
  private readonly persistDelayMs: number;

  private tables: StateTables | undefined;
  private generationHeld = 0;
  private role: NodeRole = NodeRole.NODE_ROLE_UNSPECIFIED;
  private transport: NodeTransport | undefined;
  private appliedAt: Date | undefined;
  private failures = new Map<Key, EntryFailure>();
  /** Drift found and not yet reported. */
  private drift: Drift[] = [];

  private queue: Promise<unknown> = Promise.resolve();
  private persistTimer: NodeJS.Timeout | undefined;
  private persisting: Promise<void> | undefined;
  private persistDirty = false;

  constructor(options: AgentOptions) {
    this.node = options.node;
    this.driver = options.driver;
    this.store = options.store;
    this.clock = options.clock ?? { now: () => new Date() };
    this.log = options.log;
    this.persistDelayMs = options.persistDelayMs ?? 100;
  }

  /** The generation applied; 0 before any state is known. */
  get generation(): number {
    return this.generationHeld;
  }

  get hasState(): boolean {
    return this.tables !== undefined;
  }

  /**
   * Restores the persisted state, if any, and reconciles the driver with it
   * (headless start). Without one nothing is touched: an unknown desired
   * state is not an empty one.
   */
  start(): Promise<'restored' | 'empty'> {
    return this.serial(async () => {
      const saved = await this.store?.load();
      if (!saved) return 'empty';
      if (saved.node !== this.node) {
        this.log?.warn({ stateNode: saved.node, node: this.node }, 'persisted state is of another node; ignoring it');
        return 'empty';
      }
      this.hold(saved);
      // What is missing now was installed when the state was saved: drift.
      await this.reconcileNow('start', this.tables);
      this.log?.info({ generation: saved.generation }, 'restored the persisted desired state');
      return 'restored';
    });
  }

  /** A complete desired state: diffed with what is installed, only the difference is applied. */
  applySnapshot(state: NodeDesiredState): Promise<ReconcileResult> {
    return this.serial(async () => {
      if (state.node !== this.node) throw new Error(`snapshot is for node ${state.node}, this agent is ${this.node}`);
      const believed = this.tables;
      this.hold(state);
      const result = await this.reconcileNow('snapshot', believed);
      this.schedulePersist();
      return result;
    });
  }

  /** A delta from the generation held: its changes go to the driver as they are. */
  applyDelta(delta: DesiredStateDelta): Promise<DeltaOutcome> {
    return this.serial(async () => {
      const t = this.tables;
      if (!t || delta.node !== this.node || delta.fromGeneration !== this.generationHeld || !deltaFits(t, delta.changes)) return 'out-of-sequence';
      const changes = this.driver.programsTransportPaths
        ? delta.changes
        : delta.changes.filter((c) => changeEntry(c)?.entry?.$case !== 'transportPath');
      const failed = await this.driver.apply(changes);
      for (const c of delta.changes) applyChange(t, c);
      this.generationHeld = delta.generation;
      if (delta.role) this.role = delta.role;
      if (delta.transport) this.transport = delta.transport;
      const failedAt = new Map(failed.map((f) => [f.index, f.reason]));
      changes.forEach((c, i) => {
        const key = changeKey(c);
        const ks = keyString(key);
        const reason = failedAt.get(i);
        if (reason === undefined) this.failures.delete(ks);
        else this.failures.set(ks, { key, kind: c.kind, reason, generation: delta.generation });
      });
      this.appliedAt = this.clock.now();
      // A VRF renumbered in place leaves its routes and labels pointing at the old table in a
      // driver that keys them by table id (OVS metadata): a pass re-derives them now.
      if (delta.changes.some(renumbersVrf)) await this.reconcileNow('vrf renumbered', undefined);
      this.schedulePersist();
      return 'applied';
    });
  }

  /** Reads the installed state and repairs any difference from the desired one. */
  reconcile(reason = 'periodic'): Promise<ReconcileResult> {
    return this.serial(() => this.reconcileNow(reason, this.tables));
  }

  /** The VRFs of the desired state held (none before one is known): cheaper than desiredState() when only they matter. */
  vrfs(): VrfInstance[] {
    return [...(this.tables?.vrfs.values() ?? [])];
  }

  /** The desired state held (lists in no particular order), or undefined. */
  desiredState(): NodeDesiredState | undefined {
    const t = this.tables;
    if (!t) return undefined;
    return {
      node: this.node,
      generation: this.generationHeld,
      role: this.role,
      transport: this.transport,
      vrfs: [...t.vrfs.values()],
      vrfRoutes: [...t.routes.values()],
      lfibEntries: [...t.lfib.values()],
      transportPaths: [...t.paths.values()],
    };
  }

  /** What to tell the controller: applied generation, current failures, drift not yet reported. */
  report(): ReportStatusRequest {
    const t = this.tables;
    const failed = { vrf: 0, vrfRoute: 0, inLabel: 0, transportPath: 0 };
    for (const f of this.failures.values()) {
      const c = f.key?.key?.$case;
      if (c && f.kind !== ChangeKind.CHANGE_KIND_DELETE) failed[c]++;
    }
    return {
      node: this.node,
      appliedGeneration: this.generationHeld,
      failures: [...this.failures.values()],
      drift: [...this.drift],
      driver: this.driver.name,
      appliedAt: this.appliedAt,
      installedVrfs: Math.max(0, (t?.vrfs.size ?? 0) - failed.vrf),
      installedVrfRoutes: Math.max(0, (t?.routes.size ?? 0) - failed.vrfRoute),
      installedLfibEntries: Math.max(0, (t?.lfib.size ?? 0) - failed.inLabel),
      // Filled by the controller link (liveness.ts).
      ports: [],
      links: [],
      heartbeat: false,
    };
  }

  /** The controller has the report: its drift need not be sent again. */
  reportSent(report: ReportStatusRequest): void {
    this.drift.splice(0, report.drift.length);
  }

  /** Writes the state file now if a write is pending, and waits for it. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.persistTimer) {
        clearTimeout(this.persistTimer);
        this.persistTimer = undefined;
        this.persistNow();
      }
      if (!this.persisting) return;
      // A change during this write schedules the next one: loop until none is pending.
      await this.persisting;
    }
  }

  private hold(state: NodeDesiredState): void {
    this.tables = stateTables(state);
    this.generationHeld = state.generation;
    this.role = state.role;
    this.transport = state.transport;
  }

  /**
   * Makes the driver match the desired state. `believed` is what the agent
   * last made the driver hold: a difference between it and the installed
   * state is drift; a difference between it and the desired state is just
   * a change (no belief: a first snapshot, nothing is drift).
   */
  private async reconcileNow(reason: string, believed: StateTables | undefined): Promise<ReconcileResult> {
    const desired = this.desiredState();
    if (!desired) return { changes: 0, drift: [], failures: 0 };
    const installed = await this.driver.read(desired);
    const before: NodeDesiredState = {
      ...desired,
      vrfs: installed.vrfs,
      vrfRoutes: installed.vrfRoutes,
      lfibEntries: installed.lfibEntries,
      transportPaths: this.driver.programsTransportPaths ? installed.transportPaths : desired.transportPaths,
    };
    const { changes } = diffDesiredState(before, desired);
    const failed = changes.length ? await this.driver.apply(changes) : [];
    const failedAt = new Map(failed.map((f) => [f.index, f.reason]));
    // The pass covers every entry: what does not fail now is installed as desired.
    const previous = this.failures;
    this.failures = new Map();
    changes.forEach((c, i) => {
      const reason = failedAt.get(i);
      if (reason === undefined) return;
      const key = changeKey(c);
      const ks = keyString(key);
      this.failures.set(ks, { key, kind: c.kind, reason, generation: previous.get(ks)?.generation ?? this.generationHeld });
    });
    const drift: Drift[] = [];
    const seen = new Set<Key>();
    for (const c of changes) {
      const key = changeKey(c);
      const ks = keyString(key);
      // A VRF changed in two steps (interface union, then final) is one drift.
      if (seen.has(ks)) continue;
      seen.add(ks);
      // An entry the driver refused before is a failure, not drift.
      if (!believed || previous.has(ks)) continue;
      const installedEntry = c.kind === ChangeKind.CHANGE_KIND_ADD ? undefined : c.previous?.entry?.value;
      if (messageEquals(lookup(believed, key), installedEntry)) continue;
      drift.push({ key, kind: DRIFT_OF[c.kind] ?? DriftKind.DRIFT_KIND_UNSPECIFIED, repaired: !this.failures.has(ks), detail: `${reason}: ${brief(c)}` });
    }
    if (drift.length) this.log?.warn({ reason, drift: drift.length, failures: this.failures.size }, 'repaired drift');
    this.drift.push(...drift);
    // Keep a report bounded (a driver that lost everything would list every entry).
    if (this.drift.length > MAX_DRIFT_HELD) this.drift.splice(0, this.drift.length - MAX_DRIFT_HELD);
    this.appliedAt = this.clock.now();
    return { changes: changes.length, drift, failures: this.failures.size };
  }

  private schedulePersist(): void {
    if (!this.store) return;
    if (this.persistTimer || this.persisting) {
      this.persistDirty = true;
      return;
    }
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      this.persistNow();
    }, this.persistDelayMs);
    this.persistTimer.unref();
  }

  private persistNow(): void {
    const state = this.desiredState();
    if (!state || !this.store) return;
    this.persistDirty = false;
    this.persisting = this.store
      .save(state)
      .catch((err: unknown) => this.log?.warn({ err }, 'could not persist the desired state'))
      .finally(() => {
        this.persisting = undefined;
        if (this.persistDirty) this.schedulePersist();
      });
  }

  /** One operation at a time: deltas, snapshots and reconciliation passes never interleave. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
