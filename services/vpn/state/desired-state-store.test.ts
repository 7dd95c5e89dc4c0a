import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LfibEntry, NodeDesiredState, VrfInstance } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { withRequestIds } from '../../common/ops/request-context.js';
import type { Tx } from '../store/db.js';
import type { DesiredStateRecords, StoredState } from '../store/desired-state-store.js';
import { DesiredStateStore, KEEP_GENERATIONS } from './desired-state-store.js';

/** One node's generations in memory; what each transaction did, and whether it held the node's lock. */
function memoryRecords(applied?: () => number | undefined) {
  const rows = new Map<number, StoredState & { requestIds: string[] }>();
  const notified: string[] = [];
  let locked = false;
  const latest = async () => {
    const top = Math.max(0, ...rows.keys());
    return rows.get(top);
  };
  const records: DesiredStateRecords = {
    locked: async (_node, fn) => {
      assert.ok(!locked, 'one writer at a time');
      locked = true;
      try {
        return await fn(records, {} as Tx);
      } finally {
        locked = false;
      }
    },
    latest,
    at: async (_node, g) => rows.get(g),
    add: async (_node, generation, state, _warnings, requestIds) => {
      assert.ok(locked, 'generations are added under the lock');
      rows.set(generation, { generation, state, computedAt: new Date(0), requestIds });
    },
    appliedGeneration: async () => applied?.(),
    prune: async (_node, upTo, except) => {
      for (const g of [...rows.keys()]) if (g <= upTo && g !== except) rows.delete(g);
    },
    notifyChanged: async (node) => {
      assert.ok(locked, 'the NOTIFY is sent in the transaction');
      notified.push(node);
    },
    requestIds: async (_node, from, to) => [...rows.values()].filter((r) => r.generation > from && r.generation <= to).sort((a, b) => a.generation - b.generation).map((r) => r.requestIds),
    forget: async () => rows.clear(),
  };
  return { records, rows, notified };
}

const state = (vrfs: string[]) =>
  NodeDesiredState.fromPartial({ node: 'pe1', vrfs: vrfs.map((name, i) => VrfInstance.fromPartial({ name, tableId: 10 + i, vpn: name })) });

test('desired states: the first state is generation 1; the same state again stores nothing and notifies no one', async () => {
  const m = memoryRecords();
  const store = new DesiredStateStore(m.records);
  const changes: number[] = [];
  const first = await store.save('pe1', state(['red']), [], async (_tx, r) => void changes.push(r.generation));
  assert.deepEqual([first.changed, first.generation, first.previous], [true, 1, undefined]);
  assert.equal((await store.latest('pe1'))?.state.generation, 1, 'the stored state carries its generation');
  const again = await store.save('pe1', state(['red']), [], async (_tx, r) => void changes.push(r.generation));
  assert.deepEqual([again.changed, again.generation], [false, 1]);
  assert.equal(again.delta.changes.length, 0);
  assert.deepEqual(changes, [1], 'onChange runs only for a new generation');
  assert.deepEqual(m.notified, ['pe1']);
});

test('desired states: a change is the next generation, with its delta from the previous one and its previous state', async () => {
  const m = memoryRecords();
  const store = new DesiredStateStore(m.records);
  await store.save('pe1', state(['red']), []);
  const next = await store.save('pe1', state(['red', 'blue']), []);
  assert.deepEqual([next.changed, next.generation], [true, 2]);
  assert.equal(next.delta.changes.length, 1);
  assert.deepEqual(next.previous?.vrfs.map((v) => v.name), ['red']);
  const lfib = await store.save('pe1', { ...state(['red', 'blue']), lfibEntries: [LfibEntry.fromPartial({ inLabel: 100 })] }, []);
  assert.equal(lfib.generation, 3, 'an LFIB entry alone is a change');
  assert.deepEqual(m.notified, ['pe1', 'pe1', 'pe1']);
});

test('desired states: the last generations are kept, and the one the agent applied however old', async () => {
  let applied: number | undefined = 2;
  const m = memoryRecords(() => applied);
  const store = new DesiredStateStore(m.records);
  const total = KEEP_GENERATIONS + 5;
  for (let g = 1; g <= total; g++) await store.save('pe1', state([`vrf${g}`]), []);
  const kept = [...m.rows.keys()].sort((a, b) => a - b);
  const newest = Array.from({ length: KEEP_GENERATIONS }, (_, i) => total - KEEP_GENERATIONS + 1 + i);
  assert.deepEqual(kept, [2, ...newest], `the newest ${KEEP_GENERATIONS} are kept for deltas, and the applied one`);
  assert.ok(await store.at('pe1', 2), 'the applied generation can still be read');
  applied = undefined;
  await store.save('pe1', state(['last']), []);
  assert.ok(!m.rows.has(2), 'no longer kept once nothing holds it');
});

test('desired states: request ids of the generations between two, each once, oldest first', async () => {
  const m = memoryRecords();
  const store = new DesiredStateStore(m.records);
  await withRequestIds(['r1'], () => store.save('pe1', state(['a']), []));
  await withRequestIds(['r2', 'r3'], () => store.save('pe1', state(['b']), []));
  await withRequestIds(['r3', 'r4'], () => store.save('pe1', state(['c']), []));
  assert.deepEqual(await store.requestIdsBetween('pe1', 1, 3), ['r2', 'r3', 'r4']);
  assert.deepEqual(await store.requestIdsBetween('pe1', 0, 1), ['r1']);
});
