// The database edge of the pools: one transaction per batch, serialised per
// pool across every replica by a row lock on the pool, with the decisions
// left to planPoolBatch. Uniqueness is also enforced by the table's keys
// (pool, value) and (pool, owner), so even a bug here could not hand one
// value to two owners.
import type pg from 'pg';
import type { PoolKind } from '../common/gen/prisma/client.js';
import { inTransaction, type Queryable } from '../common/db/sql.js';
import { planPoolBatch, type Holding, type PlanOutput, type PoolOp, type UnitResult } from './pool-plan.js';
import { quoteId } from '../common/quote.js';

export interface PoolKey {
  kind: PoolKind;
  scope: string;
}

export interface PoolSettings {
  min: number;
  max: number;
  /** SRGB pools: label of index 0. */
  base: number;
  holdDownMs: number;
}

export interface PoolSnapshot extends PoolSettings {
  id: number;
  nextValue: number;
}

export interface PoolBatch {
  key: PoolKey;
  /** Settings of the pool if it has to be created. */
  defaults: PoolSettings;
  units: ReadonlyArray<readonly PoolOp[]>;
  /** Where given values may lie, when not the pool's own range. */
  givenRange?: readonly [number, number] | undefined;
}

export function comparePoolKeys(a: PoolKey, b: PoolKey): number {
  return a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0;
}

export interface BatchOutcome {
  pool: PoolSnapshot;
  units: UnitResult[];
}

export type LockedPool = PoolSnapshot & { now: Date; reserved: Array<[number, number]> };

interface PoolRow {
  id: number;
  kind: PoolKind;
  scope: string;
  min: number;
  max: number;
  base: number;
  next_value: number;
  hold_down_ms: number;
  now: Date;
  srgb_min: number | null;
  srgb_max: number | null;
  srgb_base: number | null;
}

interface HoldingRow {
  pool_id: number;
  why: 'named' | 'ahead' | 'reusable';
  value: number;
  owner: string;
  purpose: string;
  allocated_at: Date;
  released_at: Date | null;
  reusable_at: Date | null;
}

export function poolName(key: PoolKey, pool: PoolSettings): string {
  switch (key.kind) {
    case 'LABEL':
      return `label space ${quoteId(key.scope)}/dynamic (${pool.min}-${pool.max})`;
    case 'SRGB':
      return `SRGB of ${quoteId(key.scope)} (labels ${pool.base + pool.min}-${pool.base + pool.max})`;
    case 'RD':
      return `route distinguisher pool of ${key.scope} (${pool.min}-${pool.max})`;
    case 'RT':
      return `route target pool of ${key.scope} (${pool.min}-${pool.max})`;
  }
}

const toHolding = (r: HoldingRow): Holding => ({
  value: r.value,
  owner: r.owner,
  purpose: r.purpose,
  allocatedAt: r.allocated_at,
  releasedAt: r.released_at,
  reusableAt: r.reusable_at,
});

export class PoolStore {
  constructor(private readonly pool: pg.Pool) {}

  /** For reads outside a transaction. */
  get db(): Queryable {
    return this.pool;
  }

  /** Creates the pool with these settings unless it exists (then it is left as it is). */
  async ensurePool(key: PoolKey, settings: PoolSettings, db: Queryable = this.pool): Promise<void> {
    await db.query(
      `INSERT INTO pool (kind, scope, min, max, base, next_value, hold_down_ms, updated_at)
       VALUES ($1::"PoolKind", $2, $3, $4, $5, $3, $6, now())
       ON CONFLICT (kind, scope) DO NOTHING`,
      [key.kind, key.scope, settings.min, settings.max, settings.base, settings.holdDownMs],
    );
  }

  /** Locks the pool row until the end of the transaction. */
  async lockPool(db: Queryable, key: PoolKey): Promise<LockedPool | undefined> {
    return (await this.lockPools(db, [key]))[0];
  }

  /**
   * Locks pool rows in one global order (kind, scope), so that two
   * transactions, in this process or another replica, never wait on each
   * other in a cycle. Returns them in the order of `keys`; missing pools are undefined.
   */
  async lockPools(db: Queryable, keys: readonly PoolKey[]): Promise<Array<LockedPool | undefined>> {
    // A LABEL pool must step around its node's SRGB: read that too (the
    // SRGB's settings change only under the LABEL pool's lock as well).
    const { rows } = await db.query<PoolRow>(
      `SELECT p.id, p.kind, p.scope, p.min, p.max, p.base, p.next_value, p.hold_down_ms, now() AS now,
              s.min AS srgb_min, s.max AS srgb_max, s.base AS srgb_base
         FROM pool p
         JOIN unnest($1::"PoolKind"[], $2::text[]) AS k(kind, scope) ON p.kind = k.kind AND p.scope = k.scope
         LEFT JOIN pool s ON p.kind = 'LABEL' AND s.kind = 'SRGB' AND s.scope = p.scope
        ORDER BY p.kind, p.scope
          FOR UPDATE OF p`,
      [keys.map((k) => k.kind), keys.map((k) => k.scope)],
    );
    const byKey = new Map(rows.map((r) => [`${r.kind}\u0000${r.scope}`, r]));
    return keys.map((key) => {
      const row = byKey.get(`${key.kind}\u0000${key.scope}`);
      if (!row) return undefined;
      const reserved: Array<[number, number]> = [];
      if (row.srgb_base !== null) reserved.push([row.srgb_base + row.srgb_min!, row.srgb_base + row.srgb_max!]);
      return {
        id: row.id,
        min: row.min,
        max: row.max,
        base: row.base,
        nextValue: row.next_value,
        holdDownMs: row.hold_down_ms,
        now: row.now,
        reserved,
      };
    });
  }

