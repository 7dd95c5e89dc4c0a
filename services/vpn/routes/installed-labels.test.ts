import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import { LfibEntry, NodeDesiredState } from '../../common/gen/proto/l3vpn/v1/agent.js';
import type { DesiredStateStore, StoredState } from '../state/desired-state-store.js';
import { installedLabels } from './installed-labels.js';

const stateWith = (generation: number, labels: number[]): StoredState => ({
  generation,
  state: NodeDesiredState.fromPartial({ generation, lfibEntries: labels.map((inLabel) => LfibEntry.fromPartial({ inLabel, owner: `label:${inLabel}` })) }),
  computedAt: new Date(),
});

/** A node whose agent reported `applied` (with a failed LFIB entry for `failedLabel`); the store keeps `kept`. */
function fixture(applied: number, kept: StoredState[], failedLabel?: number) {
  const prisma = {
    agentStatus: {
      findUnique: async () => ({ appliedGeneration: BigInt(applied), failures: failedLabel ? [{ key: { key: { $case: 'inLabel', value: failedLabel } } }] : [] }),
    },
  } as unknown as PrismaClient;
  const store = {
    at: async (_node: string, g: number) => kept.find((s) => s.generation === g),
    latest: async () => kept.at(-1),
  } as unknown as DesiredStateStore;
  return { prisma, store };
}

test('the LFIB of the applied generation, minus reported failures; what is advertised is not even read', async () => {
  const { prisma, store } = fixture(3, [stateWith(3, [100, 101, 102]), stateWith(4, [100, 101, 102, 103])], 102);
  const labels = await installedLabels(prisma, store, 'pe1', () => assert.fail('advertised labels read'));
  assert.deepEqual([...labels].sort(), [100, 101]);
});

test('an applied generation older than the kept ones keeps advertised labels still desired, and admits no new one', async () => {
  // Advertised: 100 (still desired), 101 (failed now), 200 (no longer desired). 103 is new: never advertised.
  const { prisma, store } = fixture(2, [stateWith(12, [100, 101]), stateWith(13, [100, 101, 103])], 101);
  const labels = await installedLabels(prisma, store, 'pe1', async () => new Set([100, 101, 200]));
  assert.deepEqual([...labels], [100]);
});

test('no report yet: nothing is installed', async () => {
  const { prisma, store } = fixture(0, [stateWith(1, [100])]);
  assert.equal((await installedLabels(prisma, store, 'pe1', async () => new Set([100]))).size, 0);
});
