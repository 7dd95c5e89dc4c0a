import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planPoolBatch, type Holding, type PlanInput, type PoolOp } from './pool-plan.js';

const now = new Date('2026-01-01T00:00:00Z');
const later = (ms: number) => new Date(now.getTime() + ms);

function input(over: Partial<PlanInput> & { units: PoolOp[][] }): PlanInput {
  return {
    bounds: { min: 16, max: 1048575, nextValue: 16, holdDownMs: 60_000, reserved: [] },
    now,
    byOwner: new Map(),
    byValue: new Map(),
    takenAhead: [],
    reusable: [],
    poolName: 'test pool',
    ...over,
  };
}

const alloc = (owner: string, purpose = 'vrf', value?: number): PoolOp =>
  value === undefined ? { op: 'allocate', owner, purpose } : { op: 'allocate', owner, purpose, value };
const held = (value: number, owner: string, reusableAt: Date, purpose = 'vrf'): Holding => ({
  value,
  owner,
  purpose,
  allocatedAt: later(-100_000),
  releasedAt: later(-1000),
  reusableAt,
});
const values = (r: ReturnType<typeof planPoolBatch>, unit = 0) => {
  const u = r.units[unit]!;
  assert.ok(u.ok, JSON.stringify(u));
  return u.results.map((h) => h?.value);
};

test('hands out values in sequence from nextValue and never 0-15 when the range starts at 16', () => {
  const r = planPoolBatch(input({ units: [[alloc('a'), alloc('b')], [alloc('c')]] }));
  assert.deepEqual(values(r, 0), [16, 17]);
  assert.deepEqual(values(r, 1), [18]);
  assert.equal(r.nextValue, 19);
  assert.equal(r.inserts.length, 3);
});

test('the same owner gets its value back (idempotent), also twice in one batch', () => {
  const existing: Holding = { value: 40, owner: 'a', purpose: 'vrf', allocatedAt: now, releasedAt: null, reusableAt: null };
  const r = planPoolBatch(input({ byOwner: new Map([['a', existing]]), units: [[alloc('a')], [alloc('b'), alloc('b')]] }));
  assert.deepEqual(values(r, 0), [40]);
  assert.deepEqual(values(r, 1), [16, 16]);
  assert.equal(r.inserts.length, 1);
  assert.equal(r.updates.length, 0);
});

test('skips reserved blocks and values given ahead of the sequence', () => {
  const r = planPoolBatch(
    input({
      bounds: { min: 16, max: 100, nextValue: 18, holdDownMs: 0, reserved: [[19, 29]] },
      takenAhead: [30, 32],
      units: [[alloc('a'), alloc('b'), alloc('c')]],
    }),
  );
  assert.deepEqual(values(r), [18, 31, 33]);
  assert.equal(r.nextValue, 34);
});

test('a released value is not reused during its hold-down, and is reused (lowest first) after it', () => {
  const r = planPoolBatch(
    input({
      bounds: { min: 16, max: 17, nextValue: 18, holdDownMs: 60_000, reserved: [] },
      reusable: [],
      units: [[alloc('new')]],
    }),
  );
  assert.deepEqual(r.units[0], {
    ok: false,
    error: { code: 'RESOURCE_EXHAUSTED', message: 'test pool is exhausted: no free value, and none past its hold-down' },
  });

  const old = held(17, 'gone', later(-1));
  const r2 = planPoolBatch(input({ bounds: { min: 16, max: 1000, nextValue: 100, holdDownMs: 1, reserved: [] }, reusable: [17], units: [[alloc('new')]] }));
  assert.deepEqual(values(r2), [17]);
  assert.equal(r2.updates.length, 1, 'reusing a released row updates it');
  assert.equal(r2.updates[0]!.owner, 'new');
  assert.equal(r2.nextValue, 100);
  void old;
});

test('release holds the value down for holdDownMs; releasing nothing is a no-op', () => {
  const a: Holding = { value: 16, owner: 'a', purpose: 'vrf', allocatedAt: now, releasedAt: null, reusableAt: null };
  const r = planPoolBatch(input({ byOwner: new Map([['a', a]]), units: [[{ op: 'release', owner: 'a' }, { op: 'release', owner: 'x' }]] }));
  const u = r.units[0]!;
  assert.ok(u.ok);
  assert.equal(u.results[0]!.reusableAt!.getTime(), now.getTime() + 60_000);
  assert.equal(u.results[1], null);
  assert.equal(r.updates.length, 1);
});

test('an owner that asks again during its hold-down gets its own value back', () => {
  const mine = held(20, 'a', later(30_000));
  const r = planPoolBatch(input({ byOwner: new Map([['a', mine]]), units: [[alloc('a')]] }));
  assert.deepEqual(values(r), [20]);
  assert.equal(r.updates[0]!.reusableAt, null);
});

test('a given value: free, taken by another, held down, or past its hold-down', () => {
  const other: Holding = { value: 500, owner: 'other', purpose: 'rt', allocatedAt: now, releasedAt: null, reusableAt: null };
  const r = planPoolBatch(
    input({
      byValue: new Map([
        [500, other],
        [600, held(600, 'h', later(10_000), 'rt')],
        [700, held(700, 'old', later(-1), 'rt')],
      ]),
      units: [[alloc('x', 'rt', 400)], [alloc('y', 'rt', 500)], [alloc('z', 'rt', 600)], [alloc('w', 'rt', 700)]],
    }),
  );
  assert.deepEqual(values(r, 0), [400]);
  assert.equal(r.units[1]!.ok, false);
  assert.match((r.units[1] as { error: { message: string } }).error.message, /held by 'other'/);
  assert.equal((r.units[2] as { error: { code: string } }).error.code, 'ALREADY_EXISTS');
  assert.deepEqual(values(r, 3), [700]);
});

test('a unit fails as a whole and leaves no trace; the next unit is unaffected', () => {
  const r = planPoolBatch(
    input({
      bounds: { min: 16, max: 17, nextValue: 16, holdDownMs: 0, reserved: [] },
      units: [[alloc('a'), alloc('b'), alloc('c')], [alloc('d')]],
    }),
  );
  assert.equal(r.units[0]!.ok, false);
  assert.deepEqual(values(r, 1), [16]);
  assert.equal(r.inserts.length, 1);
  assert.equal(r.nextValue, 17);
});

test('an owner asking with another purpose is refused', () => {
  const a: Holding = { value: 16, owner: 'a', purpose: 'vrf', allocatedAt: now, releasedAt: null, reusableAt: null };
  const r = planPoolBatch(input({ byOwner: new Map([['a', a]]), units: [[alloc('a', 'ce')]] }));
  assert.equal((r.units[0] as { error: { code: string } }).error.code, 'FAILED_PRECONDITION');
});
