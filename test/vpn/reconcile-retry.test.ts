// Retries that never stop, yet never hold a change back: a node's failing
// job keeps its error in the status and waits out its backoff in Redis; a
// change of the node runs at once. The periodic resync: one replica per period.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createLogger } from '../../services/common/logger.js';
import { PeriodicResync } from '../../services/vpn/reconcile/resync.js';
import { testRedis } from '../support/services.js';
import { eventually, startReconcileHarness, type ReconcileHarness } from './reconcile-support.js';
import { pe, siteBody, vpnBody } from './support.js';

describe('a failing reconcile', () => {
  let h: ReconcileHarness;
  let redis: Redis;
  before(async () => {
    h = await startReconcileHarness({ VPN_RETRY_MAX_SECONDS: '3600', VPN_INVENTORY_SETTLE_MS: '0' });
    redis = new Redis(h.redis.url);
  });
  after(async () => {
    h.vpn.reconciler.afterAllocation = undefined;
    redis?.disconnect();
    await h?.stop();
  });

  test('keeps its error in the status while it retries, and a change of the node runs at once, not after the backoff', async () => {
    assert.equal((await h.call('POST', '/v1/nodes', { body: pe('pe1', 1) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('acme') })).status, 201);
    await eventually('pe1 active', async () => (await h.call('GET', '/v1/nodes/pe1')).body.status.state === 'active');

    let failing = true;
    let runs = 0;
    h.vpn.reconciler.afterAllocation = (node) => {
      if (node !== 'pe1') return;
      runs++;
      if (failing) throw new Error('injected: the bgp service is unreachable');
    };
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('s1', 'acme', 'pe1', 1) })).status, 201);
    const job = await eventually('a few retries', async () => {
      const j = await h.vpn.queue.queue.getJob('pe1');
      return j && j.attemptsMade >= 3 && (await j.getState()) === 'delayed' && j;
    });
    const failed = (await h.call('GET', '/v1/nodes/pe1')).body.status;
    assert.deepEqual(failed, { state: 'failed', reason: 'injected: the bgp service is unreachable' });
    assert.equal((await h.call('GET', '/v1/sites/s1')).body.status.state, 'failed');
    // Each failed attempt is counted; none is told apart as the last, as there is none.
    const failures = await h.vpn.metrics!.getSingleMetricAsString('l3vpn_vpn_reconcile_job_failures_total');
    assert.match(failures, /^l3vpn_vpn_reconcile_job_failures_total\{service="vpn"\} ([3-9]|\d\d+)$/m, failures);

    // As after many failures: the next attempt is due in ten minutes.
    await job.changeDelay(600_000);
    const due = Math.floor(Number(await redis.zscore(h.vpn.queue.queue.keys.delayed!, 'pe1')) / 0x1000);
    const before = runs;
    await eventually('the retry to wait', async () => runs === before && (await h.vpn.queue.queue.getJobState('pe1')) === 'delayed');
    // Still failing: the retry brought forward keeps the last error in the status while it runs, and fails again.
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('s2', 'acme', 'pe1', 2) })).status, 201);
    await eventually('the change to run the job at once', async () => runs > before);
    assert.ok(Date.now() < due, 'it ran long before the backoff ended');
    assert.equal((await h.call('GET', '/v1/nodes/pe1')).body.status.state, 'failed');

    // The cause goes: the next change runs at once and succeeds; the error leaves the status.
    failing = false;
    await job.changeDelay(600_000).catch(() => undefined);
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('s3', 'acme', 'pe1', 3) })).status, 201);
    await eventually('pe1 and its sites active', async () => {
      for (const p of ['/v1/nodes/pe1', '/v1/sites/s1', '/v1/sites/s2', '/v1/sites/s3']) if ((await h.call('GET', p)).body.status.state !== 'active') return false;
      return true;
    });
    assert.equal((await h.call('GET', '/v1/nodes/pe1')).body.status.reason, undefined);
    assert.equal((await h.vpn.store.latest('pe1'))!.state.vrfs.find((v) => v.name === 'acme')!.interfaces.length, 3);
  });
});

describe('periodic resync', () => {
  test('of two replicas sharing a Redis, one queues every node per period', async () => {
    const { url, prefix } = await testRedis();
    const redis = new Redis(url);
    const queued: string[][] = [];
    const target = { enqueue: async (nodes: string[]) => void queued.push(nodes) };
    const log = createLogger('resync-test', 'silent');
    const replicas = [0, 1].map(() => new PeriodicResync(redis, prefix, async () => ['pe1', 'pe2'], target, log, 60_000));
    try {
      const counts = await Promise.all(replicas.map((r) => r.tick()));
      assert.deepEqual(counts.sort(), [0, 2]);
      assert.deepEqual(queued, [['pe1', 'pe2']]);
      assert.deepEqual(await Promise.all(replicas.map((r) => r.tick())), [0, 0], 'the period is taken');
      await redis.del(`${prefix}:vpn-resync`); // as when the period is over
      assert.equal((await Promise.all(replicas.map((r) => r.tick()))).reduce((a, b) => a + b), 2, 'the next period, one of them again');
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await redis.del(`${prefix}:vpn-resync`);
      redis.disconnect();
    }
  });
});
