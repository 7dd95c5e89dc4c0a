// Agent identity that no API gives away (issue 13 §2), over real REST and
// gRPC: a join token made by an admin is exchanged once for the node's
// credential; no read shows a credential; the agent speaks only for its own
// node; rotation hands over to a new credential; revocation ends the open
// streams at once, also those a second replica holds; each is a security
// event.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import pg from 'pg';
import { AgentServiceClient, ReportStatusRequest, type WatchDesiredStateResponse } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { Node, VpnNodeRole, VpnServiceClient } from '../../services/common/gen/proto/l3vpn/v1/vpn.js';
import { insecure, promiseClient } from '../../services/common/grpc/client.js';
import { eventually } from '../support/eventually.js';
import { testSecret } from '../support/service-auth.js';
import { enrolWith, pe, startVpnHarness, type VpnHarness } from './support.js';

const bearer = (token?: string) => {
  const md = new Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
};
const codeOf = (p: Promise<unknown>) => p.then(() => status.OK, (err: ServiceError) => err.code);

describe('agent enrolment, credentials, rotation and revocation', () => {
  let h: VpnHarness;
  let sql: pg.Client;
  let agents: AgentServiceClient;
  let vpnApi: ReturnType<typeof promiseClient<VpnServiceClient>>;
  const address = () => `127.0.0.1:${h.vpn.grpcPort}`;
  const report = (node: string, credential?: string) =>
    codeOf(new Promise((resolve, reject) => agents.reportStatus(ReportStatusRequest.fromPartial({ node, driver: 'soft' }), bearer(credential), (e, r) => (e ? reject(e) : resolve(r)))));
  const joinToken = async (node: string, body: unknown = {}) => {
    const r = await h.call('POST', `/v1/nodes/${node}/join-tokens`, { body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.headers.get('cache-control'), 'no-store', 'a secret shown once is not for caches');
    return r.body as { id: string; node: string; token: string; expiresAt: string; createdAt: string };
  };
  /** A watch stream and how it ended (undefined while open). */
  const watch = (node: string, credential: string) => {
    const call: ClientReadableStream<WatchDesiredStateResponse> = agents.watchDesiredState({ node, appliedGeneration: 0 }, bearer(credential));
    const result: { error?: ServiceError; at?: number } = {};
    call.on('data', () => undefined);
    call.on('error', (err: ServiceError) => Object.assign(result, { error: err, at: performance.now() }));
    return { call, result };
  };
  /** Waits until the server holds an open watch of the node (agent_watch row). */
  const watching = (node: string) =>
    eventually(`a watch of ${node} open on the server`, async () => (await sql.query('SELECT 1 FROM agent_watch WHERE node_id = $1 AND ended_at IS NULL', [node])).rowCount === 1);
  const events = async (event: string, reason = '') => {
    const m = await h.vpn.metrics!.getSingleMetric('l3vpn_security_events_total')?.get();
    return m?.values.find((v) => v.labels.event === event && v.labels.reason === reason)?.value ?? 0;
  };

  before(async () => {
    h = await startVpnHarness();
    sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
    for (const [id, n] of [['pe1', 1], ['pe2', 2], ['pe3', 3], ['pe4', 4]] as const) assert.equal((await h.call('POST', '/v1/nodes', { body: pe(id, n) })).status, 201);
    agents = new AgentServiceClient(address(), insecure());
    vpnApi = promiseClient(new VpnServiceClient(address(), insecure()));
  });
  after(async () => {
    agents?.close();
    vpnApi?.close();
    await sql?.end();
    await h?.stop();
  });

  test('a join token is made by an admin only, shown once, stored hashed and bounded in time', async () => {
    for (const token of [h.tokens.read, h.tokens.write]) assert.equal((await h.call('POST', '/v1/nodes/pe1/join-tokens', { token, body: {} })).status, 403);
    assert.equal((await h.call('POST', '/v1/nodes/pe1/join-tokens', { token: null, body: {} })).status, 401);
    assert.equal((await h.call('POST', '/v1/nodes/nope/join-tokens', { body: {} })).status, 404);
    for (const ttlSeconds of [59, 86_401, 'x']) {
      const r = await h.call('POST', '/v1/nodes/pe1/join-tokens', { body: { ttlSeconds } });
      assert.equal(r.status, 400);
      assert.equal(r.body.errors[0].pointer, '#/ttlSeconds');
    }
    const before = Date.now();
    const t = await joinToken('pe1', { ttlSeconds: 600 });
    assert.match(t.token, /^l3vpn_join_[A-Za-z0-9_-]{43}$/);
    assert.equal(t.node, 'pe1');
    assert.ok(Math.abs(Date.parse(t.expiresAt) - before - 600_000) < 5000, t.expiresAt);
    const rows = (await sql.query('SELECT hash FROM join_token WHERE id = $1', [t.id])).rows;
    assert.equal(rows.length, 1);
    assert.match(rows[0].hash, /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(rows).includes(t.token.slice(11)), 'only the hash is stored');
    const untimed = await joinToken('pe1');
    assert.ok(Math.abs(Date.parse(untimed.expiresAt) - Date.parse(untimed.createdAt) - 3_600_000) < 1000, 'an hour by default');
    // The same over gRPC (VpnService), admin only.
    const made = await vpnApi.createJoinToken({ node: 'pe1', ttlSeconds: 0 }, { metadata: bearer(h.tokens.admin) });
    assert.match(made.joinToken, /^l3vpn_join_/);
    assert.equal(await codeOf(vpnApi.createJoinToken({ node: 'pe1', ttlSeconds: 0 }, { metadata: bearer(h.tokens.write) })), status.PERMISSION_DENIED);
    assert.equal(await codeOf(vpnApi.createJoinToken({ node: 'pe1', ttlSeconds: 10 }, { metadata: bearer(h.tokens.admin) })), status.INVALID_ARGUMENT);
    assert.equal(await codeOf(vpnApi.createJoinToken({ node: 'x\u0000'.repeat(50_000), ttlSeconds: 0 }, { metadata: bearer(h.tokens.admin) })), status.NOT_FOUND);
  });

  test('a join token enrols once; used, expired, unknown or for another node it is refused', async () => {
    const created = await events('join-token-created');
    const t = await joinToken('pe2');
    assert.equal(await events('join-token-created'), created + 1);
    // Another node's token is refused and stays unused.
    await assert.rejects(enrolWith(address(), 'pe3', t.token), (e: ServiceError) => e.code === status.PERMISSION_DENIED);
    const credential = await enrolWith(address(), 'pe2', t.token);
    assert.match(credential, /^l3vpn_node_[A-Za-z0-9_-]{43}$/);
    await assert.rejects(enrolWith(address(), 'pe2', t.token), (e: ServiceError) => e.code === status.UNAUTHENTICATED && /has been used/.test(e.details));
    assert.equal(await events('authentication-failed', 'used-join-token'), 1);
    assert.equal(await events('permission-denied', 'wrong-node'), 1);
    assert.equal(await events('agent-enrolled'), 1);
    assert.equal(await report('pe2', credential), status.OK);

    const expired = await joinToken('pe2');
    await sql.query("UPDATE join_token SET expires_at = now() - interval '1 second' WHERE id = $1", [expired.id]);
    await assert.rejects(enrolWith(address(), 'pe2', expired.token), (e: ServiceError) => e.code === status.UNAUTHENTICATED && /expired/.test(e.details));
    assert.equal(await events('authentication-failed', 'expired-join-token'), 1);
    await assert.rejects(enrolWith(address(), 'pe2', 'l3vpn_join_not-a-token'), (e: ServiceError) => e.code === status.UNAUTHENTICATED);
    assert.equal(await report('pe2', credential), status.OK, 'refused enrolments leave the credential alone');

    // A new enrolment replaces the node's credential.
    const again = await enrolWith(address(), 'pe2', (await joinToken('pe2')).token);
    assert.equal(await report('pe2', again), status.OK);
    assert.equal(await report('pe2', credential), status.UNAUTHENTICATED);
  });

  test('no read returns an agent credential, and agentIdentity is refused naming the field and how to enrol', async () => {
    const credential = await h.enrol('pe1');
    const texts = [
      JSON.stringify((await h.call('GET', '/v1/nodes', { token: h.tokens.read })).body),
      JSON.stringify((await h.call('GET', '/v1/nodes/pe1', { token: h.tokens.read })).body),
      JSON.stringify((await h.call('GET', '/v1/nodes/pe1/state', { token: h.tokens.read })).body),
    ];
    const md = { metadata: bearer(h.tokens.read) };
    const got = (await vpnApi.getNode({ id: 'pe1' }, md)).node!;
    const listed = (await vpnApi.listNodes({ pageSize: 0, pageToken: '', role: '', status: '' }, md)).nodes;
    assert.equal(got.agentIdentity, '');
    assert.ok(listed.length >= 4 && listed.every((n) => n.agentIdentity === ''));
    texts.push(JSON.stringify(Node.toJSON(got)), JSON.stringify(listed.map((n) => Node.toJSON(n))));
    for (const text of texts) {
      assert.ok(!/agentIdentity|l3vpn_node_|l3vpn_join_/.test(text), text);
      assert.ok(!text.includes(credential));
    }
    const refused = await h.call('POST', '/v1/nodes', { body: pe('pe9', 9, { agentIdentity: 'secret-of-pe9' }) });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.errors[0].pointer, '#/agentIdentity');
    assert.match(refused.body.errors[0].detail, /retired.*join-tokens/);
    const patched = await h.call('PATCH', '/v1/nodes/pe1', { body: { agentIdentity: 'x' }, headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(patched.status, 400);
    assert.match(patched.body.detail, /agentIdentity.*retired/);
    const node = Node.fromPartial({ id: 'pe9', role: VpnNodeRole.VPN_NODE_ROLE_PE, routerId: '192.0.2.9', asNumber: 65000, agentIdentity: 'secret-of-pe9' });
    await assert.rejects(vpnApi.createNode({ node, dryRun: false }, { metadata: bearer(h.tokens.admin) }), (e: ServiceError) => {
      assert.equal(e.code, status.INVALID_ARGUMENT);
      assert.match(e.details, /^agent_identity: is retired/);
      return true;
    });
    assert.equal((await sql.query("SELECT count(*)::int AS n FROM node WHERE id = 'pe9'")).rows[0].n, 0);
  });

  test('an agent speaks only for its own node; API tokens, the vpn service\'s own identity and no credential cannot call agent methods', async () => {
    const credential = await h.enrol('pe3');
    assert.equal(await report('pe3', credential), status.OK);
    assert.equal(await report('pe4', credential), status.PERMISSION_DENIED);
    const other = watch('pe4', credential);
    await eventually('the watch of another node refused', () => other.result.error !== undefined);
    assert.equal(other.result.error!.code, status.PERMISSION_DENIED);
    for (const token of [h.tokens.admin, h.tokens.read, testSecret('service:vpn'), undefined, 'l3vpn_node_forged']) {
      assert.equal(await report('pe3', token), status.UNAUTHENTICATED, String(token));
      const w = watch('pe3', token ?? '');
      await eventually('the watch refused', () => w.result.error !== undefined);
      assert.equal(w.result.error!.code, status.UNAUTHENTICATED);
    }
    assert.ok((await events('authentication-failed', 'unknown-credential')) >= 6);
    assert.ok((await events('authentication-failed', 'no-credential')) >= 2);
    assert.equal(await codeOf(new Promise((res, rej) => agents.rotateCredential({ node: 'pe3' }, bearer(h.tokens.admin), (e, r) => (e ? rej(e) : res(r))))), status.UNAUTHENTICATED);
  });

  test('rotation: the old credential works until the new one is used, then stops, and its stream ends', async () => {
    const old = await h.enrol('pe4');
    const stream = watch('pe4', old);
    await watching('pe4');
    const rotate = (credential: string) =>
      new Promise<string>((resolve, reject) => agents.rotateCredential({ node: 'pe4' }, bearer(credential), (e, r) => (e ? reject(e) : resolve(r!.credential))));
    const lost = await rotate(old);
    // The answer was lost: rotating again replaces the unused successor.
    const next = await rotate(old);
    assert.notEqual(lost, next);
    assert.match(next, /^l3vpn_node_/);
    assert.equal(await report('pe4', old), status.OK, 'the old one works while the new one is unused');
    assert.equal(stream.result.error, undefined);
    assert.equal(await report('pe4', lost), status.UNAUTHENTICATED, 'a replaced successor never works');
    assert.equal(await report('pe4', next), status.OK);
    await eventually('the old stream ended', () => stream.result.error !== undefined, 2000);
    assert.equal(stream.result.error!.code, status.UNAUTHENTICATED);
    assert.equal(await report('pe4', old), status.UNAUTHENTICATED);
    assert.equal(await report('pe4', next), status.OK);
    assert.equal(await events('agent-credential-rotated'), 2);
  });

  test('revocation ends open streams at once, on another replica too, and refuses every later call and pending join token', async () => {
    const replica = await startVpnHarness({}, { db: h.db, redis: h.redis });
    const remote = new AgentServiceClient(`127.0.0.1:${replica.vpn.grpcPort}`, insecure());
    try {
      const credential = await h.enrol('pe1');
      const pending = await joinToken('pe1');
      const here = watch('pe1', credential);
      const call = remote.watchDesiredState({ node: 'pe1', appliedGeneration: 0 }, bearer(credential));
      const there: { error?: ServiceError; at?: number } = {};
      call.on('data', () => undefined);
      call.on('error', (err: ServiceError) => Object.assign(there, { error: err, at: performance.now() }));
      await eventually('both streams open', async () => (await sql.query("SELECT count(*)::int AS n FROM agent_watch WHERE node_id = 'pe1' AND ended_at IS NULL")).rows[0].n === 1 && here.result.error === undefined);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(there.error, undefined);

      const revokedBefore = await events('agent-revoked');
      const unused = (await sql.query("SELECT count(*)::int AS n FROM join_token WHERE node_id = 'pe1' AND used_at IS NULL")).rows[0].n;
      assert.ok(unused >= 1);
      const start = performance.now();
      const r = await h.call('DELETE', '/v1/nodes/pe1/agent-credentials', { token: h.tokens.admin });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { node: 'pe1', credentialsRevoked: 1, joinTokensRevoked: unused });
      await eventually('both streams ended', () => here.result.error !== undefined && there.error !== undefined, 2000);
      for (const ended of [here.result, there]) {
        assert.equal(ended.error!.code, status.UNAUTHENTICATED);
        assert.ok(ended.at! - start < 1000, `ended ${Math.round(ended.at! - start)} ms after the revocation`);
      }
      assert.equal(await report('pe1', credential), status.UNAUTHENTICATED);
      await assert.rejects(enrolWith(address(), 'pe1', pending.token), (e: ServiceError) => e.code === status.UNAUTHENTICATED && /revoked/.test(e.details));
      assert.equal(await events('agent-revoked'), revokedBefore + 1);

      assert.equal((await h.call('DELETE', '/v1/nodes/pe1/agent-credentials', { token: h.tokens.write })).status, 403);
      assert.equal((await h.call('DELETE', '/v1/nodes/nope/agent-credentials')).status, 404);
      // gRPC: the same revocation; a new enrolment is the way back.
      const back = await h.enrol('pe1');
      assert.equal(await report('pe1', back), status.OK);
      const revoked = await vpnApi.revokeAgentCredentials({ node: 'pe1' }, { metadata: bearer(h.tokens.admin) });
      assert.deepEqual(revoked, { credentialsRevoked: 1, joinTokensRevoked: 0 });
      assert.equal(await report('pe1', back), status.UNAUTHENTICATED);
    } finally {
      remote.close();
      await replica.stop({ keep: true });
    }
  });
});