  /** Sets a pool's range, base, hold-down and sequence position (callers hold its lock). */
  async updatePool(db: Queryable, id: number, p: PoolSettings & { nextValue: number }): Promise<void> {
    await db.query(
      `UPDATE pool SET min = $2, max = $3, base = $4, hold_down_ms = $5, next_value = $6, updated_at = now() WHERE id = $1`,
      [id, p.min, p.max, p.base, p.holdDownMs, p.nextValue],
    );
  }

  transaction<T>(fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }

  /**
   * Runs the batches of several pools in one transaction (one commit for
   * all), in a fixed number of statements whatever the number of pools.
   */
  async runBatches(batches: readonly PoolBatch[]): Promise<BatchOutcome[]> {
    return inTransaction(this.pool, async (db) => {
      const keys = batches.map((b) => b.key);
      let pools = await this.lockPools(db, keys);
      const missing = batches.filter((_, i) => pools[i] === undefined);
      if (missing.length > 0) {
        await this.ensurePools(db, missing);
        pools = await this.lockPools(db, keys);
      }
      const locked = pools as LockedPool[];
      const rows = await this.readHoldings(db, batches, locked);
      const plans = batches.map((batch, i) => this.plan(batch, locked[i]!, rows.get(locked[i]!.id) ?? []));
      await this.write(db, locked, plans);
      return plans.map((plan, i) => ({ pool: { ...locked[i]!, nextValue: plan.nextValue }, units: plan.units }));
    });
  }

  private async ensurePools(db: Queryable, batches: readonly PoolBatch[]): Promise<void> {
    const col = <T>(f: (b: PoolBatch) => T) => batches.map(f);
    await db.query(
      `INSERT INTO pool (kind, scope, min, max, base, next_value, hold_down_ms, updated_at)
       SELECT kind, scope, min, max, base, min, hold_down_ms, now()
         FROM unnest($1::"PoolKind"[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int4[])
              AS v(kind, scope, min, max, base, hold_down_ms)
        ORDER BY kind, scope
       ON CONFLICT (kind, scope) DO NOTHING`,
      [
        col((b) => b.key.kind),
        col((b) => b.key.scope),
        col((b) => b.defaults.min),
        col((b) => b.defaults.max),
        col((b) => b.defaults.base),
        col((b) => b.defaults.holdDownMs),
      ],
    );
  }

  /**
   * Every row the plans need, in one round trip: the named owners' and given
   * values' rows, values taken ahead of each pool's sequence, and as many
   * reusable (past hold-down) rows as each pool could hand out.
   */
  private async readHoldings(db: Queryable, batches: readonly PoolBatch[], pools: readonly LockedPool[]): Promise<Map<number, HoldingRow[]>> {
    const ownerPool: number[] = [];
    const ownerName: string[] = [];
    const givenPool: number[] = [];
    const givenValue: number[] = [];
    const fresh: number[] = [];
    batches.forEach((batch, i) => {
      const id = pools[i]!.id;
      const owners = new Set<string>();
      let wanted = 0;
      for (const ops of batch.units) {
        for (const op of ops) {
          if (!owners.has(op.owner)) {
            owners.add(op.owner);
            ownerPool.push(id);
            ownerName.push(op.owner);
          }
          if (op.op === 'allocate') {
            if (op.value === undefined) wanted++;
            else {
              givenPool.push(id);
              givenValue.push(op.value);
            }
          }
        }
      }
      fresh.push(wanted);
    });
    const { rows } = await db.query<HoldingRow>(
      `SELECT a.pool_id, 'named' AS why, a.value, a.owner, a.purpose, a.allocated_at, a.released_at, a.reusable_at
         FROM unnest($1::int8[], $2::text[]) AS q(pool_id, owner)
         JOIN allocation a ON a.pool_id = q.pool_id AND a.owner = q.owner
       UNION ALL
       SELECT a.pool_id, 'named', a.value, a.owner, a.purpose, a.allocated_at, a.released_at, a.reusable_at
         FROM unnest($3::int8[], $4::int8[]) AS g(pool_id, value)
         JOIN allocation a ON a.pool_id = g.pool_id AND a.value = g.value
       UNION ALL
       SELECT a.pool_id, 'ahead', a.value, a.owner, a.purpose, a.allocated_at, a.released_at, a.reusable_at
         FROM unnest($5::int8[], $6::int8[]) AS n(pool_id, next_value)
         JOIN allocation a ON a.pool_id = n.pool_id AND a.value >= n.next_value
       UNION ALL
       SELECT r.pool_id, 'reusable', r.value, r.owner, r.purpose, r.allocated_at, r.released_at, r.reusable_at
         FROM unnest($5::int8[], $7::int4[]) AS f(pool_id, wanted)
         CROSS JOIN LATERAL (
           SELECT * FROM allocation a
            WHERE a.pool_id = f.pool_id AND f.wanted > 0 AND a.reusable_at <= now()
            ORDER BY a.value LIMIT f.wanted) r`,
      [ownerPool, ownerName, givenPool, givenValue, pools.map((p) => p.id), pools.map((p) => p.nextValue), fresh],
    );
    const byPool = new Map<number, HoldingRow[]>();
    for (const r of rows) {
      let list = byPool.get(r.pool_id);
      if (!list) byPool.set(r.pool_id, (list = []));
      list.push(r);
    }
    return byPool;
  }

