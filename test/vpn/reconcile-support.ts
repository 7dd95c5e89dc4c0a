// A vpn service with its reconcile worker and a real labels service (in
// process, on a database of its own), and helpers to wait for convergence.
import { Metadata } from '@grpc/grpc-js';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { commonSettings, databaseSettings, loadSettings } from '../../services/common/config.js';
import { AgentServiceClient } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { insecure } from '../../services/common/grpc/client.js';
import { createLogger } from '../../services/common/logger.js';
import type { RunningService } from '../../services/common/service.js';
import { labelsSettings, startLabels } from '../../services/labels/main.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { labelsClient, type LabelsClient } from '../support/labels.js';
import { serviceAuthEnv } from '../support/service-auth.js';
import { startVpnHarness, type VpnHarness } from './support.js';
import { eventually } from '../support/eventually.js';

export interface ReconcileHarness extends VpnHarness {
  labels: LabelsClient;
  /** A client of AgentService as the node's enrolled agent (enrolled on first use). */
  agent(node: string): Promise<{ client: AgentServiceClient; metadata: Metadata }>;
  /** Stops the vpn service and starts a new one on the same database, queue and labels service (a restart); the agents keep their credentials. */
  restartVpn(): Promise<ReconcileHarness>;
}

interface LabelsService {
  db: TestDatabase;
  svc: RunningService;
  client: LabelsClient;
  address: string;
}

export async function startReconcileHarness(env: Record<string, string> = {}): Promise<ReconcileHarness> {
  const labelsDb: TestDatabase = await createTestDatabase('vpn_labels');
  const settings = loadSettings([...commonSettings, ...databaseSettings, ...labelsSettings], {
    env: { DATABASE_URL: labelsDb.url, LABELS_LISTEN: '127.0.0.1:0', DATABASE_MIGRATE: 'false', LABELS_HOLD_DOWN_SECONDS: '600', ...serviceAuthEnv() },
  });
  const labelsSvc: RunningService = await startLabels(settings, createLogger('labels-test', 'warn'));
  const address = `127.0.0.1:${labelsSvc.grpcPort}`;
  return withLabels(env, { db: labelsDb, svc: labelsSvc, client: labelsClient(address), address }, new Map());
}

async function withLabels(env: Record<string, string>, labels: LabelsService, credentials: Map<string, Promise<string>>, shared?: Pick<VpnHarness, 'db' | 'redis'>): Promise<ReconcileHarness> {
  const h = await startVpnHarness({ VPN_LABELS_ADDRESS: labels.address, VPN_WORKER_CONCURRENCY: '8', VPN_OUTBOX_RELAY_MS: '200', ...env }, shared);
  const clients: AgentServiceClient[] = [];
  const closeClients = () => {
    for (const c of clients) c.close();
  };
  return {
    ...h,
    labels: labels.client,
    async agent(node) {
      if (!credentials.has(node)) credentials.set(node, h.enrol(node));
      const credential = await credentials.get(node)!;
      const client = new AgentServiceClient(`127.0.0.1:${h.vpn.grpcPort}`, insecure());
      clients.push(client);
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${credential}`);
      return { client, metadata };
    },
    async restartVpn() {
      closeClients();
      await h.stop({ keep: true });
      return withLabels(env, labels, credentials, { db: h.db, redis: h.redis });
    },
    async stop() {
      closeClients();
      labels.client.close();
      await h.stop();
      await labels.svc.stop(1000);
      await labels.db.drop();
    },
  };
}

// Tests of the vpn service have long imported it from here.
export { eventually };

/**
 * Waits until reconciling is idle: no outbox row left for the relay, no job
 * waiting, running or held back, and nothing happened between two such
 * reads (the same newest outbox row, the same newest queue event), so no job
 * finished into a new change in between. Work that reaches the queue by
 * other paths (bgp route events) is not seen here.
 */
export async function reconcileIdle(h: VpnHarness, sql: pg.Client, timeoutMs = 30_000): Promise<void> {
  const queue = h.vpn.queue.queue;
  // The vpn service's own connection, which it handed to the queue.
  const redis = queue.opts.connection as unknown as Redis;
  const idleMark = async (): Promise<string | undefined> => {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused' as never);
    const outbox = (await sql.query('SELECT count(*) FILTER (WHERE sent_at IS NULL)::int AS unsent, max(id)::text AS last FROM outbox')).rows[0];
    const [newest] = await redis.xrevrange(queue.keys.events!, '+', '-', 'COUNT', 1);
    if (Object.values(counts).some((n) => n > 0) || outbox.unsent > 0) return undefined;
    return `outbox ${outbox.last}, queue event ${newest?.[0] ?? 'none'}`;
  };
  let last: string | undefined;
  await eventually(
    () => `the reconcile queue to drain (last seen: ${last ?? 'busy'})`,
    async () => {
      const first = await idleMark();
      last = first;
      return first !== undefined && first === (await idleMark());
    },
    timeoutMs,
  );
}
