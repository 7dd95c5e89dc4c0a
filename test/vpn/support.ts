// Starts the vpn service on free ports against this run's own database and
// Redis prefix, with tokens of each scope, and a small fetch client. Without
// VPN_BGP_ADDRESS it runs on SimulatedVpnRouting (no bgp service).
import { Metadata } from '@grpc/grpc-js';
import { commonSettings, databaseSettings, loadSettings } from '../../services/common/config.js';
import { AgentServiceClient } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { insecure } from '../../services/common/grpc/client.js';
import { createLogger, type Logger } from '../../services/common/logger.js';
import type { Db } from '../../services/vpn/store/db.js';
import { redisSettings, startVpn, vpnSettings, type RunningVpn } from '../../services/vpn/main.js';
import { createTestDatabase, testRedis, type TestDatabase } from '../support/services.js';
import { serviceAuthEnv } from '../support/service-auth.js';
import { SimulatedVpnRouting } from './simulated-routing.js';

export interface Response {
  status: number;
  headers: Headers;
  body: any;
}

export interface VpnHarness {
  db: TestDatabase;
  vpn: RunningVpn;
  tokens: { read: string; write: string; admin: string };
  base: string;
  redis: { url: string; prefix: string };
  call(method: string, path: string, options?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  /** Enrols the node's agent as an admin and its agent would: a join token over REST, then AgentService.Enroll; answers the node credential. */
  enrol(node: string): Promise<string>;
  /** `keep`: leave the database and the queue for the next harness (a restart). */
  stop(options?: { keep?: boolean }): Promise<void>;
}

/** `shared`: the database and Redis prefix of an earlier harness, as a restarted vpn finds them; stop() then leaves them. */
export async function startVpnHarness(env: Record<string, string> = {}, shared?: { db: TestDatabase; redis: { url: string; prefix: string } }): Promise<VpnHarness> {
  const db = shared?.db ?? (await createTestDatabase('vpn'));
  const redis = shared?.redis ?? (await testRedis());
  const settings = loadSettings([...commonSettings, ...databaseSettings, ...vpnSettings, ...redisSettings], {
    env: {
      DATABASE_URL: db.url,
      DATABASE_MIGRATE: 'false',
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      VPN_LISTEN: '127.0.0.1:0',
      VPN_GRPC_LISTEN: '127.0.0.1:0',
      VPN_WORKER_CONCURRENCY: '0',
      VPN_OUTBOX_RELAY_MS: '600000',
      // Most API tests run without agents; tests with agents (or fake ones) set it to 'true'.
      VPN_REQUIRE_AGENTS: 'false',
      // It calls labels and bgp as this run's service:vpn.
      ...serviceAuthEnv(),
      ...env,
    },
  });
  const routing = env.VPN_BGP_ADDRESS ? {} : { routing: (prisma: Db, log: Logger) => new SimulatedVpnRouting(prisma, log) };
  const vpn = await startVpn(settings, createLogger('vpn-test', process.env.TEST_LOG_LEVEL ?? 'silent'), routing);
  // A restart finds the first harness's tokens (shown only once): it makes its own.
  const tag = shared ? `-${Date.now()}` : '';
  const tokens = {
    read: (await vpn.tokens.create(`reader${tag}`, 'read')).token,
    write: (await vpn.tokens.create(`writer${tag}`, 'write')).token,
    admin: (await vpn.tokens.create(`admin${tag}`, 'admin')).token,
  };
  const base = `http://127.0.0.1:${vpn.httpPort}`;
  const grpcHost = String(settings['vpn.grpc-listen']).replace(/:\d+$/, '').replace(/^0\.0\.0\.0$/, '127.0.0.1');
  const harness: VpnHarness = {
    db,
    vpn,
    tokens,
    base,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      const token = options.token === undefined ? tokens.admin : options.token;
      if (token) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (options.body !== undefined) {
        body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    async enrol(node) {
      const made = await harness.call('POST', `/v1/nodes/${encodeURIComponent(node)}/join-tokens`, { body: {} });
      if (made.status !== 201) throw new Error(`join token for ${node}: ${made.status} ${JSON.stringify(made.body)}`);
      return enrolWith(`${grpcHost}:${vpn.grpcPort}`, node, made.body.token);
    },
    redis,
    async stop(options: { keep?: boolean } = {}) {
      if (!options.keep) await vpn.queue.queue.obliterate({ force: true }).catch(() => {});
      await vpn.stop(1000);
      if (!options.keep) await db.drop();
    },
  };
  return harness;
}

/** AgentService.Enroll over real gRPC: the credential, or the call's error. */
export async function enrolWith(address: string, node: string, joinToken: string): Promise<string> {
  const client = new AgentServiceClient(address, insecure());
  try {
    return await new Promise<string>((resolve, reject) =>
      client.enroll({ node, joinToken }, new Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res!.credential))),
    );
  } finally {
    client.close();
  }
}

export const pe = (id: string, n: number, extra: object = {}) => ({ id, role: 'PE', routerId: `192.0.2.${n}`, asNumber: 65000, ...extra });
export const vpnBody = (id: string, extra: object = {}) => ({ id, customer: 'acme', ...extra });
export const siteBody = (id: string, vpn: string, node: string, n: number, extra: object = {}) => ({
  id,
  vpn,
  node,
  interface: 'eth1',
  vlan: 100 + n,
  ipv4: { peAddress: `10.${n}.0.1/30`, ceAddress: `10.${n}.0.2` },
  ...extra,
});