  private plan(batch: PoolBatch, pool: LockedPool, rows: readonly HoldingRow[]): PlanOutput {
    const byOwner = new Map<string, Holding>();
    const byValue = new Map<number, Holding>();
    const takenAhead: number[] = [];
    const reusable: number[] = [];
    const given = new Set<number>();
    for (const ops of batch.units) for (const op of ops) if (op.op === 'allocate' && op.value !== undefined) given.add(op.value);
    for (const r of rows) {
      const h = toHolding(r);
      if (r.why === 'named') {
        byOwner.set(h.owner, h);
        if (given.has(h.value)) byValue.set(h.value, h);
      } else if (r.why === 'ahead') {
        takenAhead.push(h.value);
        if (given.has(h.value)) byValue.set(h.value, h);
      } else {
        reusable.push(h.value);
        byValue.set(h.value, h);
      }
    }
    takenAhead.sort((a, b) => a - b);
    reusable.sort((a, b) => a - b);
    return planPoolBatch({
      bounds: {
        min: pool.min,
        max: pool.max,
        nextValue: pool.nextValue,
        holdDownMs: pool.holdDownMs,
        reserved: pool.reserved,
        ...(batch.givenRange ? { givenRange: batch.givenRange } : {}),
      },
      now: pool.now,
      byOwner,
      byValue,
      takenAhead,
      reusable,
      units: batch.units,
      poolName: poolName(batch.key, pool),
    });
  }

  /** Writes every plan: changed rows, then new rows with the moved sequences — two statements for all pools. */
  private async write(db: Queryable, pools: readonly LockedPool[], plans: readonly PlanOutput[]): Promise<void> {
    const updates = plans.flatMap((plan, i) => plan.updates.map((h) => ({ pool: pools[i]!.id, h })));
    const inserts = plans.flatMap((plan, i) => plan.inserts.map((h) => ({ pool: pools[i]!.id, h })));
    const moved = pools.filter((p, i) => plans[i]!.nextValue !== p.nextValue);
    // Updates first: a row given to a new owner frees its old owner's name
    // before any insert for that name.
    if (updates.length > 0) {
      await db.query(
        `UPDATE allocation a
            SET owner = v.owner, purpose = v.purpose, allocated_at = v.allocated_at,
                released_at = v.released_at, reusable_at = v.reusable_at
           FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])
                AS v(pool_id, value, owner, purpose, allocated_at, released_at, reusable_at)
          WHERE a.pool_id = v.pool_id AND a.value = v.value`,
        [
          updates.map((u) => u.pool),
          updates.map((u) => u.h.value),
          updates.map((u) => u.h.owner),
          updates.map((u) => u.h.purpose),
          updates.map((u) => u.h.allocatedAt),
          updates.map((u) => u.h.releasedAt),
          updates.map((u) => u.h.reusableAt),
        ],
      );
    }
    if (inserts.length > 0 || moved.length > 0) {
      // New rows and the sequences they advanced go in one statement: the
      // common path of an allocation costs one round trip here.
      await db.query(
        `WITH inserted AS (
           INSERT INTO allocation (pool_id, value, owner, purpose, allocated_at)
           SELECT v.*, now() FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[]) AS v)
         UPDATE pool p SET next_value = v.next_value, updated_at = now()
           FROM unnest($5::int8[], $6::int8[]) AS v(id, next_value) WHERE p.id = v.id`,
        // A new row's allocated_at is the plan's `now`, which is this
        // transaction's now(): no need to send it once per row.
        [
          inserts.map((u) => u.pool),
          inserts.map((u) => u.h.value),
          inserts.map((u) => u.h.owner),
          inserts.map((u) => u.h.purpose),
          moved.map((p) => p.id),
          moved.map((p) => plans[pools.indexOf(p)]!.nextValue),
        ],
      );
    }
  }
}
