// Decides, without any I/O, what a batch of requests does to one pool of
// integers (a node's label range, its SRGB, an RD or RT pool). The store
// reads the rows the batch touches under the pool's lock, asks the plan, and
// writes what it returns, all in one transaction.
//
// Values are handed out sequentially from `nextValue`; a released value keeps
// its row, held down until `reusableAt`, and after that is reused before any
// fresh value (lowest first). Requests come in units: a unit (one gRPC call)
// succeeds or fails as a whole, and one unit's failure never affects another.

import { quoteId } from '../common/quote.js';

export interface PoolBounds {
  min: number;
  max: number;
  /** Every value in [min, nextValue) has been handed out at least once. */
  nextValue: number;
  holdDownMs: number;
  /** Inclusive intervals inside [min, max] never handed out sequentially (a node's SRGB within its label range). */
  reserved: ReadonlyArray<readonly [number, number]>;
  /** Where a given value may lie; defaults to [min, max]. An RD pool accepts any value the RD can carry. */
  givenRange?: readonly [number, number];
}

/** A row of the pool, as read for the owners and values a batch names. */
export interface Holding {
  value: number;
  owner: string;
  purpose: string;
  allocatedAt: Date;
  releasedAt: Date | null;
  /** Set while released; the value may be reused by anyone once this has passed. */
  reusableAt: Date | null;
}

export interface AllocateOp {
  op: 'allocate';
  owner: string;
  purpose: string;
  /** A given value instead of the next free one. */
  value?: number;
}

export interface ReleaseOp {
  op: 'release';
  owner: string;
}

export type PoolOp = AllocateOp | ReleaseOp;

export type PlanErrorCode = 'RESOURCE_EXHAUSTED' | 'ALREADY_EXISTS' | 'FAILED_PRECONDITION' | 'OUT_OF_RANGE';

export interface PlanError {
  code: PlanErrorCode;
  message: string;
}

/** What one op ends with: the holding after the batch, or null for a release of nothing. */
export type OpResult = Holding | null;

export type UnitResult = { ok: true; results: OpResult[] } | { ok: false; error: PlanError };

export interface PlanInput {
  bounds: PoolBounds;
  now: Date;
  /** The rows of every owner named in the batch. */
  byOwner: ReadonlyMap<string, Holding>;
  /** The rows of every given value named in the batch. */
  byValue: ReadonlyMap<number, Holding>;
  /** Values at or above nextValue that are taken (given values handed out ahead of the sequence), ascending. */
  takenAhead: readonly number[];
  /** Released values whose hold-down has passed, ascending; at least as many as the batch could need. */
  reusable: readonly number[];
  units: ReadonlyArray<readonly PoolOp[]>;
  /** Names the pool in error messages, e.g. "label space pe1/dynamic (16-1048575)". */
  poolName: string;
}

export interface PlanOutput {
  units: UnitResult[];
  /** New rows. */
  inserts: Holding[];
  /** Existing rows in their new state: released, taken back by their owner, or given to a new owner. */
  updates: Holding[];
  nextValue: number;
}

type Change = { holding: Holding; kind: 'insert' | 'update' };

/**
 * Mutable working state of a plan. A unit's changes are journalled so a
 * failing unit can be undone in time proportional to what it touched, not
 * to the size of the batch.
 */
class Ledger {
  readonly byOwner: Map<string, Holding>;
  readonly byValue: Map<number, Holding>;
  readonly changed = new Map<number, Change>();
  nextValue: number;
  reusableIndex = 0;
  private undo: Array<() => void> = [];
  private mark = { nextValue: 0, reusableIndex: 0 };

  constructor(input: PlanInput) {
    this.byOwner = new Map(input.byOwner);
    this.byValue = new Map(input.byValue);
    for (const h of input.byOwner.values()) this.byValue.set(h.value, h);
    this.nextValue = input.bounds.nextValue;
  }

  begin(): void {
    this.undo = [];
    this.mark = { nextValue: this.nextValue, reusableIndex: this.reusableIndex };
  }

  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]!();
    this.undo = [];
    this.nextValue = this.mark.nextValue;
    this.reusableIndex = this.mark.reusableIndex;
  }

  private journal<K, V>(map: Map<K, V>, key: K): void {
    const had = map.has(key);
    const old = map.get(key);
    this.undo.push(() => (had ? map.set(key, old as V) : map.delete(key)));
  }

  forgetOwner(owner: string): void {
    this.journal(this.byOwner, owner);
    this.byOwner.delete(owner);
  }

  put(holding: Holding, kind: 'insert' | 'update'): void {
    const previous = this.changed.get(holding.value);
    // A row inserted earlier in this batch stays an insert whatever happens to it later.
    const effective = previous?.kind === 'insert' ? 'insert' : kind;
    this.journal(this.changed, holding.value);
    this.journal(this.byOwner, holding.owner);
    this.journal(this.byValue, holding.value);
    this.changed.set(holding.value, { holding, kind: effective });
    this.byOwner.set(holding.owner, holding);
    this.byValue.set(holding.value, holding);
  }
}

const isHeld = (h: Holding, now: Date) => h.reusableAt !== null && h.reusableAt.getTime() > now.getTime();
const isReleased = (h: Holding) => h.reusableAt !== null;

