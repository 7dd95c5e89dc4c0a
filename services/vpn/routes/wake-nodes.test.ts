import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wakeNodes } from './wake-nodes.js';

test('wake nodes: only the nodes whose job was already running get an outbox row, all in one', async () => {
  const kept: string[][] = [];
  const outbox = { keep: async (nodes: string[]) => void kept.push(nodes) };
  const asked: [string[], number | undefined][] = [];
  const queue = {
    queueJobs: async (nodes: string[], at?: number) => {
      asked.push([nodes, at]);
      return nodes.filter((n) => n.startsWith('busy'));
    },
  };
  await wakeNodes(outbox, queue, ['pe1', 'busy1', 'pe2', 'busy2'], 42);
  assert.deepEqual(asked, [[['pe1', 'busy1', 'pe2', 'busy2'], 42]], 'queued with the time of the change');
  assert.deepEqual(kept, [['busy1', 'busy2']]);
  await wakeNodes(outbox, queue, ['pe1'], 43);
  assert.equal(kept.length, 1, 'no row when every node was queued');
});
