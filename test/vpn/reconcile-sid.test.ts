// Explicit and automatic node SID indexes never collide: nodes created at
// the same moment, some naming an index (the lowest free ones, which the
// automatic ones would take too) and some not, all end active, or the write
// is a clear 409; none stays provisioning, and no index is used twice, in
// the intent or in the labels service. An index a deleted node released is
// a 409 while it is in hold-down, except for that node created again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AllocationState, LabelKind } from '../../services/common/gen/proto/l3vpn/v1/labels.js';
import { SR_DOMAIN } from '../../services/vpn/reconcile/owners.js';
import { eventually, startReconcileHarness, type ReconcileHarness } from './reconcile-support.js';

const node = (id: string, n: number, sid?: number) => ({
  id,
  role: 'PE',
  routerId: `10.249.${n >> 8}.${n & 0xff}`,
  asNumber: 65000,
  ...(sid !== undefined ? { nodeSidIndex: sid } : {}),
});

describe('node SID indexes of concurrent creates', () => {
  let h: ReconcileHarness;
  before(async () => {
    h = await startReconcileHarness({ VPN_INVENTORY_SETTLE_MS: '0', VPN_RETRY_MAX_SECONDS: '2' });
  });
  after(async () => h?.stop());

  async function nodeRows(): Promise<{ id: string; nodeSidIndex: number | null; status: { state: string; reason?: string } }[]> {
    const out = [];
    let cursor: string | undefined;
    do {
      const r = await h.call('GET', `/v1/nodes?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      out.push(...r.body.items);
      cursor = r.body.next;
    } while (cursor);
    return out;
  }

  async function sidHoldings(): Promise<Map<string, number>> {
    const page = await h.labels.listLabels({ node: SR_DOMAIN, kind: LabelKind.LABEL_KIND_NODE_SID, state: AllocationState.ALLOCATION_STATE_ALLOCATED, ownerPrefix: '', pageSize: 10_000, pageToken: '' });
    return new Map(page.labels.map((l) => [l.owner.slice('sid:'.length), l.sidIndex!]));
  }

  /** Every node created is active, none left provisioning or failed; indexes unique in the intent and the same in the labels service. */
  async function settled(ids: string[]): Promise<Map<string, number>> {
    const rows = await eventually(
      'every created node active',
      async () => {
        const rows = await nodeRows();
        return ids.every((id) => rows.find((r) => r.id === id)?.status.state === 'active') && rows;
      },
      120_000,
    ).catch(async (err: Error) => {
      const rows = await nodeRows();
      throw new Error(`${err.message}; not active: ${JSON.stringify(rows.filter((r) => r.status.state !== 'active'))}`);
    });
    const indexes = rows.map((r) => r.nodeSidIndex);
    assert.ok(indexes.every((i) => i !== null), 'every SR node has an index');
    assert.equal(new Set(indexes).size, indexes.length, `no index used twice: ${indexes.join(',')}`);
    const held = await sidHoldings();
    for (const r of rows) assert.equal(held.get(r.id), r.nodeSidIndex, `the labels service holds ${r.id}'s index for it`);
    assert.equal(held.size, rows.length, 'and nothing else');
    return new Map(rows.map((r) => [r.id, r.nodeSidIndex!]));
  }

  test('two nodes at once, one naming the lowest free index and one not: both active, or the explicit one is a 409', async () => {
    const [named, auto] = await Promise.all([h.call('POST', '/v1/nodes', { body: node('named', 1, 0) }), h.call('POST', '/v1/nodes', { body: node('auto', 2) })]);
    assert.equal(auto.status, 201);
    assert.ok([201, 409].includes(named.status), JSON.stringify(named.body));
    const indexes = await settled(named.status === 201 ? ['named', 'auto'] : ['auto']);
    if (named.status === 201) assert.equal(indexes.get('named'), 0);
  });

  test('50 at once, half naming the lowest free indexes, half not: all active or clear 409s, none stuck, no index twice', async (t) => {
    const before = await nodeRows();
    const used = new Set(before.map((r) => r.nodeSidIndex));
    const free: number[] = [];
    for (let i = 0; free.length < 25; i++) if (!used.has(i)) free.push(i);
    const bodies = Array.from({ length: 50 }, (_, k) => (k % 2 === 0 ? node(`x${k}`, 100 + k, free[k / 2]) : node(`a${k}`, 100 + k)));
    const answers = await Promise.all(bodies.map((b) => h.call('POST', '/v1/nodes', { body: b })));
    const created: string[] = [];
    answers.forEach((r, k) => {
      const body = bodies[k]!;
      if (r.status === 201) return void created.push(body.id);
      // Only a node naming an index an automatic one took first may be refused, and then clearly.
      assert.equal(r.status, 409, `${body.id}: ${JSON.stringify(r.body)}`);
      assert.ok('nodeSidIndex' in body, `${body.id} named no index, yet: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.errors?.[0]?.pointer, '#/nodeSidIndex', JSON.stringify(r.body));
      assert.match(r.body.detail, new RegExp(`node SID index ${body.nodeSidIndex} belongs to node`));
    });
    assert.ok(created.filter((id) => id.startsWith('a')).length === 25, 'every automatic create is accepted');
    t.diagnostic(`${50 - created.length} explicit creates refused with 409`);
    const indexes = await settled([...before.map((r) => r.id), ...created]);
    for (const id of created.filter((c) => c.startsWith('x'))) {
      assert.equal(indexes.get(id), bodies.find((b) => b.id === id)!.nodeSidIndex, `${id} has the index it named`);
    }
  });

  test('an index in hold-down after its node was deleted: a 409 saying until when; the same node created again gets it back', async () => {
    assert.equal((await h.call('POST', '/v1/nodes', { body: node('gone', 900, 7000) })).status, 201);
    await settled([...(await nodeRows()).map((r) => r.id)]);
    assert.equal((await h.call('DELETE', '/v1/nodes/gone')).status, 204);
    await eventually('the index of the deleted node held down', async () => {
      const page = await h.labels.listLabels({ node: SR_DOMAIN, kind: LabelKind.LABEL_KIND_NODE_SID, state: AllocationState.ALLOCATION_STATE_HELD, ownerPrefix: 'sid:gone', pageSize: 10, pageToken: '' });
      return page.labels.some((l) => l.sidIndex === 7000);
    });

    const taker = await h.call('POST', '/v1/nodes', { body: node('taker', 901, 7000) });
    assert.equal(taker.status, 409, JSON.stringify(taker.body));
    assert.equal(taker.body.errors?.[0]?.pointer, '#/nodeSidIndex', JSON.stringify(taker.body));
    assert.match(taker.body.detail, /node SID index 7000 was released by node 'gone' and is held down until \d{4}-\d\d-\d\dT/);
    assert.equal((await h.call('GET', '/v1/nodes/taker')).status, 404, 'nothing stored');

    assert.equal((await h.call('POST', '/v1/nodes', { body: node('gone', 900, 7000) })).status, 201);
    const indexes = await settled([...(await nodeRows()).map((r) => r.id)]);
    assert.equal(indexes.get('gone'), 7000);
  });
});
