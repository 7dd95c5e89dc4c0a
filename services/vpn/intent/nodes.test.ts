import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IntentStore } from '../store/intent-store.js';
import type { LinkStore } from '../store/link-store.js';
import type { NodeStore } from '../store/node-store.js';
import type { SiteStore } from '../store/site-store.js';
import { IntentError } from './errors.js';
import { nodes } from './nodes.js';
import type { NodeSpec, NodeView } from './types.js';
import { WriteContext, type SidIndexPool } from './write-context.js';

/** A part of the store with only the methods the node rules may call; any other call fails the test. */
const only = <T extends object>(name: string, methods: Partial<T> = {}) =>
  new Proxy(methods as T, {
    get: (target, method) =>
      (target as Record<string | symbol, unknown>)[method] ??
      (() => {
        throw new Error(`node rules called ${name}.${String(method)}`);
      }),
  });

/** An in-memory intent of nodes, with counts of the sites and links on each. */
function memoryStore(init: NodeSpec[], on: { sites?: Record<string, number>; links?: Record<string, number> } = {}) {
  const stored = new Map(init.map((n) => [n.id, n]));
  const sidLocks: number[] = [];
  const view = (n: NodeSpec): NodeView => ({ name: n.id, loopback: n.routerId, transport: 'sr', ...n, version: 1, status: { state: 'pending' }, createdAt: '', updatedAt: '' });
  const store: IntentStore = {
    nodes: only<NodeStore>('nodes', {
      read: async (id) => (stored.has(id) ? view(stored.get(id)!) : undefined),
      allIds: async () => [...stored.keys()].sort(),
      lockSidIndexes: async () => void sidLocks.push(sidLocks.length),
      holding: async ({ routerId, loopback, nodeSidIndex }, except) =>
        [...stored.values()]
          .map(view)
          .filter((n) => n.id !== except && (n.routerId === routerId || n.loopback === loopback || (nodeSidIndex !== undefined && n.nodeSidIndex === nodeSidIndex))),
      create: async (n) => void stored.set(n.id, n),
      update: async (n) => void stored.set(n.id, n),
      delete: async (id) => void stored.delete(id),
    }),
    sites: only<SiteStore>('sites', { count: async ({ node }) => on.sites?.[node!] ?? 0 }),
    links: only<LinkStore>('links', { countOn: async (node) => on.links?.[node] ?? 0 }),
    interfaces: only('interfaces'),
    vpns: only('vpns'),
    vrfs: only('vrfs'),
  };
  return { store, stored, sidLocks };
}

const node = (n: Partial<NodeSpec> = {}): NodeSpec => ({ id: 'pe1', role: 'PE', routerId: '192.0.2.1', asNumber: 65000, ...n });
const pe2 = node({ id: 'pe2', routerId: '192.0.2.2', loopback: '198.51.100.2', nodeSidIndex: 2 });

async function refusal(ctx: WriteContext, n: NodeSpec, current?: NodeView): Promise<IntentError> {
  const err = await nodes.save(ctx, n, current).then(
    () => assert.fail('the write was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IntentError, String(err));
  return err;
}

const problems = (e: IntentError) => e.fields.map((f) => `${f.pointer}: ${f.detail}`);

test('node rules: ranges and the SID index fit, before any lookup', async () => {
  const { store } = memoryStore([]);
  const err = await refusal(new WriteContext(store), node({ labelRange: { min: 2000, max: 1000 }, srgb: { base: 16000, size: 8000 }, nodeSidIndex: 8000 }));
  assert.equal(err.kind, 'semantic');
  assert.deepEqual(problems(err), ['/labelRange/max: must be >= min (2000)', '/nodeSidIndex: must be below the SRGB size (8000)']);
});

test("node rules: another node's router id, loopback or SID index is a conflict", async () => {
  const { store } = memoryStore([pe2]);
  const ctx = () => new WriteContext(store);
  assert.deepEqual(problems(await refusal(ctx(), node({ routerId: '192.0.2.2' }))), ["/routerId: router id 192.0.2.2 belongs to node 'pe2'"]);
  assert.deepEqual(problems(await refusal(ctx(), node({ loopback: '198.51.100.2' }))), ["/loopback: loopback 198.51.100.2 belongs to node 'pe2'"]);
  assert.deepEqual(problems(await refusal(ctx(), node({ routerId: '198.51.100.2' }))), ["/routerId: loopback 198.51.100.2 belongs to node 'pe2'"], 'the loopback defaults to the router id');
  const err = await refusal(ctx(), node({ nodeSidIndex: 2 }));
  assert.equal(err.kind, 'conflict');
  assert.deepEqual(problems(err), ["/nodeSidIndex: node SID index 2 belongs to node 'pe2'"]);
});

test('node rules: a named SID index is checked under the SID lock, and with the labels service for an SR node', async () => {
  const asked: [number, string][] = [];
  const pool: SidIndexPool = {
    sidIndexUnavailable: async (index, n) => (asked.push([index, n]), index === 7 ? 'index 7 is in hold-down' : undefined),
  };
  const { store, sidLocks } = memoryStore([]);
  const err = await refusal(new WriteContext(store, pool), node({ nodeSidIndex: 7 }));
  assert.deepEqual(problems(err), ['/nodeSidIndex: index 7 is in hold-down']);
  await nodes.save(new WriteContext(store, pool), node({ id: 'ext', routerId: '192.0.2.9', transport: 'external', nodeSidIndex: 7 }), undefined);
  assert.deepEqual(asked, [[7, 'pe1']], 'an external-transport node asks no one');
  assert.equal(sidLocks.length, 2);
  await nodes.save(new WriteContext(store, pool), node({ id: 'ext', routerId: '192.0.2.9', transport: 'external', nodeSidIndex: 7, name: 'x' }), await store.nodes.read('ext'));
  assert.equal(sidLocks.length, 2, 'an unchanged index takes no lock');
});

test('node rules: a PE with sites cannot become a P; a node with sites or links cannot go', async () => {
  const { store, stored } = memoryStore([node()], { sites: { pe1: 2 }, links: { pe2: 1 } });
  const current = await store.nodes.read('pe1');
  const err = await refusal(new WriteContext(store), node({ role: 'P' }), current);
  assert.deepEqual(problems(err), ["/role: node 'pe1' still has 2 site(s); a P node holds no VPN state"]);
  const gone = await nodes.remove(new WriteContext(store), current!).catch((e: IntentError) => e);
  assert.equal(gone?.message, "node 'pe1' still has 2 site(s); delete or move them first");
  stored.set('pe2', pe2);
  const linked = await nodes.remove(new WriteContext(store), (await store.nodes.read('pe2'))!).catch((e: IntentError) => e);
  assert.equal(linked?.message, "node 'pe2' still has 1 link(s); delete them first");
});

test('node writes: a topology change affects every node, a name change only the node', async () => {
  const { store, stored } = memoryStore([node(), pe2]);
  let ctx = new WriteContext(store);
  await nodes.save(ctx, node({ name: 'edge-1' }), await store.nodes.read('pe1'));
  assert.equal(stored.get('pe1')!.name, 'edge-1');
  assert.deepEqual(ctx.changes, [{ kind: 'node', id: 'pe1', action: 'update' }]);
  assert.deepEqual([...ctx.nodes], ['pe1']);
  ctx = new WriteContext(store);
  await nodes.save(ctx, node({ name: 'edge-1', loopback: '198.51.100.1' }), await store.nodes.read('pe1'));
  assert.deepEqual([...ctx.nodes].sort(), ['pe1', 'pe2']);
});
