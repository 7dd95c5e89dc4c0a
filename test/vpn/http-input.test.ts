// No input reaches a handler unchecked (issue 13 §3): NUL and invalid UTF-8,
// unknown filter values, bodies nested without bound, media types, methods,
// node:http's and fastify's own errors, stalled bodies, bearer case, token
// expiry and conditional requests. Every answer is a problem document.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { VpnServiceClient } from '../../services/common/gen/proto/l3vpn/v1/vpn.js';
import { insecure, promiseClient } from '../../services/common/grpc/client.js';
import { pe, siteBody, startVpnHarness, vpnBody, type VpnHarness } from './support.js';

const PROBLEM = 'application/problem+json';

/** Writes `raw` on a new connection and resolves with everything the server sent until it closed (and how long that took). */
function rawExchange(port: number, raw: string): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const s = connect(port, '127.0.0.1', () => s.write(raw));
    let text = '';
    s.on('data', (b) => (text += b.toString()));
    s.on('error', reject);
    s.on('close', () => resolve({ text, ms: performance.now() - started }));
    s.setTimeout(20_000, () => s.destroy(new Error(`no close within 20 s; got ${text.slice(0, 200)}`)));
  });
}

describe('REST input checks', () => {
  let h: VpnHarness;
  let port: number;

  before(async () => {
    h = await startVpnHarness({ VPN_HTTP_REQUEST_TIMEOUT_SECONDS: '1' });
    port = h.vpn.httpPort;
    assert.equal((await h.call('POST', '/v1/nodes', { body: pe('pe1', 1) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('acme') })).status, 201);
  });
  after(async () => {
    await h?.stop();
  });

  const send = (method: string, path: string, body: string | Buffer, contentType = 'application/json', headers: Record<string, string> = {}) =>
    fetch(h.base + path, { method, body, headers: { authorization: `Bearer ${h.tokens.admin}`, 'content-type': contentType, ...headers } });

  test('U+0000 in a body string, a path id or a query parameter is a 400 naming it, never a 500', async () => {
    const body = await h.call('POST', '/v1/vpns', { body: { ...vpnBody('nul'), customer: 'a\u0000b' } });
    assert.equal(body.status, 400);
    assert.equal(body.headers.get('content-type'), PROBLEM);
    assert.deepEqual(body.body.errors.map((e: { pointer: string }) => e.pointer), ['#/customer']);
    const key = await h.call('POST', '/v1/vpns', { body: { ...vpnBody('nul2'), ['x\u0000']: 1 } });
    assert.equal(key.status, 400);
    const path = await h.call('GET', '/v1/nodes/pe%001');
    assert.equal(path.status, 400);
    assert.equal(path.body.errors[0].parameter, 'id');
    const query = await h.call('GET', '/v1/nodes?cursor=%00');
    assert.equal(query.status, 400);
    assert.equal(query.body.errors[0].parameter, 'cursor');
  });

  test('a body that is not UTF-8 is a 400, not stored as U+FFFD', async () => {
    const bytes = Buffer.concat([Buffer.from('{"id":"utf","customer":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const r = await send('POST', '/v1/vpns', bytes);
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('content-type'), PROBLEM);
    assert.match(((await r.json()) as { detail: string }).detail, /not valid UTF-8/);
    assert.equal((await h.call('GET', '/v1/vpns/utf')).status, 404);
  });

  test('a filter outside its values is a 400 (role), ids longer than any id are refused before the database', async () => {
    const r = await h.call('GET', '/v1/nodes?role=XX');
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].parameter, 'role');
    assert.equal((await h.call('GET', '/v1/nodes?role=PE')).status, 200);
    const long = await h.call('GET', `/v1/nodes/${'a'.repeat(80)}`);
    assert.equal(long.status, 400);
    const tooLong = await h.call('GET', `/v1/nodes/${'a'.repeat(300)}`);
    assert.equal(tooLong.status, 414);
    assert.equal(tooLong.headers.get('content-type'), PROBLEM);
  });

  test('a merge patch nested 5,000 levels deep is a 400, and the service goes on', async () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const r = await send('PATCH', '/v1/vpns/acme', deep, 'application/merge-patch+json');
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { detail: string }).detail, /nested deeper than/);
    assert.equal((await h.call('GET', '/v1/vpns/acme')).status, 200);
  });

  test('media type, method and URL errors are problem details: 415, 405 with Allow, bad percent-encoding 400', async () => {
    const text = await send('POST', '/v1/vpns', JSON.stringify(vpnBody('t')), 'text/plain');
    assert.equal(text.status, 415);
    assert.equal(text.headers.get('content-type'), PROBLEM);
    const method = await h.call('PATCH', '/v1/nodes');
    assert.equal(method.status, 405);
    assert.equal(method.headers.get('content-type'), PROBLEM);
    assert.deepEqual(method.headers.get('allow')!.split(', ').filter((m) => m !== 'HEAD'), ['GET', 'POST']);
    const onItem = await h.call('POST', '/v1/nodes/pe1');
    assert.equal(onItem.status, 405);
    assert.match(onItem.headers.get('allow')!, /DELETE.*GET.*PATCH.*PUT/);
    assert.equal((await h.call('GET', '/v1/nothing')).status, 404);
    const bad = await h.call('GET', '/v1/nodes/%E0%A4%A');
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('content-type'), PROBLEM);
  });

  test("node:http's own refusals are problem details: a header section too large is 431, a NUL in a header 400", async () => {
    const big = await rawExchange(port, `GET /v1/nodes HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(big.text, /^HTTP\/1.1 431 /);
    assert.match(big.text, /content-type: application\/problem\+json/i);
    const nul = await rawExchange(port, `GET /v1/nodes HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n`);
    assert.match(nul.text, /^HTTP\/1.1 400 /);
    assert.match(nul.text, /"status":400/);
  });

  test('a body that stalls (Content-Length 100, 10 bytes sent) is answered 408 and closed within the request timeout', async () => {
    const r = await rawExchange(port, `POST /v1/vpns HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.tokens.admin}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":"st"`);
    assert.match(r.text, /^HTTP\/1.1 408 /);
    assert.match(r.text, /"status":408/);
    // 1 s timeout, checked every 250 ms: never the 300 s of node's default.
    assert.ok(r.ms < 5000, `closed after ${Math.round(r.ms)} ms`);
  });

  test('the bearer scheme is case-insensitive; a token expiring is refused from that second, one created expired is refused', async () => {
    const lower = await fetch(`${h.base}/v1/nodes`, { headers: { authorization: `bearer ${h.tokens.read}` } });
    assert.equal(lower.status, 200);
    const past = await h.call('POST', '/v1/tokens', { body: { name: 'old', scope: 'read', expiresAt: '2000-01-01T00:00:00Z' } });
    assert.equal(past.status, 400);
    assert.deepEqual(past.body.errors.map((e: { pointer: string }) => e.pointer), ['#/expiresAt']);
    const expiresAt = new Date(Date.now() + 1500);
    const soon = await h.call('POST', '/v1/tokens', { body: { name: 'soon', scope: 'read', expiresAt: expiresAt.toISOString() } });
    assert.equal(soon.status, 201);
    const use = () => fetch(`${h.base}/v1/nodes`, { headers: { authorization: `Bearer ${soon.body.token}` } }).then((r) => r.status);
    assert.equal(await use(), 200, 'valid (and now cached)');
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt.getTime() - Date.now()) + 50));
    assert.equal(await use(), 401, 'expired, though verified less than the cache time ago');
  });

  test('conditional writes (RFC 9110 §13.1): an empty If-Match matches nothing, If-None-Match: * refuses an existing resource', async () => {
    const current = await h.call('GET', '/v1/vpns/acme');
    const body = { ...vpnBody('acme'), description: 'changed' };
    assert.equal((await h.call('PUT', '/v1/vpns/acme', { body, headers: { 'if-match': '' } })).status, 412);
    assert.equal((await h.call('PUT', '/v1/vpns/acme', { body, headers: { 'if-none-match': '*' } })).status, 412);
    assert.equal((await h.call('PUT', '/v1/vpns/acme', { body, headers: { 'if-none-match': current.headers.get('etag')! } })).status, 412);
    const ok = await h.call('PUT', '/v1/vpns/acme', { body, headers: { 'if-match': current.headers.get('etag')!, 'if-none-match': '"999"' } });
    assert.equal(ok.status, 200);
    // GET: If-None-Match with a list or W/ finds the current tag.
    const etag = ok.headers.get('etag')!;
    assert.equal((await h.call('GET', '/v1/vpns/acme', { headers: { 'if-none-match': `"1", W/${etag}` } })).status, 304);
  });
});

