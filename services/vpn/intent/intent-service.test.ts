import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger.js';
import { problemOfIntentError } from '../http/problem.js';
import { ReferenceViolation, UniqueViolation } from '../store/errors.js';
import type { IntentStore } from '../store/intent-store.js';
import type { IntentTransactions, PlanReads, WriteUnit } from '../store/intent-transactions.js';
import type { NodeStore } from '../store/node-store.js';
import type { OutboxEntry } from '../store/outbox.js';
import { IntentError } from './errors.js';
import { IntentService, type ChangeSink, type DesiredStatePlanner, type VrfRoutesSource } from './intent-service.js';
import type { NodeSpec, NodeView } from './types.js';

const log = createLogger('test', 'silent');
const noRoutes: VrfRoutesSource = { routes: async () => ({ available: false, reason: 'none', routes: [] }) as never };

/** A part of the store with only these methods; any other call fails the test. */
const only = <T extends object>(name: string, methods: Partial<T> = {}) =>
  new Proxy(methods as T, {
    get: (target, method) =>
      (target as Record<string | symbol, unknown>)[method] ??
      (() => {
        throw new Error(`the write called ${name}.${String(method)}`);
      }),
  });

/**
 * Nodes in memory behind the store's transaction runner. `refuse` is what
 * the database would throw at the write (the runner hands it on as the
 * store's error); a refused or thrown-out write leaves nothing behind.
 */
function memoryIntent(refuse?: Error) {
  const committed = new Map<string, NodeSpec>();
  const outbox: OutboxEntry[] = [];
  const locks: string[] = [];
  const view = (n: NodeSpec): NodeView => ({ name: n.id, loopback: n.routerId, transport: 'sr', ...n, version: 1, status: { state: 'pending' }, createdAt: '', updatedAt: '' });
  const storeOver = (nodes: Map<string, NodeSpec>): IntentStore =>
    ({
      nodes: only<NodeStore>('nodes', {
        read: async (id) => (nodes.has(id) ? view(nodes.get(id)!) : undefined),
        holding: async () => [],
        allIds: async () => [...nodes.keys()].sort(),
        async create(n) {
          if (refuse) throw refuse;
          nodes.set(n.id, n);
        },
        async update(n) {
          if (refuse) throw refuse;
          nodes.set(n.id, n);
        },
      }),
    }) as unknown as IntentStore;
  const transactions: IntentTransactions = {
    reads: storeOver(committed),
    async write(work) {
      const working = new Map(committed);
      const written: OutboxEntry[] = [];
      const unit: WriteUnit = {
        store: storeOver(working),
        lock: async (kind, id) => void locks.push(`${kind} ${id}`),
        outbox: async (entry) => (written.push(entry), BigInt(outbox.length + written.length)),
        plans: { marker: 'the plan reads of this transaction' } as unknown as PlanReads,
      };
      const result = await work(unit);
      committed.clear();
      for (const [id, n] of working) committed.set(id, n);
      outbox.push(...written);
      return result;
    },
  };
  const told: { outboxId: bigint; nodes: string[]; settle?: boolean }[] = [];
  const sink: ChangeSink = { committed: async (outboxId, nodes, options) => void told.push({ outboxId, nodes, ...options }) };
  return { transactions, committed, outbox, locks, told, sink };
}

const pe1: NodeSpec = { id: 'pe1', role: 'PE', routerId: '192.0.2.1', asNumber: 65000 };

