// One request id follows a change: the REST call's X-Request-Id comes back in
// the response (and in problem details), is stored with the outbox row and
// the desired-state generation that first contains the change, and the
// node's agent logs it when it applies that generation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import pg from 'pg';
import { Agent } from '../../services/agent/agent.js';
import { ControllerLink } from '../../services/agent/controller-link.js';
import { SoftDriver } from '../../services/agent/drivers/soft.js';
import { eventually, startReconcileHarness, type ReconcileHarness } from '../vpn/reconcile-support.js';

interface Line {
  msg: string;
  fields: Record<string, unknown>;
}

function recordingLog(lines: Line[]) {
  const add = (fields: object, msg: string) => void lines.push({ msg, fields: fields as Record<string, unknown> });
  return { info: add, warn: add, error: add };
}

describe('request id from the API call to the agent', () => {
  let h: ReconcileHarness;
  let sql: pg.Client;
  let link: ControllerLink;
  const agentLines: Line[] = [];

  before(async () => {
    h = await startReconcileHarness();
    sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
    const pe1 = { id: 'pe1', role: 'PE', routerId: '10.255.0.1', asNumber: 65000, nodeSidIndex: 1 };
    assert.equal((await h.call('POST', '/v1/nodes', { body: pe1 })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: { id: 'acme', customer: 'acme' } })).status, 201);
    const agent = new Agent({ node: 'pe1', driver: new SoftDriver(), log: recordingLog(agentLines) });
    await agent.start();
    link = new ControllerLink({
      agent,
      address: `127.0.0.1:${h.vpn.grpcPort}`,
      credentials: credentials.createInsecure(),
      token: await h.enrol('pe1'),
      log: recordingLog(agentLines),
      resyncMs: 60_000,
    });
    link.start();
    await eventually('the agent to apply its first state', async () => link.connected && agent.generation > 0);
  });
  after(async () => {
    await link?.stop();
    await sql?.end();
    await h?.stop();
  });

  test('X-Request-Id is echoed; a missing or unusable one is replaced by a fresh id', async () => {
    const given = await h.call('GET', '/v1/nodes/pe1', { headers: { 'x-request-id': 'portal-42' } });
    assert.equal(given.headers.get('x-request-id'), 'portal-42');
    const made = await h.call('GET', '/v1/nodes/pe1');
    assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const bad = await h.call('GET', '/v1/nodes/pe1', { headers: { 'x-request-id': 'x'.repeat(200) } });
    assert.match(bad.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('problem details carry the request id', async () => {
    const r = await h.call('POST', '/v1/sites', { body: { id: 'nope' }, headers: { 'x-request-id': 'portal-bad-site' } });
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    assert.equal(r.body.requestId, 'portal-bad-site');
  });

  test('a site change: outbox row, stored generation and the agent log carry its id', async () => {
    const id = 'portal-site-acme-pe1';
    const site = { id: 'acme-pe1', vpn: 'acme', node: 'pe1', interface: 'cust0', vlan: 100, ipv4: { peAddress: '172.16.1.1/30', ceAddress: '172.16.1.2' } };
    const r = await h.call('POST', '/v1/sites', { body: site, headers: { 'x-request-id': id } });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('x-request-id'), id);

    const outbox = await sql.query('SELECT nodes FROM outbox WHERE $1 = ANY(request_ids)', [id]);
    assert.ok(outbox.rows.length >= 1, 'the outbox row of the change has its request id');
    assert.ok(outbox.rows.some((row) => row.nodes.includes('pe1')));

    const stored = await eventually('a generation of pe1 carrying the id', async () => {
      const q = await sql.query('SELECT generation FROM node_desired_state WHERE node_id = $1 AND $2 = ANY(request_ids)', ['pe1', id]);
      return q.rows[0] as { generation: string } | undefined;
    });
    const generation = Number(stored.generation);
    const latest = (await h.vpn.store.latest('pe1'))!;
    assert.ok(latest.state.vrfs.some((v) => v.name === 'acme'), 'the generation contains the site');

    const applied = await eventually('the agent to log the id when it applies the generation', async () =>
      agentLines.find((l) => l.msg.startsWith('applied desired state') && (l.fields.requestIds as string[] | undefined)?.includes(id)),
    );
    assert.ok(Number(applied.fields.generation) >= generation);
  });
});
