// Differences between two desired states of one node, in the order that
// never black-holes traffic (see DesiredStateDelta in agent.proto):
//   1. VRFs added; VRFs changed, to the union of old and new interfaces;
//   2. transport paths, then LFIB entries, added or changed (transport
//      labels before VPN labels);
//   3. VRF routes added or changed, then VRF routes deleted;
//   4. LFIB entries deleted (VPN labels before transport labels), then
//      transport paths deleted;
//   5. VRFs changed to their final interfaces, then VRFs deleted.
// Within a step, entries are in key order. Used by the controller to send
// deltas, by agents to apply them, and by the plan (dry-run) feature to say
// what a change would do.
import {
  ChangeKind,
  type DesiredStateChange,
  type DesiredStateDelta,
  type DesiredStateEntry,
  type DesiredStateEntryKey,
  type LfibEntry,
  type NodeDesiredState,
  type RemotePeNextHop,
  type TransportPath,
  type VrfInstance,
  type VrfInterface,
  type VrfRoute,
} from '../gen/proto/l3vpn/v1/agent.js';
import { comparePrefixKeys, compareStrings, prefixInfo } from './prefix.js';

/** Structural equality of generated messages (undefined and absent are equal). */
export function messageEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!messageEquals(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k in ao) if (!messageEquals(ao[k], bo[k])) return false;
  for (const k in bo) if (!(k in ao) && bo[k] !== undefined) return false;
  return true;
}

export function vrfRouteKey(r: { vrf: string; prefix: string }): string {
  return `${r.vrf}\u0000${r.prefix}`;
}

function interfaceKey(i: VrfInterface): string {
  return `${i.name}\u0000${String(i.vlan).padStart(4, '0')}`;
}

/** The key of an entry, for reports. */
export function entryKey(entry: DesiredStateEntry): DesiredStateEntryKey {
  const e = entry.entry;
  switch (e?.$case) {
    case 'vrf':
      return { key: { $case: 'vrf', value: e.value.name } };
    case 'vrfRoute':
      return { key: { $case: 'vrfRoute', value: { vrf: e.value.vrf, prefix: e.value.prefix } } };
    case 'lfibEntry':
      return { key: { $case: 'inLabel', value: e.value.inLabel } };
    case 'transportPath':
      return { key: { $case: 'transportPath', value: e.value.remoteNode } };
    default:
      return { key: undefined };
  }
}

interface Compared<T> {
  added: T[];
  modified: [T, T][];
  deleted: T[];
}

function compare<T>(before: readonly T[], after: readonly T[], key: (v: T) => string): Compared<T> {
  const old = new Map<string, T>();
  for (const v of before) old.set(key(v), v);
  const out: Compared<T> = { added: [], modified: [], deleted: [] };
  const seen = new Set<string>();
  for (const v of after) {
    const k = key(v);
    seen.add(k);
    const o = old.get(k);
    if (o === undefined) out.added.push(v);
    else if (!messageEquals(o, v)) out.modified.push([o, v]);
  }
  for (const [k, v] of old) if (!seen.has(k)) out.deleted.push(v);
  return out;
}

function remoteEquals(a: RemotePeNextHop, b: RemotePeNextHop): boolean {
  if (a === b) return true;
  if (a.labels.length !== b.labels.length) return false;
  for (let i = 0; i < a.labels.length; i++) if (a.labels[i] !== b.labels[i]) return false;
  return (
    a.outInterface === b.outInterface &&
    a.nextHop === b.nextHop &&
    a.remotePe === b.remotePe &&
    a.remotePeAddress === b.remotePeAddress &&
    a.externalTransport === b.externalTransport &&
    a.rd === b.rd &&
    a.localSidLabel === b.localSidLabel
  );
}

/** Equality of two routes with the same key (the hot path of a diff over 100,000 routes). */
export function vrfRouteEquals(a: VrfRoute, b: VrfRoute): boolean {
  if (a === b) return true;
  if (a.source !== b.source || a.vrf !== b.vrf || a.prefix !== b.prefix) return false;
  // ECMP members (absent on routes decoded by an older peer: none).
  const am = a.multipath ?? [];
  const bm = b.multipath ?? [];
  if (am.length !== bm.length) return false;
  for (let i = 0; i < am.length; i++) if (!remoteEquals(am[i]!, bm[i]!)) return false;
  const x = a.nextHop;
  const y = b.nextHop;
  if (x === y) return true;
  if (!x || !y || x.$case !== y.$case) return false;
  if (x.$case === 'remote') return remoteEquals(x.value, y.value as RemotePeNextHop);
  return messageEquals(x.value, y.value);
}

