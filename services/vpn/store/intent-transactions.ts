// The intent writes' transactions: one per write, with the resource's row
// lock, an IntentStore bound to it, the outbox row, and (for a dry run)
// the reads of its plan, all inside it. Deadlocks and serialisation
// failures are retried here; what the database refuses otherwise comes out
// as the store's errors (errors.ts), never as Prisma's.
import { Prisma, type PrismaClient } from '../../common/gen/prisma/client.js';
import type { NodeIntent } from '../domain/node-intent.js';
import type { ResourceKind } from '../intent/types.js';
import type { MissingValues } from '../reconcile/missing-values.js';
import type { StoredState } from '../state/desired-state-store.js';
import { prismaAllocationReads, type AllocationReads } from './allocation-store.js';
import { lockRows, TX_OPTIONS, type Db, type Tx } from './db.js';
import { ReferenceViolation, UniqueViolation } from './errors.js';
import { prismaIntentStore, type IntentStore } from './intent-store.js';
import { loadNodeIntent } from './node-intent-store.js';
import { writeOutbox, type OutboxEntry } from './outbox.js';

/** What a dry run reads inside the write's transaction, to say what the reconcile would do after it (reconcile/plan.ts). */
export interface PlanReads {
  readonly allocations: AllocationReads;
  /** The node's would-be intent; `missing` stands in for what is not allocated yet. */
  nodeIntent(node: string, missing: MissingValues): Promise<NodeIntent | undefined>;
  /** The node's latest stored desired state. */
  latestState(node: string): Promise<StoredState | undefined>;
}

/** One write's transaction. */
export interface WriteUnit {
  readonly store: IntentStore;
  /** Locks the resource's row (if it exists) until the write ends. */
  lock(kind: ResourceKind, id: string): Promise<void>;
  /** Writes the change's outbox row; its id. */
  outbox(entry: OutboxEntry): Promise<bigint>;
  readonly plans: PlanReads;
}

export interface IntentTransactions {
  /** Reads outside any write. */
  readonly reads: IntentStore;
  /**
   * Runs `work` in one transaction, committed when it returns and rolled
   * back when it throws (what it threw comes out). Retried from the start
   * after a deadlock or serialisation failure (3 attempts in all); a
   * unique or foreign-key violation comes out as UniqueViolation or
   * ReferenceViolation.
   */
  write<T>(work: (unit: WriteUnit) => Promise<T>): Promise<T>;
}

/** The one read of the desired states a plan needs (state/desired-state-store.ts). */
export interface LatestDesiredState {
  latest(node: string, db: Db): Promise<StoredState | undefined>;
}

const ATTEMPTS = 3;

export function prismaIntentTransactions(prisma: PrismaClient, desiredStates: LatestDesiredState): IntentTransactions {
  const unitOf = (tx: Tx): WriteUnit => ({
    store: prismaIntentStore(tx),
    lock: async (kind, id) => void (await lockRows(tx, kind, [id])),
    outbox: (entry) => writeOutbox(tx, entry),
    plans: {
      allocations: prismaAllocationReads(tx),
      nodeIntent: (node, missing) => loadNodeIntent(tx, node, missing),
      latestState: (node) => desiredStates.latest(node, tx),
    },
  });
  return {
    reads: prismaIntentStore(prisma),
    async write(work) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await prisma.$transaction((tx) => work(unitOf(tx)), TX_OPTIONS);
        } catch (err) {
          if (attempt < ATTEMPTS && isTransient(err)) {
            await new Promise((r) => setTimeout(r, 20 * attempt));
            continue;
          }
          throw storeError(err);
        }
      }
    },
  };
}

/** Unique and foreign-key violations, as the store's errors; anything else as it is. */
export function storeError(err: unknown): unknown {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return err;
  const detail = err.message.split('\n').pop() ?? '';
  if (err.code === 'P2002') return new UniqueViolation(/pkey|"id"|\["id"\]/.test(JSON.stringify(err.meta ?? {})), detail);
  if (err.code === 'P2003') return new ReferenceViolation(detail);
  return err;
}

/**
 * P2034 is Prisma's write conflict or deadlock; inside a raw statement (the
 * row locks of db.ts) the same PostgreSQL errors arrive as P2010 with the
 * SQLSTATE: 40P01 deadlock_detected, 40001 serialization_failure.
 */
function isTransient(err: unknown): boolean {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (err.code === 'P2034') return true;
  return err.code === 'P2010' && /\b40P01\b|\b40001\b|deadlock detected/i.test(`${JSON.stringify(err.meta ?? {})} ${err.message}`);
}