async function refusal(p: Promise<unknown>): Promise<IntentError> {
  const err = await p.then(
    () => assert.fail('the write was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IntentError, String(err));
  return err;
}

test('a write: the resource row locked, the change and its outbox row in one transaction, the reconcile told after the commit', async () => {
  const m = memoryIntent();
  const result = await new IntentService(m.transactions, m.sink, noRoutes, log).create('node', pe1);
  assert.equal(result.resource?.id, 'pe1');
  assert.deepEqual(m.locks, ['node pe1']);
  assert.ok(m.committed.has('pe1'));
  assert.deepEqual(
    m.outbox.map((e) => [e.aggregate, e.aggregateId, e.action, e.nodes]),
    [['node', 'pe1', 'create', ['pe1']]],
  );
  assert.deepEqual(m.told, [{ outboxId: 1n, nodes: ['pe1'], settle: true }], 'an inventory change may settle');
});

test('a unique violation the checks missed (a concurrent writer) is a 409 naming the field; nothing is written or told', async () => {
  const m = memoryIntent(new UniqueViolation(false, 'Unique constraint failed on the fields: (`router_id`)'));
  const err = await refusal(new IntentService(m.transactions, m.sink, noRoutes, log).create('node', pe1));
  assert.equal(err.kind, 'conflict');
  assert.match(err.message, /already taken by another resource .*router_id/);
  assert.equal(problemOfIntentError(err, '/v1/nodes').status, 409);
  assert.equal(m.committed.size, 0);
  assert.deepEqual(m.outbox, []);
  assert.deepEqual(m.told, []);
});

test('a unique violation of the id: on a create the id is taken (409 already-exists at /id); on an update it is a conflict', async () => {
  const created = memoryIntent(new UniqueViolation(true, 'Unique constraint failed on the fields: (`id`)'));
  const exists = await refusal(new IntentService(created.transactions, created.sink, noRoutes, log).create('node', pe1));
  assert.equal(exists.kind, 'exists');
  assert.deepEqual(exists.fields, [{ pointer: '/id', detail: "'pe1' is taken" }]);
  const p = problemOfIntentError(exists, '/v1/nodes');
  assert.equal(p.status, 409);
  assert.equal(p.type, '/problems/already-exists');

  const refused = memoryIntent(new UniqueViolation(true, 'Unique constraint failed on the fields: (`id`)'));
  refused.committed.set('pe1', pe1);
  const conflict = await refusal(new IntentService(refused.transactions, refused.sink, noRoutes, log).replace('node', 'pe1', { ...pe1, name: 'edge-1' }));
  assert.equal(conflict.kind, 'conflict');
});

test('a foreign-key violation (a referenced resource went meanwhile) is a 409 that says to retry', async () => {
  const m = memoryIntent(new ReferenceViolation('Foreign key constraint violated'));
  const err = await refusal(new IntentService(m.transactions, m.sink, noRoutes, log).create('node', pe1));
  assert.equal(err.kind, 'conflict');
  assert.match(err.message, /changed meanwhile; retry/);
  assert.equal(problemOfIntentError(err, '/v1/nodes').status, 409);
});

test('a dry run plans inside the write transaction, then rolls it back: nothing stored, no outbox row, nobody told', async () => {
  const m = memoryIntent();
  const planned: unknown[] = [];
  const planner: DesiredStatePlanner = {
    plan: async (reads, nodes, vpns) => (planned.push([reads, nodes, vpns]), { plan: [], releases: { routeTargets: [], routeDistinguishers: [] } }),
  };
  const result = await new IntentService(m.transactions, m.sink, noRoutes, log, planner).create('node', pe1, { dryRun: true });
  assert.equal(result.dryRun, true);
  assert.equal(result.resource?.id, 'pe1', 'the answer shows the resource as the write would store it');
  assert.deepEqual(planned, [[{ marker: 'the plan reads of this transaction' }, ['pe1'], []]]);
  assert.equal(m.committed.size, 0);
  assert.deepEqual(m.outbox, []);
  assert.deepEqual(m.told, []);
});

test('any other failure comes out as it is', async () => {
  const m = memoryIntent(new Error('connection reset'));
  const err = await new IntentService(m.transactions, m.sink, noRoutes, log).create('node', pe1).catch((e: unknown) => e);
  assert.ok(!(err instanceof IntentError));
  assert.equal((err as Error).message, 'connection reset');
});
