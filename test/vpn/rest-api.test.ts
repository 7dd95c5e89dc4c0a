// The vpn service's REST API against a real PostgreSQL and Redis.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { pe, siteBody, startVpnHarness, vpnBody, type VpnHarness } from './support.js';

const pointers = (body: { errors?: { pointer?: string; parameter?: string }[] }) => (body.errors ?? []).map((e) => e.pointer ?? e.parameter);

describe('vpn REST API', () => {
  let h: VpnHarness;
  let sql: pg.Client;
  const outboxCount = async () => Number((await sql.query('SELECT count(*) AS n FROM outbox')).rows[0].n);

  before(async () => {
    h = await startVpnHarness();
    sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
    for (const [id, n] of [['pe1', 1], ['pe2', 2]] as const) assert.equal((await h.call('POST', '/v1/nodes', { body: pe(id, n) })).status, 201);
    assert.equal((await h.call('POST', '/v1/nodes', { body: { id: 'p1', role: 'P', routerId: '192.0.2.9', asNumber: 65000 } })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('acme') })).status, 201);
  });
  after(async () => {
    await sql?.end();
    await h?.stop();
  });

  test('no token is 401, a read token cannot write (403), with problem details', async () => {
    const none = await h.call('GET', '/v1/nodes', { token: null });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('content-type'), 'application/problem+json');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal(none.body.type, '/problems/unauthenticated');
    assert.equal((await h.call('GET', '/v1/nodes', { token: 'l3vpn_not-a-real-token-but-long-enough' })).status, 401);
    const forbidden = await h.call('POST', '/v1/vpns', { token: h.tokens.read, body: vpnBody('x') });
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.body.detail, /scope 'write'/);
    assert.equal((await h.call('GET', '/v1/nodes', { token: h.tokens.read })).status, 200);
    assert.equal((await h.call('POST', '/v1/tokens', { token: h.tokens.write, body: { name: 'x', scope: 'read' } })).status, 403);
  });

  test('schema errors are 400 naming every bad field with a JSON pointer', async () => {
    const r = await h.call('POST', '/v1/nodes', { body: { id: 'pe3', role: 'PE', routerId: '300.1.1.1', bogus: 1, labelRange: { min: 3 } } });
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.equal(r.body.status, 400);
    assert.equal(r.body.instance, '/v1/nodes');
    assert.deepEqual(new Set(pointers(r.body)), new Set(['#/asNumber', '#/bogus', '#/routerId', '#/labelRange/min', '#/labelRange/max']));
    const site = await h.call('POST', '/v1/sites', { body: { id: 's', vpn: 'acme', node: 'pe1', interface: 'eth1' } });
    assert.equal(site.status, 400);
    assert.deepEqual(site.body.errors, [{ pointer: '#', detail: 'must have one of: ipv4, ipv6, accesses' }]);
    const query = await h.call('GET', '/v1/sites?limit=0&colour=red');
    assert.equal(query.status, 400);
    assert.deepEqual(new Set(pointers(query.body)), new Set(['limit', 'colour']));
    const json = await h.call('POST', '/v1/vpns', { body: '{"id": ' });
    assert.equal(json.status, 400);
  });

  test('semantic errors are 422 naming the field', async () => {
    const outside = await h.call('POST', '/v1/sites', { body: siteBody('s1', 'acme', 'pe1', 1, { ipv4: { peAddress: '10.1.0.1/30', ceAddress: '10.1.0.9' } }) });
    assert.equal(outside.status, 422);
    assert.deepEqual(pointers(outside.body), ['#/ipv4/ceAddress']);
    assert.match(outside.body.errors[0].detail, /not in the PE interface subnet 10\.1\.0\.0\/30/);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('hs', { topology: 'hub-spoke' }) })).status, 201);
    const noRole = await h.call('POST', '/v1/sites', { body: siteBody('s1', 'hs', 'pe1', 1) });
    assert.equal(noRole.status, 422);
    assert.deepEqual(pointers(noRole.body), ['#/role']);
    const onP = await h.call('POST', '/v1/sites', { body: siteBody('s1', 'acme', 'p1', 1) });
    assert.deepEqual([onP.status, pointers(onP.body)], [422, ['#/node']]);
    const v6 = await h.call('POST', '/v1/sites', { body: siteBody('s1', 'acme', 'pe1', 1, { ipv6: { peAddress: '2001:db8::1/64', ceAddress: '2001:db8::2' } }) });
    assert.deepEqual([v6.status, pointers(v6.body)], [422, ['#/ipv6']]);
    const ibgp = await h.call('POST', '/v1/sites', { body: siteBody('s1', 'acme', 'pe1', 1, { routing: { bgp: { peerAs: 65000 } } }) });
    assert.deepEqual([ibgp.status, pointers(ibgp.body)], [422, ['#/routing/bgp/peerAs']]);
    const rts = await h.call('POST', '/v1/vpns', { body: vpnBody('bad-rt', { routeTargets: { hub: '65000:1' } }) });
    assert.deepEqual([rts.status, pointers(rts.body)], [422, ['#/routeTargets/hub']]);
    const link = await h.call('POST', '/v1/links', { body: { id: 'l', a: { node: 'pe1', interface: 'eth9' }, b: { node: 'nowhere', interface: 'eth9' } } });
    assert.deepEqual([link.status, pointers(link.body)], [422, ['#/b/node']]);
  });

  test('conflicts are 409; a failed write leaves no intent and no outbox row', async () => {
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('paris', 'acme', 'pe1', 1) })).status, 201);
    const before = await outboxCount();
    const vlan = await h.call('POST', '/v1/sites', { body: siteBody('lyon', 'acme', 'pe1', 2, { vlan: 101 }) });
    assert.deepEqual([vlan.status, pointers(vlan.body)], [409, ['#/vlan']]);
    const overlap = await h.call('POST', '/v1/sites', { body: siteBody('lyon', 'acme', 'pe1', 2, { ipv4: { peAddress: '10.1.0.5/29', ceAddress: '10.1.0.6' } }) });
    assert.deepEqual([overlap.status, pointers(overlap.body)], [409, ['#/ipv4/peAddress']]);
    assert.equal((await h.call('GET', '/v1/sites/lyon')).status, 404);
    assert.equal(await outboxCount(), before, 'refused writes leave no outbox row');
    // Another VPN may reuse the subnet on another VLAN of the same port: its own VRF.
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('globex', { customer: 'globex', routeTargets: { anyToAny: '65000:777' } }) })).status, 201);
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('globex-paris', 'globex', 'pe1', 1, { vlan: 200 }) })).status, 201);
    const rt = await h.call('POST', '/v1/vpns', { body: vpnBody('initech', { routeTargets: { anyToAny: '65000:777' } }) });
    assert.deepEqual([rt.status, pointers(rt.body)], [409, ['#/routeTargets/anyToAny']]);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('rd1', { routeDistinguisher: '65000:5' }) })).status, 201);
    const rd = await h.call('POST', '/v1/vpns', { body: vpnBody('rd2', { routeDistinguisher: '65000:5' }) });
    assert.deepEqual([rd.status, pointers(rd.body)], [409, ['#/routeDistinguisher']]);
    const busy = await h.call('DELETE', '/v1/nodes/pe1');
    assert.equal(busy.status, 409);
    assert.match(busy.body.detail, /still has 2 site/);
    const dup = await h.call('POST', '/v1/nodes', { body: pe('pe1', 1) });
    assert.deepEqual([dup.status, dup.body.type], [409, '/problems/already-exists']);
    const rid = await h.call('POST', '/v1/nodes', { body: pe('pe7', 1) });
    assert.deepEqual([rid.status, pointers(rid.body)], [409, ['#/routerId']]);
  });

  test('the intent and its outbox row commit together or not at all', async () => {
    await sql.query(`CREATE FUNCTION refuse_doomed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.aggregate_id = 'doomed' THEN RAISE EXCEPTION 'outbox refused'; END IF; RETURN NEW; END $$`);
    await sql.query('CREATE TRIGGER refuse_doomed BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_doomed()');
    const before = await outboxCount();
    const r = await h.call('POST', '/v1/vpns', { body: vpnBody('doomed') });
    assert.equal(r.status, 500);
    assert.equal((await h.call('GET', '/v1/vpns/doomed')).status, 404, 'no VPN without its outbox row');
    assert.equal(await outboxCount(), before);
    const ok = await h.call('POST', '/v1/vpns', { body: vpnBody('blessed') });
    assert.equal(ok.status, 201);
    const row = await sql.query("SELECT aggregate, action, nodes FROM outbox WHERE aggregate_id = 'blessed'");
    assert.deepEqual(row.rows, [{ aggregate: 'vpn', action: 'create', nodes: [] }]);
  });

  test('Idempotency-Key replays the first response; another body under it is 422', async () => {
    const headers = { 'idempotency-key': 'create-umbrella-1' };
    const first = await h.call('POST', '/v1/vpns', { body: vpnBody('umbrella'), headers });
    assert.equal(first.status, 201);
    const again = await h.call('POST', '/v1/vpns', { body: { customer: 'acme', id: 'umbrella' }, headers });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers.get('location'), '/v1/vpns/umbrella');
    const other = await h.call('POST', '/v1/vpns', { body: vpnBody('umbrella2'), headers });
    assert.equal(other.status, 422);
    assert.equal(other.body.type, '/problems/idempotency-key-reused');
    // The key belongs to the token that used it.
    const otherToken = await h.call('POST', '/v1/vpns', { token: h.tokens.write, body: vpnBody('umbrella'), headers });
    assert.equal(otherToken.status, 409);
  });

  test('ETag and If-Match: 412 on a stale version, merge patch, dry run writes nothing', async () => {
    const created = await h.call('POST', '/v1/vpns', { body: vpnBody('stark', { description: 'v1' }) });
    assert.equal(created.headers.get('etag'), '"1"');
    const got = await h.call('GET', '/v1/vpns/stark');
    assert.equal(got.headers.get('etag'), '"1"');
    assert.deepEqual(got.body.status, { state: 'pending' });
    assert.equal((await h.call('GET', '/v1/vpns/stark', { headers: { 'if-none-match': '"1"' } })).status, 304);
    const put = await h.call('PUT', '/v1/vpns/stark', { body: { ...got.body, description: 'v2' }, headers: { 'if-match': '"1"' } });
    assert.equal(put.status, 200);
    assert.equal(put.headers.get('etag'), '"2"');
    assert.equal(put.body.description, 'v2');
    const stale = await h.call('PUT', '/v1/vpns/stark', { body: { ...got.body, description: 'v3' }, headers: { 'if-match': '"1"' } });
    assert.equal(stale.status, 412);
    assert.equal((await h.call('PATCH', '/v1/vpns/stark', { body: { description: 'x' }, headers: { 'if-match': 'W/"2"' } })).status, 412, 'weak tags never match If-Match');
    const patch = await h.call('PATCH', '/v1/vpns/stark', {
      body: { description: null, maxRoutesPerVrf: 50 },
      headers: { 'if-match': '"2"', 'content-type': 'application/merge-patch+json' },
    });
    assert.equal(patch.status, 200);
    assert.equal(patch.body.description, undefined);
    assert.equal(patch.body.maxRoutesPerVrf, 50);
    assert.equal(patch.body.version, 3);
    const badPatch = await h.call('PATCH', '/v1/vpns/stark', { body: { topology: 'mesh' } });
    assert.deepEqual([badPatch.status, pointers(badPatch.body)], [400, ['#/topology']]);
    const dry = await h.call('DELETE', '/v1/vpns/stark?dryRun=true', { headers: { 'if-match': '*' } });
    assert.equal(dry.status, 200);
    assert.deepEqual(dry.body, {
      dryRun: true,
      changes: [{ kind: 'vpn', id: 'stark', action: 'delete' }],
      affectedNodes: [],
      plan: [],
      // No worker ran, so nothing was allocated that could be released.
      releases: { routeTargets: [], routeDistinguishers: [] },
    });
    assert.equal((await h.call('GET', '/v1/vpns/stark')).status, 200);
    assert.equal((await h.call('DELETE', '/v1/vpns/stark', { headers: { 'if-match': '"3"' } })).status, 204);
    assert.equal((await h.call('GET', '/v1/vpns/stark')).status, 404);
  });

  test('a dry-run site answers the VRF it would create and the node to reconcile, writing nothing', async () => {
    const before = await outboxCount();
    const r = await h.call('POST', '/v1/sites?dryRun=true', { body: siteBody('berlin', 'acme', 'pe2', 3) });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.changes, [
      { kind: 'site', id: 'berlin', action: 'create' },
      { kind: 'vrf', id: 'acme:pe2', action: 'create' },
    ]);
    assert.deepEqual(r.body.affectedNodes, ['pe2']);
    assert.equal(r.body.resource.id, 'berlin');
    assert.equal((await h.call('GET', '/v1/sites/berlin')).status, 404);
    assert.equal((await h.call('GET', '/v1/vrfs/acme:pe2')).status, 404);
    assert.equal(await outboxCount(), before);
  });

  test('VRFs are derived from sites and carry a well-defined route state', async () => {
    const list = await h.call('GET', '/v1/vrfs?vpn=globex');
    assert.equal(list.status, 200);
    assert.equal(list.body.items.length, 1);
    const vrf = list.body.items[0];
    assert.equal(vrf.id, 'globex:pe1');
    assert.deepEqual(vrf.importRouteTargets, ['65000:777']);
    assert.deepEqual(vrf.exportRouteTargets, ['65000:777']);
    assert.deepEqual(vrf.sites, ['globex-paris']);
    const one = await h.call('GET', '/v1/vrfs/globex:pe1');
    assert.equal(one.body.routes.state, 'unavailable');
    assert.deepEqual(one.body.routes.routes, []);
    assert.match(one.body.routes.reason, /bgp/);
    const routes = await h.call('GET', '/v1/vrfs/globex:pe1/routes');
    assert.equal(routes.body.state, 'unavailable');
    assert.equal((await h.call('DELETE', '/v1/sites/globex-paris')).status, 204);
    assert.equal((await h.call('GET', '/v1/vrfs/globex:pe1')).status, 404, 'the last site takes its VRF with it');
  });

  test('lists page with an opaque cursor, passed back as `cursor`, a Link to the next page, and filter', async () => {
    for (let i = 0; i < 7; i++) assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody(`page-${i}`, { customer: 'pager' }) })).status, 201);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const path: string = `/v1/vpns?customer=pager&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await h.call('GET', path);
      assert.equal(r.status, 200);
      seen.push(...r.body.items.map((v: { id: string }) => v.id));
      if (r.body.next) {
        assert.doesNotMatch(r.body.next, /[/?&=]/, 'next is a cursor, not a link');
        assert.equal(r.headers.get('link'), `</v1/vpns?customer=pager&limit=3&cursor=${encodeURIComponent(r.body.next)}>; rel="next"`);
      } else {
        assert.equal(r.headers.get('link'), null, 'no Link on the last page');
      }
      cursor = r.body.next;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6].map((i) => `page-${i}`));
    assert.equal((await h.call('GET', '/v1/vpns?cursor=garbage')).status, 400);
    const sites = await h.call('GET', '/v1/sites?node=pe1&vpn=acme');
    assert.deepEqual(sites.body.items.map((s: { id: string }) => s.id), ['paris']);
  });

  test('the OpenAPI document lists every route and is served without a token', async () => {
    const doc = await h.call('GET', '/docs/openapi.json', { token: null });
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.0.3');
    for (const path of ['/v1/nodes', '/v1/links', '/v1/vpns', '/v1/sites']) {
      assert.deepEqual(Object.keys(doc.body.paths[path]).sort(), ['get', 'post']);
      assert.deepEqual(Object.keys(doc.body.paths[`${path}/{id}`]).sort(), ['delete', 'get', 'patch', 'put']);
    }
    for (const path of ['/v1/vrfs', '/v1/vrfs/{id}', '/v1/vrfs/{id}/routes']) assert.ok(doc.body.paths[path]?.get, path);
    assert.ok(doc.body.paths['/v1/tokens'].post);
    for (const name of ['Node', 'Link', 'Vpn', 'Site', 'Vrf', 'Problem', 'Plan']) assert.ok(doc.body.components.schemas[name], name);
    assert.equal(doc.body.components.securitySchemes.bearer.scheme, 'bearer');
    const post = doc.body.paths['/v1/sites'].post;
    assert.ok(post.requestBody.content['application/json'].schema);
    assert.ok(post.responses['422']);
    // Every operation: a unique operationId; every error declared as the problem+json it is sent as, 500 and 503 included.
    const ids: string[] = [];
    for (const [path, item] of Object.entries(doc.body.paths as Record<string, Record<string, { operationId?: string; responses: Record<string, { content?: Record<string, unknown> }> }>>)) {
      for (const [method, op] of Object.entries(item)) {
        assert.ok(op.operationId, `${method} ${path} has an operationId`);
        ids.push(op.operationId);
        for (const code of ['500', '503']) assert.ok(op.responses[code], `${method} ${path} declares ${code}`);
        for (const [code, r] of Object.entries(op.responses)) {
          if (Number(code) >= 400) assert.deepEqual(Object.keys(r.content ?? {}), ['application/problem+json'], `${method} ${path} ${code}`);
        }
      }
    }
    assert.equal(new Set(ids).size, ids.length, `operationIds are unique: ${ids.join(', ')}`);
    assert.ok(ids.includes('listNodes') && ids.includes('updateSite') && ids.includes('getVrfRoutes') && ids.includes('getNodeState'));
    for (const code of ['413', '415']) assert.ok(post.responses[code], `POST /v1/sites declares ${code}`);
    const page = await h.call('GET', '/docs', { token: null });
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.equal((await h.call('GET', '/problems/conflict', { token: null })).status, 200);
  });

  test('tokens: an admin creates one, its secret works once shown, revoking ends it', async () => {
    const created = await h.call('POST', '/v1/tokens', { body: { name: 'portal', scope: 'write' } });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('cache-control'), 'no-store', 'a secret shown once is not for caches');
    assert.match(created.body.token, /^l3vpn_/);
    const hash = await sql.query("SELECT hash FROM api_token WHERE name = 'portal'");
    assert.notEqual(hash.rows[0].hash, created.body.token, 'only a hash is stored');
    assert.equal((await h.call('GET', '/v1/vpns', { token: created.body.token })).status, 200);
    const listed = await h.call('GET', '/v1/tokens');
    assert.ok(listed.body.items.every((t: { token?: string }) => t.token === undefined));
    assert.equal((await h.call('DELETE', `/v1/tokens/${created.body.id}`)).status, 204);
    h.vpn.tokens['cache' as never] && (h.vpn.tokens as unknown as { cache: Map<string, unknown> }).cache.clear();
    assert.equal((await h.call('GET', '/v1/vpns', { token: created.body.token })).status, 401);
  });
});
