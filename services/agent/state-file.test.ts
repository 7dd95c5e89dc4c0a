import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeDesiredState } from '../common/gen/proto/l3vpn/v1/agent.js';
import { encodeInSlices, StateFile } from './state-file.js';
import { syntheticState } from './synthetic-state.js';

// 12,000 routes, 30 VRFs and labels: several slices of routes.
const state = { ...syntheticState({ vrfs: 30, routesPerVrf: 400 }), generation: 42 };

test('the sliced encoding is byte for byte the one-go encoding', async () => {
  assert.ok(state.vrfRoutes.length > 10_000);
  assert.deepEqual(await encodeInSlices(state), Buffer.from(NodeDesiredState.encode(state).finish()));
});

test('encoding a large state gives the event loop a turn between slices', async () => {
  let turns = 0;
  let done = false;
  const turn = () => {
    turns++;
    if (!done) setImmediate(turn);
  };
  setImmediate(turn);
  await encodeInSlices(state);
  done = true;
  assert.ok(turns >= 6, `other callbacks ran ${turns} times while encoding`);
});

test('a saved state loads back equal', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l3vpn-state-file-'));
  try {
    const file = new StateFile(dir);
    await file.save(state);
    assert.deepEqual(await file.load(), state);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