/** Routes compared by (vrf, prefix), with nested maps so no key strings are built. */
function compareRoutes(before: readonly VrfRoute[], after: readonly VrfRoute[]): Compared<VrfRoute> {
  const old = new Map<string, Map<string, VrfRoute>>();
  for (const r of before) {
    let m = old.get(r.vrf);
    if (!m) old.set(r.vrf, (m = new Map()));
    m.set(r.prefix, r);
  }
  const out: Compared<VrfRoute> = { added: [], modified: [], deleted: [] };
  for (const r of after) {
    const m = old.get(r.vrf);
    const o = m?.get(r.prefix);
    if (o === undefined) out.added.push(r);
    else {
      m!.delete(r.prefix);
      if (!vrfRouteEquals(o, r)) out.modified.push([o, r]);
    }
  }
  for (const m of old.values()) for (const r of m.values()) out.deleted.push(r);
  return out;
}

function sortBy<T>(list: T[], key: (v: T) => string): T[] {
  return list
    .map((value) => ({ key: key(value), value }))
    .sort((a, b) => compareStrings(a.key, b.key))
    .map((k) => k.value);
}

/** Sorts routes by (VRF, prefix), the order of NodeDesiredState.vrf_routes. */
function sortRoutes<T>(list: T[], route: (v: T) => VrfRoute): T[] {
  return list
    .map((value) => ({ vrf: route(value).vrf, key: prefixInfo(route(value).prefix).key, value }))
    .sort((a, b) => compareStrings(a.vrf, b.vrf) || comparePrefixKeys(a.key, b.key))
    .map((k) => k.value);
}

function sortByNumber<T>(list: T[], key: (v: T) => number): T[] {
  return list.sort((a, b) => key(a) - key(b));
}

const isTransportLfib = (e: LfibEntry): boolean => e.action?.$case === 'swap' || e.action?.$case === 'pop';

const vrfEntry = (value: VrfInstance): DesiredStateEntry => ({ entry: { $case: 'vrf', value } });
const routeEntry = (value: VrfRoute): DesiredStateEntry => ({ entry: { $case: 'vrfRoute', value } });
const lfibEntry = (value: LfibEntry): DesiredStateEntry => ({ entry: { $case: 'lfibEntry', value } });
const pathEntry = (value: TransportPath): DesiredStateEntry => ({ entry: { $case: 'transportPath', value } });

const add = (entry: DesiredStateEntry): DesiredStateChange => ({ kind: ChangeKind.CHANGE_KIND_ADD, entry, previous: undefined });
const modify = (previous: DesiredStateEntry, entry: DesiredStateEntry): DesiredStateChange => ({
  kind: ChangeKind.CHANGE_KIND_MODIFY,
  entry,
  previous,
});
const remove = (previous: DesiredStateEntry): DesiredStateChange => ({ kind: ChangeKind.CHANGE_KIND_DELETE, entry: undefined, previous });

/**
 * The delta from `before` (undefined: nothing installed) to `after`, with
 * changes in the safe apply order. Generations are taken from the states.
 */
