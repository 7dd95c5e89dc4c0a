import { test } from 'node:test';
import assert from 'node:assert/strict';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonResponse, operationIdOf, registerContract } from './contract.js';
import { documentOptions, serversOf } from './docs.js';
import './context.js';

const LIMITS = { maxParamLength: 128, bodyLimit: 1024 };
const id = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 63 } } };

async function appWithContract(): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(swagger, { openapi: documentOptions('') });
  registerContract(app, LIMITS);
  return app;
}

interface Op {
  operationId: string;
  tags: string[];
  summary: string;
  security?: unknown[];
  parameters?: { in: string; name: string }[];
  responses: Record<string, { description: string; headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
}

test('operation ids come from the method and the path, sub-resources included', () => {
  const cases: [string, string, string][] = [
    ['GET', '/v1/nodes', 'listNodes'],
    ['POST', '/v1/nodes', 'createNode'],
    ['GET', '/v1/nodes/:id', 'getNode'],
    ['PUT', '/v1/vpns/:id', 'replaceVpn'],
    ['PATCH', '/v1/sites/:id', 'updateSite'],
    ['DELETE', '/v1/tokens/:id', 'deleteToken'],
    ['GET', '/v1/vrfs/:id/routes', 'getVrfRoutes'],
    ['POST', '/v1/nodes/:id/join-tokens', 'createNodeJoinToken'],
    ['DELETE', '/v1/nodes/:id/agent-credentials', 'deleteNodeAgentCredentials'],
  ];
  for (const [method, url, expected] of cases) assert.equal(operationIdOf(method, url), expected, `${method} ${url}`);
});

test('a route added later (a node join token) gets everything the shared machinery answers, with no hand-listing', async () => {
  const app = await appWithContract();
  app.post('/v1/nodes/:id/join-tokens', {
    config: { scope: 'admin' },
    schema: { params: id, body: { type: 'object', properties: { ttlSeconds: { type: 'integer' } } }, response: { 201: jsonResponse('the join token, shown once', { type: 'object' }) } },
    handler: async () => ({}),
  });
  await app.ready();
  const op = (app.swagger() as unknown as { paths: Record<string, Record<string, Op>> }).paths['/v1/nodes/{id}/join-tokens']!.post!;
  assert.equal(op.operationId, 'createNodeJoinToken');
  assert.deepEqual(op.tags, ['nodes']);
  assert.equal(op.summary, 'create node join token');
  assert.equal(op.security, undefined, 'the document-wide bearer security applies');
  assert.deepEqual(Object.keys(op.responses).sort(), ['201', '400', '401', '403', '408', '413', '414', '415', '431', '500', '503']);
  for (const [code, r] of Object.entries(op.responses)) {
    assert.ok(r.description, code);
    assert.ok(r.headers?.['X-Request-Id'], `${code} declares X-Request-Id`);
    if (Number(code) >= 400) assert.deepEqual(Object.keys(r.content ?? {}), ['application/problem+json'], code);
  }
  assert.ok(op.responses['401']!.headers!['WWW-Authenticate']);
  assert.ok(op.responses['503']!.headers!['Retry-After']);
  assert.match(op.responses['414']!.description, /128/);
  await app.close();
});

test('config.idempotent declares the Idempotency-Key parameter, its 409/422 and Idempotent-Replayed', async () => {
  const app = await appWithContract();
  app.post('/v1/vpns', {
    config: { scope: 'write', idempotent: true },
    schema: { body: { type: 'object' }, response: { 201: jsonResponse('created', { type: 'object' }) } },
    handler: async () => ({}),
  });
  await app.ready();
  const op = (app.swagger() as unknown as { paths: Record<string, Record<string, Op>> }).paths['/v1/vpns']!.post!;
  assert.deepEqual(op.parameters?.filter((p) => p.in === 'header').map((p) => p.name), ['Idempotency-Key']);
  for (const code of ['201', '409', '422']) assert.ok(op.responses[code]?.headers?.['Idempotent-Replayed'], code);
  assert.equal(op.responses['401']!.headers!['Idempotent-Replayed'], undefined, 'refused before the key is claimed');
  await app.close();
});

test('a path parameter longer than the router allows, or unbounded, and an undescribed tag are refused at registration', async () => {
  for (const [params, tags] of [
    [{ type: 'object', properties: { id: { type: 'string', maxLength: 200 } } }, undefined],
    [{ type: 'object', properties: { id: { type: 'string' } } }, undefined],
    [id, ['enrolment']],
  ] as const) {
    const app = await appWithContract();
    let failure: unknown;
    try {
      app.get('/v1/nodes/:id/things', { config: { scope: 'read' }, schema: { params, ...(tags ? { tags: [...tags] } : {}) }, handler: async () => ({}) });
      await app.ready();
    } catch (err) {
      failure = err;
    }
    assert.match(String(failure), tags ? /tag 'enrolment' needs a description/ : /needs a maxLength of at most 128/);
    await app.close().catch(() => {});
  }
});

test('servers: the public URL when configured, else the origin the document was read from', () => {
  assert.deepEqual(serversOf('').map((s) => s.url), ['/']);
  assert.deepEqual(serversOf('https://l3vpn.example.net/api/').map((s) => s.url), ['https://l3vpn.example.net/api']);
  assert.throws(() => serversOf('l3vpn.example.net'), /not an absolute URL/);
  assert.throws(() => serversOf('ftp://l3vpn.example.net'), /http\(s\)/);
});
