import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger.js';
import type { AgentSighting, AgentStatusStore } from '../store/agent-status-store.js';
import type { StatusValue } from './forwarding.js';
import { AgentLivenessSweep, livenessDisagrees } from './agent-liveness.js';

const TIMEOUT = 15_000;
const NOW = new Date(1_700_000_000_000);
const seen = (node: string, status: StatusValue, secondsAgo: number): AgentSighting => ({ node, status, lastSeenAt: new Date(NOW.getTime() - secondsAgo * 1000) });

function sweepOver(sightings: AgentSighting[]) {
  const queued: string[][] = [];
  const store = { sightings: async () => sightings } as AgentStatusStore;
  const sweep = new AgentLivenessSweep(store, async (nodes) => void queued.push(nodes), TIMEOUT, createLogger('vpn-test', 'silent'), () => NOW);
  return { sweep, queued };
}

test('liveness sweep: a reachable-looking node whose agent is silent past the timeout is queued, and an unreachable one heard from again', async () => {
  const { sweep, queued } = sweepOver([
    seen('active-silent', 'ACTIVE', 16),
    seen('active-heard', 'ACTIVE', 1),
    seen('degraded-silent', 'DEGRADED', 60),
    seen('provisioning-silent', 'PROVISIONING', 20),
    seen('unreachable-silent', 'UNREACHABLE', 60),
    seen('unreachable-heard', 'UNREACHABLE', 2),
    seen('down-silent', 'DOWN', 30),
  ]);
  assert.deepEqual(await sweep.sweep(), ['active-silent', 'degraded-silent', 'provisioning-silent', 'unreachable-heard', 'down-silent']);
  assert.deepEqual(queued, [['active-silent', 'degraded-silent', 'provisioning-silent', 'unreachable-heard', 'down-silent']], 'one enqueue for the sweep');
});

test('liveness sweep: failed and pending nodes are left to their jobs, silent or not', async () => {
  const { sweep, queued } = sweepOver([seen('failed', 'FAILED', 60), seen('pending', 'PENDING', 60), seen('failed-heard', 'FAILED', 1)]);
  assert.deepEqual(await sweep.sweep(), []);
  assert.deepEqual(queued, [], 'a sweep that finds nothing queues nothing');
});

test('liveness sweep: silent means last heard from more than the timeout ago, to the millisecond', () => {
  const cutoff = new Date(NOW.getTime() - TIMEOUT);
  const at = (ms: number): AgentSighting => ({ node: 'pe1', status: 'ACTIVE', lastSeenAt: new Date(cutoff.getTime() + ms) });
  assert.equal(livenessDisagrees(at(0), cutoff), false, 'heard from exactly at the cutoff');
  assert.equal(livenessDisagrees(at(-1), cutoff), true);
  assert.equal(livenessDisagrees({ ...at(0), status: 'UNREACHABLE' }, cutoff), true);
  assert.equal(livenessDisagrees({ ...at(-1), status: 'UNREACHABLE' }, cutoff), false);
});
