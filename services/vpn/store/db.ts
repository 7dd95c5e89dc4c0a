// The Prisma handles the stores work through, and the locks they take.
// Only store/ names these; the rules above it take the store interfaces.
import type { Prisma, PrismaClient } from '../../common/gen/prisma/client.js';

export type Tx = Prisma.TransactionClient;
export type Db = Tx | PrismaClient;

/** How long a store transaction may wait for a connection, and run. */
export const TX_OPTIONS = { maxWait: 10_000, timeout: 30_000 } as const;

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
