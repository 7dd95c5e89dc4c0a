// What one intent write carries through its transaction: the changes it made
// (rows created, updated, deleted) and the nodes whose desired state they touch.
import type { Prisma, PrismaClient } from '../../common/gen/prisma/client.js';
import type { IntentStore } from '../store/intent-store.js';
import type { Change } from './types.js';

export type Tx = Prisma.TransactionClient;
export type Db = Tx | PrismaClient;

/** The labels service's node SID indexes, asked before a write stores an index it names. */
export interface SidIndexPool {
  /** Why `node` cannot take `index` now (held by another, in hold-down); undefined when it can. */
  sidIndexUnavailable(index: number, node: string): Promise<string | undefined>;
}

export class WriteContext {
  readonly changes: Change[] = [];
  readonly nodes = new Set<string>();
  constructor(
    readonly store: IntentStore,
    readonly sidIndexes?: SidIndexPool,
  ) {}

  changed(kind: Change['kind'], id: string, action: Change['action']): void {
    this.changes.push({ kind, id, action });
  }

  affect(...nodes: (string | undefined)[]): void {
    for (const n of nodes) if (n) this.nodes.add(n);
  }

  /** Every node's desired state depends on the whole topology (SR shortest paths, node SIDs). */
  async affectAllNodes(): Promise<void> {
    for (const id of await this.store.nodes.allIds()) this.nodes.add(id);
  }
}

const TABLES = new Set(['node', 'link', 'vpn', 'site', 'vrf']);

/**
 * Takes row locks, in id order so two writers never wait on each other in a
 * circle. `key share` only keeps the rows from being deleted (what a
 * foreign key needs): it waits for no other writer and no status update.
 */
export async function lockRows(tx: Tx, table: string, ids: string[], mode: 'update' | 'key share' = 'update'): Promise<string[]> {
  if (!TABLES.has(table)) throw new Error(`not a lockable table: ${table}`);
  const sorted = [...new Set(ids)].sort();
  if (!sorted.length) return [];
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(`SELECT id FROM "${table}" WHERE id = ANY($1::text[]) ORDER BY id FOR ${mode === 'update' ? 'UPDATE' : 'KEY SHARE'}`, sorted);
  return rows.map((r) => r.id);
}

/** Serialises the writers of the same node interfaces (a transaction-scoped advisory lock per interface, in order). */
export async function lockInterfaces(tx: Tx, ends: { node: string; interface: string }[]): Promise<void> {
  const keys = [...new Set(ends.map((e) => `interface:${e.node}:${e.interface}`))].sort();
  for (const key of keys) await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${key}))`;
}
