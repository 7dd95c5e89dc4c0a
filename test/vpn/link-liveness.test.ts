// The controller's side of core link liveness, through AgentService
// reports (no packets here; test/agent/link-failover.test.ts has them): a
// link is operationally down when either end reports it down, beside its
// intended status; every node's reconcile is queued; a link back up is held
// down, and the hold-down survives a restart of the controller.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { AgentServiceClient, LinkLivenessState, type ReportStatusRequest } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { insecure, promiseClient } from '../../services/common/grpc/client.js';
import { openDatabase } from '../../services/common/db/client.js';
import { createLogger } from '../../services/common/logger.js';
import { LinkLivenessTracker } from '../../services/vpn/links/link-liveness.js';
import { prismaLinkOperStore } from '../../services/vpn/store/link-oper-store.js';
import { eventually } from './reconcile-support.js';
import { pe, startVpnHarness, type VpnHarness } from './support.js';

let h: VpnHarness;
let client: AgentServiceClient;
const credentials = new Map<string, string>();

before(async () => {
  h = await startVpnHarness({ VPN_LINK_HOLD_DOWN_MS: '60000' });
  for (const [id, n] of [['ll1', 1], ['ll2', 2]] as const) {
    assert.equal((await h.call('POST', '/v1/nodes', { body: pe(id, n) })).status, 201);
    credentials.set(id, await h.enrol(id));
  }
  const link = { id: 'll-link', a: { node: 'll1', interface: 'core0', address: '10.0.0.0/31' }, b: { node: 'll2', interface: 'core0', address: '10.0.0.1/31' } };
  assert.equal((await h.call('POST', '/v1/links', { body: link })).status, 201);
  client = new AgentServiceClient(`127.0.0.1:${h.vpn.grpcPort}`, insecure());
});

after(async () => {
  client?.close();
  await h?.stop();
});

async function report(node: string, state: LinkLivenessState, reason = ''): Promise<void> {
  const md = new Metadata();
  md.set('authorization', `Bearer ${credentials.get(node)}`);
  const req: ReportStatusRequest = {
    node,
    appliedGeneration: 0,
    failures: [],
    drift: [],
    driver: 'ovs',
    appliedAt: undefined,
    installedVrfs: 0,
    installedVrfRoutes: 0,
    installedLfibEntries: 0,
    ports: [{ interface: 'core0', up: true, reason: '' }],
    links: [{ interface: 'core0', state, reason, bfd: true }],
    heartbeat: false,
  };
  await promiseClient(client).reportStatus(req, { metadata: md, deadlineMs: 5000 });
}

const link = async () => (await h.call('GET', '/v1/links/ll-link')).body as { status: { state: string }; operStatus: string; operReason?: string; operChangedAt?: string };

test('a link is unknown until reported, up when an end says so, down as soon as either end says so', async () => {
  assert.equal((await link()).operStatus, 'unknown');
  await report('ll1', LinkLivenessState.LINK_LIVENESS_STATE_UP);
  assert.equal((await link()).operStatus, 'up');
  await h.vpn.queue.queue.obliterate({ force: true });
  await report('ll2', LinkLivenessState.LINK_LIVENESS_STATE_DOWN, 'BFD: Up -> Down: control detection time expired');
  const l = await link();
  assert.equal(l.operStatus, 'down');
  assert.equal(l.operReason, 'll2 core0: BFD: Up -> Down: control detection time expired');
  assert.ok(l.operChangedAt);
  assert.notEqual(l.status.state, 'failed', 'the intended status is not the operational one');
  // Transport is recomputed on every node.
  for (const n of ['ll1', 'll2']) assert.ok(await h.vpn.queue.queue.getJob(n), `a reconcile of ${n} is queued`);
});

test('back up, the link is held down; the hold-down survives a restart of the controller', async () => {
  await report('ll2', LinkLivenessState.LINK_LIVENESS_STATE_UP);
  const held = await link();
  assert.equal(held.operStatus, 'down');
  assert.match(held.operReason ?? '', /in hold-down until/);
  // A new controller process (its own tracker) after the hold-down's end: it takes the stored deadline up.
  const db = openDatabase(h.db.url, 2);
  const woken: string[][] = [];
  const tracker = new LinkLivenessTracker({
    links: prismaLinkOperStore(db.prisma),
    settings: { holdDownMs: 60_000, halfLifeMs: 60_000, suppress: 2500, reuse: 750, maxHoldDownMs: 600_000 },
    log: createLogger('vpn-test', 'silent'),
    wake: async (nodes) => void woken.push(nodes),
    now: () => new Date(Date.now() + 61_000),
  });
  try {
    await tracker.start();
    await eventually('the link up once its stored hold-down is over', async () => (await link()).operStatus === 'up');
    assert.deepEqual(woken.flat().sort(), ['ll1', 'll2']);
  } finally {
    tracker.stop();
    await db.close();
  }
});
