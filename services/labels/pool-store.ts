// The database edge of the pools: one transaction per batch, serialised per
// pool across every replica by a row lock on the pool, with the decisions
// left to planPoolBatch. Uniqueness is also enforced by the table's keys
// (pool, value) and (pool, owner), so even a bug here could not hand one
// value to two owners.
import type pg from 'pg';
import type { PoolKind } from '../common/gen/prisma/client.js';
import { inTransaction, type Queryable } from '../common/db/sql.js';
import { planPoolBatch, type Holding, type PoolOp, type UnitResult } from './pool-plan.js';

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

export interface BatchOutcome {
  pool: PoolSnapshot;
  units: UnitResult[];
}

interface PoolRow {
  id: number;
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
      return `label space ${key.scope}/dynamic (${pool.min}-${pool.max})`;
    case 'SRGB':
      return `SRGB of ${key.scope} (labels ${pool.base + pool.min}-${pool.base + pool.max})`;
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
  async lockPool(db: Queryable, key: PoolKey): Promise<(PoolSnapshot & { now: Date; reserved: Array<[number, number]> }) | undefined> {
    // A LABEL pool must step around the node's SRGB: read it too (its
    // settings change only under this pool's lock as well).
    const { rows } = await db.query<PoolRow>(
      `SELECT p.id, p.min, p.max, p.base, p.next_value, p.hold_down_ms, now() AS now,
              s.min AS srgb_min, s.max AS srgb_max, s.base AS srgb_base
         FROM pool p
         LEFT JOIN pool s ON p.kind = 'LABEL' AND s.kind = 'SRGB' AND s.scope = p.scope
        WHERE p.kind = $1::"PoolKind" AND p.scope = $2
          FOR UPDATE OF p`,
      [key.kind, key.scope],
    );
    const row = rows[0];
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

  /** Runs units of ops against one pool in one transaction; creates the pool with `defaults` when missing. */
  async runBatch(
    key: PoolKey,
    defaults: PoolSettings,
    units: ReadonlyArray<readonly PoolOp[]>,
    givenRange?: readonly [number, number],
  ): Promise<BatchOutcome> {
    return inTransaction(this.pool, async (db) => {
      let pool = await this.lockPool(db, key);
      if (!pool) {
        await this.ensurePool(key, defaults, db);
        pool = (await this.lockPool(db, key))!;
      }
      const owners = new Set<string>();
      const given = new Set<number>();
      let fresh = 0;
      for (const ops of units) {
        for (const op of ops) {
          owners.add(op.owner);
          if (op.op === 'allocate') {
            if (op.value === undefined) fresh++;
            else given.add(op.value);
          }
        }
      }
      // One round trip for every row the plan needs: the named owners' and
      // values' rows, values taken ahead of the sequence, and enough reusable ones.
      const { rows } = await db.query<HoldingRow>(
        `SELECT 'named' AS why, value, owner, purpose, allocated_at, released_at, reusable_at
           FROM allocation WHERE pool_id = $1 AND owner = ANY($2::text[])
         UNION ALL
         SELECT 'named', value, owner, purpose, allocated_at, released_at, reusable_at
           FROM allocation WHERE pool_id = $1 AND value = ANY($3::int8[])
         UNION ALL
         SELECT 'ahead', value, owner, purpose, allocated_at, released_at, reusable_at
           FROM allocation WHERE pool_id = $1 AND value >= $4
         UNION ALL
         (SELECT 'reusable', value, owner, purpose, allocated_at, released_at, reusable_at
            FROM allocation WHERE pool_id = $1 AND reusable_at <= now()
           ORDER BY value LIMIT $5)`,
        [pool.id, [...owners], [...given], pool.nextValue, fresh],
      );
      const byOwner = new Map<string, Holding>();
      const byValue = new Map<number, Holding>();
      const takenAhead: number[] = [];
      const reusable: number[] = [];
      for (const r of rows) {
        const h = toHolding(r);
        if (r.why === 'named') {
          if (owners.has(h.owner)) byOwner.set(h.owner, h);
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

      const plan = planPoolBatch({
        bounds: {
          min: pool.min,
          max: pool.max,
          nextValue: pool.nextValue,
          holdDownMs: pool.holdDownMs,
          reserved: pool.reserved,
          ...(givenRange ? { givenRange } : {}),
        },
        now: pool.now,
        byOwner,
        byValue,
        takenAhead,
        reusable,
        units,
        poolName: poolName(key, pool),
      });

      // Updates first: a row given to a new owner frees its old owner's
      // name before any insert for that name.
      if (plan.updates.length > 0) {
        const u = plan.updates;
        await db.query(
          `UPDATE allocation a
              SET owner = v.owner, purpose = v.purpose, allocated_at = v.allocated_at,
                  released_at = v.released_at, reusable_at = v.reusable_at
             FROM unnest($2::int8[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])
                  AS v(value, owner, purpose, allocated_at, released_at, reusable_at)
            WHERE a.pool_id = $1 AND a.value = v.value`,
          [
            pool.id,
            u.map((h) => h.value),
            u.map((h) => h.owner),
            u.map((h) => h.purpose),
            u.map((h) => h.allocatedAt),
            u.map((h) => h.releasedAt),
            u.map((h) => h.reusableAt),
          ],
        );
      }
      if (plan.inserts.length > 0) {
        const ins = plan.inserts;
        await db.query(
          `INSERT INTO allocation (pool_id, value, owner, purpose, allocated_at)
           SELECT $1, v.value, v.owner, v.purpose, $5::timestamptz
             FROM unnest($2::int8[], $3::text[], $4::text[]) AS v(value, owner, purpose)`,
          [pool.id, ins.map((h) => h.value), ins.map((h) => h.owner), ins.map((h) => h.purpose), pool.now],
        );
      }
      if (plan.nextValue !== pool.nextValue) {
        await db.query(`UPDATE pool SET next_value = $2, updated_at = now() WHERE id = $1`, [pool.id, plan.nextValue]);
      }
      return { pool: { ...pool, nextValue: plan.nextValue }, units: plan.units };
    });
  }
}