export function diffDesiredState(before: NodeDesiredState | undefined, after: NodeDesiredState): DesiredStateDelta {
  const b = before ?? { vrfs: [], vrfRoutes: [], lfibEntries: [], transportPaths: [], generation: 0 };
  const vrfs = compare(b.vrfs, after.vrfs, (v) => v.name);
  const routes = compareRoutes(b.vrfRoutes, after.vrfRoutes);
  const lfib = compare(b.lfibEntries, after.lfibEntries, (e) => String(e.inLabel));
  const paths = compare(b.transportPaths, after.transportPaths, (p) => p.remoteNode);
  const changes: DesiredStateChange[] = [];

  // 1. VRFs first, keeping interfaces that are going away until step 5.
  const byName = (v: VrfInstance) => v.name;
  for (const v of sortBy(vrfs.added, byName)) changes.push(add(vrfEntry(v)));
  const late: DesiredStateChange[] = [];
  for (const [o, n] of sortBy(vrfs.modified, ([, n]) => n.name)) {
    const newKeys = new Set(n.interfaces.map(interfaceKey));
    const leaving = o.interfaces.filter((i) => !newKeys.has(interfaceKey(i)));
    if (leaving.length === 0) {
      changes.push(modify(vrfEntry(o), vrfEntry(n)));
      continue;
    }
    const union: VrfInstance = {
      ...n,
      interfaces: [...n.interfaces, ...leaving].sort((x, y) => compareStrings(interfaceKey(x), interfaceKey(y))),
    };
    if (!messageEquals(o, union)) changes.push(modify(vrfEntry(o), vrfEntry(union)));
    late.push(modify(vrfEntry(union), vrfEntry(n)));
  }

  // 2. Transport paths and LFIB entries, transport labels first.
  const byRemote = (p: TransportPath) => p.remoteNode;
  for (const p of sortBy(paths.added, byRemote)) changes.push(add(pathEntry(p)));
  for (const [o, n] of sortBy(paths.modified, ([, n]) => n.remoteNode)) changes.push(modify(pathEntry(o), pathEntry(n)));
  const lfibUpserts: [LfibEntry | undefined, LfibEntry][] = [
    ...lfib.added.map((n): [undefined, LfibEntry] => [undefined, n]),
    ...lfib.modified,
  ];
  const upsertOrder = (x: [LfibEntry | undefined, LfibEntry]) => (isTransportLfib(x[1]) ? 0 : 1) * 2 ** 21 + x[1].inLabel;
  for (const [o, n] of sortByNumber(lfibUpserts, upsertOrder)) changes.push(o ? modify(lfibEntry(o), lfibEntry(n)) : add(lfibEntry(n)));

  // 3. Routes: new and changed ones, then the ones that go.
  const routeUpserts: [VrfRoute | undefined, VrfRoute][] = [
    ...routes.added.map((n): [undefined, VrfRoute] => [undefined, n]),
    ...routes.modified,
  ];
  for (const [o, n] of sortRoutes(routeUpserts, ([, n]) => n)) {
    changes.push(o ? modify(routeEntry(o), routeEntry(n)) : add(routeEntry(n)));
  }
  for (const o of sortRoutes(routes.deleted, (r) => r)) changes.push(remove(routeEntry(o)));

  // 4. Labels and paths nothing uses any more: VPN labels, then transport.
  const deleteOrder = (e: LfibEntry) => (isTransportLfib(e) ? 1 : 0) * 2 ** 21 + e.inLabel;
  for (const o of sortByNumber(lfib.deleted, deleteOrder)) changes.push(remove(lfibEntry(o)));
  for (const o of sortBy(paths.deleted, byRemote)) changes.push(remove(pathEntry(o)));

  // 5. Interfaces leave their VRFs, then VRFs go.
  changes.push(...late);
  for (const o of sortBy(vrfs.deleted, byName)) changes.push(remove(vrfEntry(o)));

  const transportChanged = !messageEquals(before?.transport, after.transport);
  const roleChanged = before?.role !== after.role;
  return {
    node: after.node,
    fromGeneration: b.generation,
    generation: after.generation,
    changes,
    transport: transportChanged ? after.transport : undefined,
    role: roleChanged ? after.role : 0,
  };
}

export interface DeltaSummary {
  added: number;
  modified: number;
  deleted: number;
  byKind: Record<'vrf' | 'vrfRoute' | 'lfibEntry' | 'transportPath', { added: number; modified: number; deleted: number }>;
}

/** Counts of a delta's changes, for plans and logs. */
export function summarizeDelta(delta: DesiredStateDelta): DeltaSummary {
  const zero = () => ({ added: 0, modified: 0, deleted: 0 });
  const s: DeltaSummary = { ...zero(), byKind: { vrf: zero(), vrfRoute: zero(), lfibEntry: zero(), transportPath: zero() } };
  for (const c of delta.changes) {
    const kind = (c.entry ?? c.previous)?.entry?.$case;
    const field = c.kind === ChangeKind.CHANGE_KIND_ADD ? 'added' : c.kind === ChangeKind.CHANGE_KIND_MODIFY ? 'modified' : 'deleted';
    s[field]++;
    if (kind) s.byKind[kind][field]++;
  }
  return s;
}

/**
 * Applies a delta to a state and returns the new state (the input is not
 * changed). Lists keep the key order of NodeDesiredState. Throws if a change
 * does not fit (an ADD of an existing key, a MODIFY or DELETE of a missing one).
 */
export function applyDelta(state: NodeDesiredState, delta: DesiredStateDelta): NodeDesiredState {
  const vrfs = new Map(state.vrfs.map((v) => [v.name, v]));
  const routes = new Map(state.vrfRoutes.map((r) => [vrfRouteKey(r), r]));
  const lfib = new Map(state.lfibEntries.map((e) => [e.inLabel, e]));
  const paths = new Map(state.transportPaths.map((p) => [p.remoteNode, p]));
  for (const change of delta.changes) applyChange({ vrfs, routes, lfib, paths }, change);
  return {
    ...state,
    generation: delta.generation,
    role: delta.role || state.role,
    transport: delta.transport ?? state.transport,
    vrfs: sortBy([...vrfs.values()], (v) => v.name),
    vrfRoutes: sortRoutes([...routes.values()], (r) => r),
    lfibEntries: [...lfib.values()].sort((a, b) => a.inLabel - b.inLabel),
    transportPaths: sortBy([...paths.values()], (p) => p.remoteNode),
  };
}

