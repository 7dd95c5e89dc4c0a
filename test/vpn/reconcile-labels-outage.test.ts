// The labels service down for three minutes: every node whose reconcile
// needs it fails, keeps its last error in its status, retries for ever with
// capped backoff (the waiting retries live in Redis, so a vpn restart
// meanwhile loses none), and recovers by itself once the labels service is
// back, with no new change.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { startLabelsProcess, type LabelsProcess } from '../support/labels.js';
import { eventually } from './reconcile-support.js';
import { siteBody, startVpnHarness, vpnBody, type VpnHarness } from './support.js';

const OUTAGE_MS = 180_000;
const node = (id: string, n: number, sid?: number) => ({ id, role: 'PE', routerId: `10.248.0.${n}`, asNumber: 65000, ...(sid !== undefined ? { nodeSidIndex: sid } : {}) });

describe('labels service down for three minutes', () => {
  let labelsDb: TestDatabase;
  let labels: LabelsProcess;
  let h: VpnHarness;
  const env = (address: string) => ({
    VPN_LABELS_ADDRESS: address,
    VPN_WORKER_CONCURRENCY: '4',
    VPN_OUTBOX_RELAY_MS: '200',
    VPN_INVENTORY_SETTLE_MS: '50',
    VPN_RETRY_MAX_SECONDS: '2',
    // Recovery must come from the retries, not from the periodic resync.
    VPN_RESYNC_SECONDS: '3600',
  });
  const startLabels = (listen = '127.0.0.1:0') => startLabelsProcess({ DATABASE_URL: labelsDb.url, DATABASE_MIGRATE: 'false', LABELS_HOLD_DOWN_SECONDS: '600', LABELS_LISTEN: listen });
  const statusOf = async (path: string) => (await h.call('GET', path)).body.status as { state: string; reason?: string };

  before(async () => {
    labelsDb = await createTestDatabase('vpn_outage_labels');
    labels = await startLabels();
    h = await startVpnHarness(env(labels.address));
  });
  after(async () => {
    await h?.stop();
    await labels?.stop();
    await labelsDb?.drop();
  });

  test('every node recovers by itself when it returns, after a vpn restart meanwhile', async (t) => {
    for (const [id, n] of [['pe1', 1], ['pe2', 2]] as const) assert.equal((await h.call('POST', '/v1/nodes', { body: node(id, n, n) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('acme') })).status, 201);
    for (const [i, pe] of ['pe1', 'pe2'].entries()) assert.equal((await h.call('POST', '/v1/sites', { body: siteBody(`s-${pe}`, 'acme', pe, i + 1) })).status, 201);
    await eventually('pe1 and pe2 active', async () => (await statusOf('/v1/nodes/pe1')).state === 'active' && (await statusOf('/v1/nodes/pe2')).state === 'active');

    const address = labels.address;
    await labels.stop();
    const downSince = Date.now();
    // Changes during the outage: a node with an automatic SID index (every node reconciles) and a site on pe1.
    assert.equal((await h.call('POST', '/v1/nodes', { body: node('pe3', 3) })).status, 201);
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('s-new', 'acme', 'pe1', 3) })).status, 201);
    const nodes = ['pe1', 'pe2', 'pe3'];
    await eventually('every node failed with the reason', async () => {
      for (const id of nodes) {
        const s = await statusOf(`/v1/nodes/${id}`);
        if (s.state !== 'failed' || !/UNAVAILABLE|No connection|ECONNREFUSED/i.test(s.reason ?? '')) return false;
      }
      return true;
    });
    const attempts = async (id: string) => (await h.vpn.queue.queue.getJob(id))?.attemptsMade ?? 0;

    // Until the end of the outage every node keeps its last error in its status, while its job retries (and the vpn restarts once).
    let restarted = false;
    let attemptsAtRestart = 0;
    while (Date.now() - downSince < OUTAGE_MS) {
      for (const id of nodes) {
        const s = await statusOf(`/v1/nodes/${id}`);
        assert.equal(s.state, 'failed', `${id} during the outage: ${JSON.stringify(s)}`);
        assert.ok(s.reason, `${id} keeps the reason`);
      }
      if (!restarted && Date.now() - downSince > OUTAGE_MS / 3) {
        // The waiting retries are in Redis, not in the process that failed them.
        const shared = { db: h.db, redis: h.redis };
        attemptsAtRestart = await attempts('pe1');
        assert.ok(attemptsAtRestart >= 5, `pe1 retried ${attemptsAtRestart} times so far`);
        await h.stop({ keep: true });
        h = await startVpnHarness(env(address), shared);
        restarted = true;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok((await attempts('pe1')) > attemptsAtRestart, 'the restarted vpn kept retrying the jobs it found');

    labels = await startLabels(address);
    const back = Date.now();
    await eventually(
      'every node, site, VRF and VPN active again with no new change',
      async () => {
        for (const path of [...nodes.map((n) => `/v1/nodes/${n}`), '/v1/sites/s-pe1', '/v1/sites/s-pe2', '/v1/sites/s-new', '/v1/vpns/acme']) {
          if ((await statusOf(path)).state !== 'active') return false;
        }
        return true;
      },
      60_000,
    );
    t.diagnostic(`every node active ${Date.now() - back} ms after the labels service was back (vpn.retry-max-seconds 2)`);
    const pe3 = (await h.call('GET', '/v1/nodes/pe3')).body;
    assert.equal(typeof pe3.nodeSidIndex, 'number', 'pe3 got its automatic index once the labels service was back');
    const pe1 = (await h.vpn.store.latest('pe1'))!.state;
    assert.equal(pe1.vrfs.find((v) => v.name === 'acme')?.interfaces.length, 2, 'pe1 took the site created during the outage');
  });
});
