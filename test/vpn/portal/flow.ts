// A provisioning portal written against the TypeScript client generated
// from the served OpenAPI document (openapi-typescript's `paths`, called
// through openapi-fetch). It is not part of the build: api.ts exists only
// once test/vpn/portal-client.test.ts has generated it next to this file,
// then type-checks both with tsc (so a document that cannot express this
// flow fails the test at compile time) and runs it against the server.
import assert from 'node:assert/strict';
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './api.js';

type Node = components['schemas']['Node'];
type Site = components['schemas']['Site'];
type Plan = components['schemas']['Plan'];

export interface PortalOptions {
  baseUrl: string;
  token: string;
  /** Sees every response (the test checks each against the document). */
  observe: Middleware;
}

export interface PortalRun {
  /** Node ids in the order the pages gave them, and how many pages it took. */
  listedNodes: string[];
  nodePages: number;
  sitePages: number;
}

const isPlan = (body: object): body is Plan => 'dryRun' in body;

export async function provisioningPortal(options: PortalOptions): Promise<PortalRun> {
  const api = createClient<paths>({ baseUrl: options.baseUrl, headers: { Authorization: `Bearer ${options.token}` } });
  api.use(options.observe);

  // Without a token: 401 with a Bearer challenge.
  const anonymous = await api.GET('/v1/nodes', { headers: { Authorization: null } });
  assert.equal(anonymous.response.status, 401);
  assert.match(anonymous.response.headers.get('WWW-Authenticate') ?? '', /^Bearer/);

  // Inventory: three PEs and a P router, each create safe to retry under its Idempotency-Key.
  const nodes: Node[] = [
    { id: 'pe1', role: 'PE', routerId: '192.0.2.1', asNumber: 65000 },
    { id: 'pe2', role: 'PE', routerId: '192.0.2.2', asNumber: 65000 },
    { id: 'pe3', role: 'PE', routerId: '192.0.2.3', asNumber: 65000 },
    { id: 'p1', role: 'P', routerId: '192.0.2.9', asNumber: 65000 },
  ];
  for (const node of nodes) {
    const created = await api.POST('/v1/nodes', { params: { header: { 'Idempotency-Key': `portal-node-${node.id}` } }, body: node });
    assert.equal(created.response.status, 201, JSON.stringify(created.error));
    assert.ok(created.data && !isPlan(created.data));
    assert.equal(created.data.id, node.id);
    assert.equal(created.response.headers.get('Location'), `/v1/nodes/${node.id}`);
    assert.match(created.response.headers.get('ETag') ?? '', /^"\d+"$/);
  }
  const retried = await api.POST('/v1/nodes', { params: { header: { 'Idempotency-Key': 'portal-node-pe1' } }, body: nodes[0]! });
  assert.equal(retried.response.status, 201);
  assert.equal(retried.response.headers.get('Idempotent-Replayed'), 'true');
  const reused = await api.POST('/v1/nodes', { params: { header: { 'Idempotency-Key': 'portal-node-pe1' } }, body: nodes[1]! });
  assert.equal(reused.response.status, 422);
  assert.equal(reused.error?.type, '/problems/idempotency-key-reused');
  const taken = await api.POST('/v1/nodes', { body: nodes[0]! });
  assert.equal(taken.response.status, 409);
  assert.equal(taken.error?.type, '/problems/already-exists');
  const core = await api.POST('/v1/links', { body: { id: 'pe1-p1', a: { node: 'pe1', interface: 'core0', address: '10.255.0.0/31' }, b: { node: 'p1', interface: 'core0', address: '10.255.0.1/31' } } });
  assert.equal(core.response.status, 201, JSON.stringify(core.error));

  // A VPN and its sites; a site is tried as a dry run first.
  const vpn = await api.POST('/v1/vpns', { body: { id: 'acme', customer: 'Acme Corp', description: 'three offices' } });
  assert.equal(vpn.response.status, 201, JSON.stringify(vpn.error));
  const site = (id: string, node: string, n: number, ceAddress = `10.${n}.0.2`): Site => ({
    id,
    vpn: 'acme',
    node,
    interface: 'eth1',
    vlan: 100 + n,
    ipv4: { peAddress: `10.${n}.0.1/30`, ceAddress },
  });
  const tried = await api.POST('/v1/sites', { params: { query: { dryRun: true } }, body: site('paris', 'pe1', 1) });
  assert.equal(tried.response.status, 200);
  assert.ok(tried.data && isPlan(tried.data));
  assert.deepEqual(tried.data.affectedNodes, ['pe1']);
  assert.equal((await api.GET('/v1/sites/{id}', { params: { path: { id: 'paris' } } })).response.status, 404, 'a dry run writes nothing');
  for (const [id, node, n] of [['paris', 'pe1', 1], ['berlin', 'pe2', 2], ['madrid', 'pe3', 3]] as const) {
    const created = await api.POST('/v1/sites', { body: site(id, node, n) });
    assert.equal(created.response.status, 201, JSON.stringify(created.error));
  }
  const outside = await api.POST('/v1/sites', { body: site('rome', 'pe1', 4, '10.4.0.9') });
  assert.equal(outside.response.status, 422);
  assert.deepEqual(outside.error?.errors?.map((e) => e.pointer), ['#/ipv4/ceAddress']);
  const malformed = await api.POST('/v1/nodes', { body: { id: 'pe4', role: 'PE', routerId: '300.1.1.1', asNumber: 65000 } });
  assert.equal(malformed.response.status, 400);

  // Lists, one or two items a page, following `next` as the cursor.
  const listedNodes: string[] = [];
  let nodePages = 0;
  let cursor: string | undefined;
  do {
    const page = await api.GET('/v1/nodes', { params: { query: { limit: 1, ...(cursor ? { cursor } : {}) } } });
    assert.equal(page.response.status, 200);
    listedNodes.push(...page.data!.items.map((n) => n.id));
    cursor = page.data!.next;
    assert.equal(page.response.headers.has('Link'), cursor !== undefined);
    nodePages++;
  } while (cursor);
  let sitePages = 0;
  do {
    const page = await api.GET('/v1/sites', { params: { query: { vpn: 'acme', limit: 2, ...(cursor ? { cursor } : {}) } } });
    assert.equal(page.response.status, 200);
    cursor = page.data!.next;
    sitePages++;
  } while (cursor);
  const pes = await api.GET('/v1/nodes', { params: { query: { role: 'PE' } } });
  assert.deepEqual(pes.data?.items.map((n) => n.id), ['pe1', 'pe2', 'pe3']);

  // Read, then change under If-Match; a stale ETag is refused.
  const read = await api.GET('/v1/vpns/{id}', { params: { path: { id: 'acme' } } });
  const etag = read.response.headers.get('ETag')!;
  assert.equal(read.data?.customer, 'Acme Corp');
  const unchanged = await api.GET('/v1/vpns/{id}', { params: { path: { id: 'acme' }, header: { 'If-None-Match': etag } } });
  assert.equal(unchanged.response.status, 304);
  const patched = await api.PATCH('/v1/vpns/{id}', {
    params: { path: { id: 'acme' }, header: { 'If-Match': etag } },
    headers: { 'Content-Type': 'application/merge-patch+json' },
    body: { description: 'four offices soon', maxRoutesPerVrf: 500 },
  });
  assert.equal(patched.response.status, 200, JSON.stringify(patched.error));
  assert.ok(patched.data && !isPlan(patched.data));
  assert.equal(patched.data.maxRoutesPerVrf, 500);
  const newEtag = patched.response.headers.get('ETag')!;
  assert.notEqual(newEtag, etag);
  const stale = await api.PATCH('/v1/vpns/{id}', { params: { path: { id: 'acme' }, header: { 'If-Match': etag } }, body: { description: 'lost update' } });
  assert.equal(stale.response.status, 412);
  assert.equal(stale.error?.type, '/problems/precondition-failed');
  const { version: _v, status: _s, createdAt: _c, updatedAt: _u, ...intent } = patched.data;
  const replaced = await api.PUT('/v1/vpns/{id}', { params: { path: { id: 'acme' }, header: { 'If-Match': newEtag } }, body: { ...intent, description: 'replaced' } });
  assert.equal(replaced.response.status, 200, JSON.stringify(replaced.error));

  // What the intent derives: VRFs, their routes, a node's state.
  const vrfs = await api.GET('/v1/vrfs', { params: { query: { vpn: 'acme', limit: 2 } } });
  assert.equal(vrfs.data?.items.length, 2);
  const vrf = await api.GET('/v1/vrfs/{id}', { params: { path: { id: 'acme:pe1' } } });
  assert.equal(vrf.data?.sites?.[0], 'paris');
  assert.equal((await api.GET('/v1/vrfs/{id}/routes', { params: { path: { id: 'acme:pe1' } } })).response.status, 200);
  const state = await api.GET('/v1/nodes/{id}/state', { params: { path: { id: 'pe1' } } });
  assert.equal(state.data?.node, 'pe1');

  // Take it all down: a dry run first, then for real, each delete under If-Match.
  const wouldDelete = await api.DELETE('/v1/sites/{id}', { params: { path: { id: 'madrid' }, query: { dryRun: true }, header: { 'If-Match': '*' } } });
  assert.equal(wouldDelete.response.status, 200);
  assert.deepEqual(wouldDelete.data?.changes.map((c) => `${c.kind} ${c.action}`), ['site delete', 'vrf delete']);
  const busy = await api.DELETE('/v1/nodes/{id}', { params: { path: { id: 'pe1' } } });
  assert.equal(busy.response.status, 409);
  const remove = async (kind: 'sites' | 'vpns' | 'links' | 'nodes', id: string) => {
    const current = await api.GET(`/v1/${kind}/{id}`, { params: { path: { id } } });
    const deleted = await api.DELETE(`/v1/${kind}/{id}`, { params: { path: { id }, header: { 'If-Match': current.response.headers.get('ETag')! } } });
    assert.equal(deleted.response.status, 204, `${kind}/${id}: ${JSON.stringify(deleted.error)}`);
  };
  for (const id of ['paris', 'berlin', 'madrid']) await remove('sites', id);
  await remove('vpns', 'acme');
  await remove('links', 'pe1-p1');
  for (const node of nodes) await remove('nodes', node.id);
  const gone = await api.GET('/v1/vpns/{id}', { params: { path: { id: 'acme' } } });
  assert.equal(gone.response.status, 404);
  assert.equal(gone.error?.status, 404);
  return { listedNodes, nodePages, sitePages };
}