describe('a dry run whose routing service does not answer', () => {
  let h: VpnHarness;
  before(async () => {
    // Nothing listens there: the plan's routing (the bgp service) cannot be asked.
    h = await startVpnHarness({ VPN_BGP_ADDRESS: '127.0.0.1:1' });
    assert.equal((await h.call('POST', '/v1/nodes', { body: pe('pe1', 1) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('acme') })).status, 201);
    // A real write needs no routing: the reconcile does that later.
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('s0', 'acme', 'pe1', 2) })).status, 201);
  });
  after(async () => {
    await h?.stop();
  });

  test('is 503 with Retry-After over REST and UNAVAILABLE over gRPC, never a 500, and writes nothing', async () => {
    const r = await h.call('POST', '/v1/sites?dryRun=true', { body: siteBody('s1', 'acme', 'pe1', 1) });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.headers.get('content-type'), PROBLEM);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    const client = promiseClient(new VpnServiceClient(`127.0.0.1:${h.vpn.grpcPort}`, insecure()));
    const md = new Metadata();
    md.set('authorization', `Bearer ${h.tokens.admin}`);
    try {
      await assert.rejects(
        client.deleteSite({ id: 's0', expectedVersion: 0, dryRun: true }, { metadata: md }),
        (err: ServiceError) => err.code === status.UNAVAILABLE || assert.fail(`${status[err.code]}: ${err.details}`),
      );
    } finally {
      client.close();
    }
    assert.equal((await h.call('GET', '/v1/sites/s1')).status, 404);
    assert.equal((await h.call('GET', '/v1/sites/s0')).status, 200);
  });
});
