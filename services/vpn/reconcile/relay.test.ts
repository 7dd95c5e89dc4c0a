import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger.js';
import type { OutboxStore, UnsentChange } from '../store/outbox.js';
import { OutboxRelay, type RelayQueue } from './relay.js';

const log = createLogger('test', 'silent');

/** Unsent outbox rows in memory, each with the time it was written. */
class MemoryOutbox implements OutboxStore {
  readonly rows = new Map<bigint, UnsentChange & { createdAt: Date; sentAt?: Date }>();
  private next = 1n;

  add(aggregate: string, nodes: string[], ageMs: number, requestIds: string[] = []): bigint {
    const id = this.next++;
    this.rows.set(id, { id, aggregate, nodes, requestIds, createdAt: new Date(Date.now() - ageMs) });
    return id;
  }

  async unsent(before: Date, limit: number): Promise<UnsentChange[]> {
    return [...this.rows.values()]
      .filter((r) => !r.sentAt && r.createdAt < before)
      .slice(0, limit)
      .map(({ id, aggregate, nodes, requestIds }) => ({ id, aggregate, nodes: [...nodes], requestIds }));
  }
  async markSent(ids: bigint[]): Promise<void> {
    for (const id of ids) this.rows.get(id)!.sentAt = new Date();
  }
  async narrow(id: bigint, nodes: string[]): Promise<void> {
    this.rows.get(id)!.nodes = nodes;
  }
}

/** A queue whose jobs for `running` nodes started before the change (so may have missed it). */
function queueWith(running: string[] = []) {
  const queued: { node: string; settleMs: number }[] = [];
  const queue: RelayQueue = {
    settleMs: 250,
    async queueJobs(nodes, _committedBy, delayMs = 0) {
      for (const node of nodes) queued.push({ node, settleMs: delayMs });
      return nodes.filter((n) => running.includes(n));
    },
  };
  return { queue, queued };
}

test('the relay queues each unsent node once, marks rows sent, and leaves rows younger than the grace to their writer', async () => {
  const outbox = new MemoryOutbox();
  const a = outbox.add('site', ['pe1', 'pe2'], 5000);
  const b = outbox.add('vpn', ['pe2'], 5000);
  const young = outbox.add('site', ['pe3'], 500);
  const { queue, queued } = queueWith();
  const relay = new OutboxRelay(outbox, queue, log, 1000);
  assert.equal(await relay.runOnce(), 2);
  assert.deepEqual(queued.map((q) => q.node).sort(), ['pe1', 'pe2'], 'one job per node, however many rows name it');
  assert.ok(outbox.rows.get(a)!.sentAt && outbox.rows.get(b)!.sentAt);
  assert.equal(outbox.rows.get(young)!.sentAt, undefined);
});

test('a row some of whose nodes had a running job keeps only those; a row all of whose nodes did stays as it is', async () => {
  const outbox = new MemoryOutbox();
  const mixed = outbox.add('site', ['pe1', 'pe2'], 5000);
  const late = outbox.add('site', ['pe2'], 5000);
  const done = outbox.add('site', ['pe1'], 5000);
  const relay = new OutboxRelay(outbox, queueWith(['pe2']).queue, log, 1000);
  assert.equal(await relay.runOnce(), 1);
  assert.ok(outbox.rows.get(done)!.sentAt);
  assert.equal(outbox.rows.get(mixed)!.sentAt, undefined);
  assert.deepEqual(outbox.rows.get(mixed)!.nodes, ['pe2'], 'only the node whose job may have missed the change is re-queued next time');
  assert.equal(outbox.rows.get(late)!.sentAt, undefined);
  assert.deepEqual(outbox.rows.get(late)!.nodes, ['pe2']);
});

test('inventory changes (nodes, links) settle; other changes are queued at once', async () => {
  const outbox = new MemoryOutbox();
  outbox.add('link', ['pe1'], 5000);
  outbox.add('site', ['pe1', 'pe2'], 5000);
  const { queue, queued } = queueWith();
  await new OutboxRelay(outbox, queue, log, 1000).runOnce();
  assert.deepEqual(
    queued.sort((x, y) => x.node.localeCompare(y.node)),
    [
      { node: 'pe1', settleMs: 250 },
      { node: 'pe2', settleMs: 0 },
    ],
  );
});