export function planPoolBatch(input: PlanInput): PlanOutput {
  const { bounds, now } = input;
  const takenAhead = new Set(input.takenAhead);
  const ledger = new Ledger(input);
  const units: UnitResult[] = [];

  const fresh = (value: number, op: AllocateOp): Holding => ({
    value,
    owner: op.owner,
    purpose: op.purpose,
    allocatedAt: now,
    releasedAt: null,
    reusableAt: null,
  });
  const inReserved = (v: number) => bounds.reserved.some(([lo, hi]) => v >= lo && v <= hi);

  /** The next value to hand out, and whether it is a released row to reuse rather than a new one. */
  function nextFree(l: Ledger): { value: number; reuse: boolean } | undefined {
    while (l.reusableIndex < input.reusable.length) {
      const v = input.reusable[l.reusableIndex++]!;
      const row = l.byValue.get(v);
      // Still released and past its hold-down (nothing in this batch took it)?
      if (row === undefined || (isReleased(row) && !isHeld(row, now) && !l.changed.has(v))) return { value: v, reuse: true };
    }
    let v = l.nextValue;
    for (;;) {
      if (v > bounds.max) {
        l.nextValue = v;
        return undefined;
      }
      const reserved = bounds.reserved.find(([lo, hi]) => v >= lo && v <= hi);
      if (reserved) {
        v = reserved[1] + 1;
        continue;
      }
      if (takenAhead.has(v) || l.byValue.has(v)) {
        v++;
        continue;
      }
      l.nextValue = v + 1;
      return { value: v, reuse: false };
    }
  }

  function allocate(l: Ledger, op: AllocateOp): Holding | PlanError {
    const mine = l.byOwner.get(op.owner);
    if (mine) {
      if (mine.purpose !== op.purpose) {
        return {
          code: 'FAILED_PRECONDITION',
          message: `owner '${quoteId(op.owner)}' already holds ${mine.value} in ${input.poolName} as ${mine.purpose}, not ${op.purpose}`,
        };
      }
      if (op.value !== undefined && op.value !== mine.value) {
        return {
          code: 'FAILED_PRECONDITION',
          message: `owner '${quoteId(op.owner)}' already holds ${mine.value} in ${input.poolName}; release it before asking for ${op.value}`,
        };
      }
      if (!isReleased(mine)) return mine;
      // The owner asks again for what it released: it gets the same value back, even during hold-down.
      const back = { ...mine, releasedAt: null, reusableAt: null, allocatedAt: now };
      l.put(back, 'update');
      return back;
    }
    let value: number;
    if (op.value !== undefined) {
      value = op.value;
      const [lo, hi] = bounds.givenRange ?? [bounds.min, bounds.max];
      if (value < lo || value > hi) {
        return { code: 'OUT_OF_RANGE', message: `${value} lies outside ${input.poolName}` };
      }
      if (inReserved(value)) {
        return { code: 'OUT_OF_RANGE', message: `${value} lies in a reserved block of ${input.poolName}` };
      }
      const row = l.byValue.get(value);
      if (row) {
        if (!isReleased(row)) {
          return { code: 'ALREADY_EXISTS', message: `${value} in ${input.poolName} is held by '${quoteId(row.owner)}'` };
        }
        if (isHeld(row, now)) {
          return {
            code: 'ALREADY_EXISTS',
            message: `${value} in ${input.poolName} was released by '${quoteId(row.owner)}' and is held down until ${row.reusableAt!.toISOString()}`,
          };
        }
        l.forgetOwner(row.owner);
        const taken = fresh(value, op);
        l.put(taken, 'update');
        return taken;
      }
      if (takenAhead.has(value)) {
        // Taken ahead of the sequence but not read for this batch: only happens if the store read too little.
        return { code: 'ALREADY_EXISTS', message: `${value} in ${input.poolName} is taken` };
      }
      const holding = fresh(value, op);
      l.put(holding, 'insert');
      return holding;
    }
    const next = nextFree(l);
    if (next === undefined) {
      return {
        code: 'RESOURCE_EXHAUSTED',
        message: `${input.poolName} is exhausted: no free value, and none past its hold-down`,
      };
    }
    const previous = l.byValue.get(next.value);
    if (previous) l.forgetOwner(previous.owner);
    const holding = fresh(next.value, op);
    l.put(holding, next.reuse ? 'update' : 'insert');
    return holding;
  }

  function release(l: Ledger, op: ReleaseOp): Holding | null {
    const mine = l.byOwner.get(op.owner);
    if (!mine) return null;
    if (isReleased(mine)) return mine;
    const released = { ...mine, releasedAt: now, reusableAt: new Date(now.getTime() + bounds.holdDownMs) };
    l.put(released, 'update');
    return released;
  }

  for (const ops of input.units) {
    ledger.begin();
    const results: OpResult[] = [];
    let failure: PlanError | undefined;
    for (const op of ops) {
      const r = op.op === 'allocate' ? allocate(ledger, op) : release(ledger, op);
      if (r !== null && 'code' in r) {
        failure = r;
        break;
      }
      results.push(r);
    }
    if (failure) {
      ledger.rollback();
      units.push({ ok: false, error: failure });
    } else {
      units.push({ ok: true, results });
    }
  }

  const inserts: Holding[] = [];
  const updates: Holding[] = [];
  for (const { holding, kind } of ledger.changed.values()) (kind === 'insert' ? inserts : updates).push(holding);
  return { units, inserts, updates, nextValue: Math.max(ledger.nextValue, bounds.nextValue) };
}
