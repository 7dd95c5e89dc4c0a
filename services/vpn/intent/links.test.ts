import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IntentStore } from '../store/intent-store.js';
import type { InterfaceRef } from '../store/interface-store.js';
import type { LinkStore } from '../store/link-store.js';
import type { NodeStore } from '../store/node-store.js';
import { IntentError } from './errors.js';
import { links } from './links.js';
import type { LinkSpec, LinkView } from './types.js';
import { WriteContext } from './write-context.js';

/** A part of the store the link rules must not use. */
/** A part of the store with only the methods the link rules may call; any other call fails the test. */
const only = <T extends object>(name: string, methods: Partial<T> = {}) =>
  new Proxy(methods as T, {
    get: (target, method) =>
      (target as Record<string | symbol, unknown>)[method] ??
      (() => {
        throw new Error(`link rules called ${name}.${String(method)}`);
      }),
  });

/** An in-memory intent: nodes, links, and the interfaces sites attach to. */
function memoryStore(init: { nodes: string[]; links?: LinkSpec[]; sites?: { id: string; node: string; interface: string }[] }) {
  const nodes = new Set(init.nodes);
  const stored = new Map((init.links ?? []).map((l) => [l.id, l]));
  const sites = init.sites ?? [];
  const on = (e: InterfaceRef, end: { node: string; interface: string }) => e.node === end.node && e.interface === end.interface;
  const view = (l: LinkSpec): LinkView => ({ ...l, igpMetric: l.igpMetric ?? 10, version: 1, status: { state: 'pending' }, createdAt: '', updatedAt: '', operStatus: 'unknown' }) as LinkView;
  const store: IntentStore = {
    nodes: only<NodeStore>('nodes', {
      lock: async (ids) => [...new Set(ids)].filter((id) => nodes.has(id)).sort(),
      allIds: async () => [...nodes].sort(),
    }),
    interfaces: {
      claim: async () => {},
      linkOn: async (e, except) => [...stored.values()].find((l) => l.id !== except && (on(e, l.a) || on(e, l.b)))?.id,
      siteOn: async (e) => sites.find((s) => on(e, s))?.id,
    },
    links: only<LinkStore>('links', {
      read: async (id) => (stored.has(id) ? view(stored.get(id)!) : undefined),
      list: async () => [...stored.values()].map(view),
      create: async (l) => void stored.set(l.id, l),
      update: async (l) => void stored.set(l.id, l),
      delete: async (id) => void stored.delete(id),
    }),
    vpns: only('vpns'),
    sites: only('sites'),
    vrfs: only('vrfs'),
  };
  return { store, stored };
}

const link = (a: Partial<LinkSpec['a']> = {}, b: Partial<LinkSpec['b']> = {}, id = 'l1'): LinkSpec => ({
  id,
  a: { node: 'pe1', interface: 'eth1', ...a },
  b: { node: 'p1', interface: 'eth1', ...b },
});

async function refusal(store: IntentStore, l: LinkSpec, current?: LinkView): Promise<IntentError> {
  const err = await links.save(new WriteContext(store), l, current).then(
    () => assert.fail('the write was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IntentError, String(err));
  return err;
}

const pointers = (e: IntentError) => e.fields.map((f) => `${f.pointer}: ${f.detail}`);

test('link rules: a link between a node and itself, or to a node that does not exist, is refused', async () => {
  const { store } = memoryStore({ nodes: ['pe1', 'p1'] });
  let err = await refusal(store, link({}, { node: 'pe1', interface: 'eth2' }));
  assert.equal(err.kind, 'semantic');
  assert.deepEqual(pointers(err), ['/b/node: a link joins two different nodes']);
  err = await refusal(store, link({}, { node: 'p9' }));
  assert.deepEqual(pointers(err), ["/b/node: no node 'p9'"]);
});

test('link rules: both ends get an address or neither', async () => {
  const { store } = memoryStore({ nodes: ['pe1', 'p1'] });
  let err = await refusal(store, link({ address: '10.0.0.1/31' }));
  assert.deepEqual(pointers(err), ['/b/address: give both ends an address, or neither (unnumbered)']);
  err = await refusal(store, link({}, { address: '10.0.0.1/31' }));
  assert.deepEqual(pointers(err), ['/a/address: give both ends an address, or neither (unnumbered)']);
});

test('link rules: the two addresses are distinct hosts of one subnet of one family', async () => {
  const { store } = memoryStore({ nodes: ['pe1', 'p1'] });
  const cases: [string, string, string][] = [
    ['10.0.0.0/31', '2001:db8::1/127', 'must be of the same family as a.address'],
    ['10.0.0.0/31', '10.0.0.0/31', 'must differ from a.address'],
    ['10.0.0.0/31', '10.0.0.2/31', 'must be in the subnet of a.address (10.0.0.0/31)'],
    ['10.0.0.0/30', '10.0.0.1/31', 'must be in the subnet of a.address (10.0.0.0/30)'],
  ];
  for (const [a, b, detail] of cases) {
    const err = await refusal(store, link({ address: a }, { address: b }));
    assert.deepEqual(pointers(err), [`/b/address: ${detail}`], `${a} - ${b}`);
  }
  const err = await refusal(store, link({ address: '127.0.0.1/8' }, { address: '127.0.0.2/8' }));
  assert.deepEqual(err.fields.map((f) => f.pointer), ['/a/address', '/b/address'], 'loopback addresses are not host addresses on a link');
});

test('link rules: an interface that carries another link, or attaches a site, is a conflict', async () => {
  const other = link({ interface: 'eth9' }, { interface: 'eth7' }, 'l0');
  const { store } = memoryStore({ nodes: ['pe1', 'p1'], links: [other], sites: [{ id: 's1', node: 'pe1', interface: 'ce0' }] });
  let err = await refusal(store, link({}, { interface: 'eth7' }));
  assert.equal(err.kind, 'conflict');
  assert.deepEqual(pointers(err), ["/b/interface: p1 eth7 already carries link 'l0'"]);
  err = await refusal(store, link({ interface: 'ce0' }));
  assert.equal(err.kind, 'conflict');
  assert.deepEqual(pointers(err), ["/a/interface: pe1 ce0 attaches site 's1'"]);
});

test('link writes: a valid link is stored, an update keeps its own interfaces, and every node is affected', async () => {
  const { store, stored } = memoryStore({ nodes: ['pe1', 'p1', 'p2'] });
  const l = link({ address: '10.0.0.0/31' }, { address: '10.0.0.1/31' });
  let ctx = new WriteContext(store);
  await links.save(ctx, l, undefined);
  assert.deepEqual(stored.get('l1'), l);
  assert.deepEqual(ctx.changes, [{ kind: 'link', id: 'l1', action: 'create' }]);
  assert.deepEqual([...ctx.nodes].sort(), ['p1', 'p2', 'pe1'], 'SR paths of every node depend on the topology');
  ctx = new WriteContext(store);
  const current = await store.links.read('l1');
  await links.save(ctx, { ...l, igpMetric: 20 }, current);
  assert.equal(stored.get('l1')!.igpMetric, 20);
  assert.deepEqual(ctx.changes, [{ kind: 'link', id: 'l1', action: 'update' }]);
  ctx = new WriteContext(store);
  await links.remove(ctx, (await store.links.read('l1'))!);
  assert.equal(stored.size, 0);
  assert.deepEqual(ctx.changes, [{ kind: 'link', id: 'l1', action: 'delete' }]);
});