export interface StateTables {
  vrfs: Map<string, VrfInstance>;
  routes: Map<string, VrfRoute>;
  lfib: Map<number, LfibEntry>;
  paths: Map<string, TransportPath>;
}

/** Applies one change to keyed tables (what an in-memory driver holds). */
export function applyChange(t: StateTables, change: DesiredStateChange): void {
  const e = (change.kind === ChangeKind.CHANGE_KIND_DELETE ? change.previous : change.entry)?.entry;
  if (!e) throw new Error('change without an entry');
  const step = <K, V>(map: Map<K, V>, key: K, value: V, what: string) => {
    const has = map.has(key);
    if (change.kind === ChangeKind.CHANGE_KIND_ADD && has) throw new Error(`ADD of existing ${what}`);
    if (change.kind !== ChangeKind.CHANGE_KIND_ADD && !has) throw new Error(`${ChangeKind[change.kind]} of missing ${what}`);
    if (change.kind === ChangeKind.CHANGE_KIND_DELETE) map.delete(key);
    else map.set(key, value);
  };
  switch (e.$case) {
    case 'vrf':
      return step(t.vrfs, e.value.name, e.value, `VRF ${e.value.name}`);
    case 'vrfRoute':
      return step(t.routes, vrfRouteKey(e.value), e.value, `route ${e.value.vrf} ${e.value.prefix}`);
    case 'lfibEntry':
      return step(t.lfib, e.value.inLabel, e.value, `label ${e.value.inLabel}`);
    case 'transportPath':
      return step(t.paths, e.value.remoteNode, e.value, `transport path to ${e.value.remoteNode}`);
  }
}

/**
 * What in a state refers to something the state does not hold: a route or
 * label into a missing VRF or an interface the VRF does not have, a remote
 * route over SR without a transport path to its PE. Empty for every state
 * computeNodeDesiredState produces, and after every step of a delta.
 */
export function danglingReferences(t: StateTables): string[] {
  const out: string[] = [];
  const hasInterface = (vrf: string, name: string, vlan: number) =>
    t.vrfs.get(vrf)?.interfaces.some((i) => i.name === name && i.vlan === vlan) ?? false;
  for (const r of t.routes.values()) {
    if (!t.vrfs.has(r.vrf)) {
      out.push(`route ${r.vrf} ${r.prefix}: no VRF`);
      continue;
    }
    const nh = r.nextHop;
    if (nh?.$case === 'local' && !hasInterface(r.vrf, nh.value.interface, nh.value.vlan)) {
      out.push(`route ${r.vrf} ${r.prefix}: interface ${nh.value.interface}.${nh.value.vlan} not in the VRF`);
    }
    if (nh?.$case === 'remote' && !nh.value.externalTransport && !t.paths.has(nh.value.remotePe)) {
      out.push(`route ${r.vrf} ${r.prefix}: no transport path to ${nh.value.remotePe}`);
    }
    // A driver with fast failover forwards the route through that label's entry (its primary and backup next hops).
    if (nh?.$case === 'remote' && nh.value.localSidLabel && !t.lfib.has(nh.value.localSidLabel)) {
      out.push(`route ${r.vrf} ${r.prefix}: no LFIB entry of label ${nh.value.localSidLabel}`);
    }
  }
  for (const e of t.lfib.values()) {
    const a = e.action;
    if (a?.$case === 'popAndLookup' && !t.vrfs.has(a.value.vrf)) out.push(`label ${e.inLabel}: no VRF ${a.value.vrf}`);
    if (a?.$case === 'popAndForward') {
      const nh = a.value.nextHop;
      if (!nh || !hasInterface(a.value.vrf, nh.interface, nh.vlan)) out.push(`label ${e.inLabel}: no interface in VRF ${a.value.vrf}`);
    }
  }
  return out;
}

/** Keyed tables of a state. */
export function stateTables(state: NodeDesiredState): StateTables {
  return {
    vrfs: new Map(state.vrfs.map((v) => [v.name, v])),
    routes: new Map(state.vrfRoutes.map((r) => [vrfRouteKey(r), r])),
    lfib: new Map(state.lfibEntries.map((e) => [e.inLabel, e])),
    paths: new Map(state.transportPaths.map((p) => [p.remoteNode, p])),
  };
}
