// The vpn service: the intent API (REST + gRPC) for portals and OSS/BSS,
// its transactional outbox, and the reconcile jobs it queues per node.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, type SettingSpec, type Settings } from '../common/config.js';
import { openDatabase } from '../common/db/client.js';
import type { PrismaClient } from '../common/gen/prisma/client.js';
import { startGrpcServer } from '../common/grpc/server.js';
import type { Logger } from '../common/logger.js';
import type { RunningService, StartOptions } from '../common/service.js';
import { serviceAuth, serviceAuthSettings } from '../common/auth/service-auth.js';
import { serviceCaller } from '../common/grpc/caller.js';
import { AGENT_CREDENTIALS_CHANNEL, AgentCredentials } from './auth/agent-credentials.js';
import { TokenStore, type Scope } from './auth/tokens.js';
import { vpnGrpcService } from './grpc-api.js';
import { IdempotencyStore } from './http/idempotency.js';
import { NodeStateReader } from './http/node-state.js';
import { buildHttpApi } from './http/server.js';
import { IntentService } from './intent/intent-service.js';
import { NodeAllocator } from './reconcile/allocator.js';
import { labelsApi } from './reconcile/labels-client.js';
import { redisConnection, ReconcileQueue } from './reconcile/queue.js';
import { LinkLivenessTracker } from './links/link-liveness.js';
import type { DampingSettings } from './links/oper-state.js';
import { NodeReconciler } from './reconcile/reconciler.js';
import { Planner } from './reconcile/plan.js';
import { bgpApi } from './routes/bgp-client.js';
import { BgpVpnRouting } from './routes/bgp-routing.js';
import type { VpnRouting } from './routes/vpn-routing.js';
import { VrfRouteWatch } from './routes/vrf-route-watch.js';
import { wakeNodes } from './routes/wake-nodes.js';
import { agentGrpcService } from './state/agent-api.js';
import { AgentLivenessSweep } from './state/agent-liveness.js';
import { AgentReports } from './state/agent-reports.js';
import { NodeNotifications } from './store/node-notifications.js';
import { DESIRED_STATE_CHANNEL, DesiredStateStore } from './state/desired-state-store.js';
import { prismaAgentCredentialStore } from './store/agent-credential-store.js';
import { prismaAgentStatusStore } from './store/agent-status-store.js';
import { prismaDesiredStateRecords } from './store/desired-state-store.js';
import { prismaIdempotencyKeyStore } from './store/idempotency-store.js';
import { prismaLinkOperStore } from './store/link-oper-store.js';
import { prismaApiTokenStore } from './store/token-store.js';
import { prismaWakeOutbox } from './store/wake-outbox.js';
import { protectsInterface } from '../common/desired-state/alternates.js';
import { OutboxRelay } from './reconcile/relay.js';
import { startReconcileWorker } from './reconcile/worker.js';
import { DEFAULT_RETRY_BASE_MS } from './reconcile/backoff.js';
import { PeriodicResync } from './reconcile/resync.js';
import { SpeakerSweep } from './reconcile/speaker-sweep.js';
import { prismaAllocationStore } from './store/allocation-store.js';
import { prismaIntentTransactions } from './store/intent-transactions.js';
import { prismaOutboxStore } from './store/outbox.js';
import { prismaNodeIds, prismaReconcileStore, prismaVrfPlacements } from './store/reconcile-store.js';
import { vrfRoutesSource } from './routes/vrf-routes.js';
import { BgpCePeers } from './routes/bgp-ce-peers.js';
import { CachedCeSessions } from './routes/ce-sessions.js';
import { httpsOptions, tlsMaterial } from '../common/tls.js';
import { vpnMetrics } from './metrics.js';
import { OwnedWork } from './owned-work.js';
import { SpeakerRefill } from './routes/speaker-refill.js';
import { Lease } from '../common/db/lease.js';
import { grpcTarget } from '../common/grpc/target.js';
import { securityEvents } from '../common/ops/security-events.js';

export const vpnSettings: SettingSpec[] = [
  { key: 'vpn.listen', type: 'string', default: '0.0.0.0:8080', description: 'REST listen address of the vpn service (/v1, /docs)' },
  {
    key: 'vpn.public-url',
    type: 'string',
    default: '',
    description: "the URL clients reach the REST API at (e.g. behind an ingress: https://l3vpn.example.net), the `servers` of the OpenAPI document; empty: '/', the origin the document is read from",
  },
  {
    key: 'vpn.http-request-timeout-seconds',
    type: 'integer',
    default: 30,
    min: 1,
    max: 3600,
    description: 'how long a REST request (headers and body) may take to arrive; a slower or stalled one gets 408 and its connection is closed',
  },
  { key: 'vpn.grpc-listen', type: 'string', default: '0.0.0.0:50063', description: 'gRPC listen address of the vpn service' },
  {
    key: 'vpn.labels-address',
    type: 'string',
    default: '127.0.0.1:50061',
    description: "gRPC address of the labels service, or its replicas' IP addresses separated by commas (the first that answers is used, the next when it goes), or one DNS name resolving to every replica",
  },
  {
    key: 'vpn.bgp-address',
    type: 'string',
    default: '127.0.0.1:50062',
    description: "gRPC address of the bgp service that speaks MP-BGP for the managed PEs (their VRFs are '<vpn>@<node>' there; the default is bgp.grpc-listen's port on this host, as `l3vpn all` runs it); required",
  },
  {
    key: 'vpn.bgp-vrf-owner',
    type: 'string',
    default: 'vpn',
    description: 'owner marker of the VRFs this vpn service creates on the bgp service; the sweep removes only VRFs with it, never the bgp config file\'s or another controller\'s (give each vpn deployment sharing one bgp service its own)',
  },
  {
    key: 'vpn.speaker-sweep-seconds',
    type: 'integer',
    default: 60,
    min: 1,
    max: 86_400,
    description: 'how often the VRFs held on the bgp service are compared with the intent; the nodes of VRFs no intent names are reconciled, which removes them before releasing their RDs and labels',
  },
  {
    key: 'vpn.originate-after-install',
    type: 'boolean',
    default: true,
    description: "with a bgp service: advertise a PE's routes only once its agent reports their labels installed (false: at once, for labs and benchmarks without agents)",
  },
  {
    key: 'vpn.bootstrap-token-file',
    type: 'string',
    default: '',
    description: "file holding an admin API token (>= 32 characters) to accept, e.g. a Kubernetes Secret; registered as token 'bootstrap'",
  },
  {
    key: 'vpn.pool-administrator',
    type: 'string',
    default: '65000',
    description: 'administrator (AS number or IPv4 address) of the RD and RT pools VRFs and VPNs get theirs from (labels service)',
  },
  {
    key: 'vpn.require-agents',
    type: 'boolean',
    default: true,
    description:
      "status `active` needs every node that carries a thing to have its agent apply its entries without failure and be heard from (false: status follows the reconcile alone, for labs and benchmarks without agents)",
  },
  {
    key: 'vpn.agent-timeout-seconds',
    type: 'integer',
    default: 15,
    min: 2,
    max: 3600,
    description: "a node whose agent sent no ReportStatus (heartbeats included, agent.heartbeat-seconds) for this long is `unreachable`; keep it at least 3 heartbeats",
  },
  {
    key: 'vpn.agent-rotation-overlap-seconds',
    type: 'integer',
    default: 300,
    min: 1,
    max: 86_400,
    description: "how long an agent's rotated credential keeps working at most (it stops at the first use of its successor)",
  },
  { key: 'vpn.require-if-match', type: 'boolean', default: false, description: 'refuse PUT, PATCH and DELETE without If-Match (428)' },
  { key: 'vpn.worker-concurrency', type: 'integer', default: 4, min: 0, max: 256, description: 'reconcile jobs run at once in this process (0: no worker here)' },
  {
    key: 'vpn.inventory-settle-ms',
    type: 'integer',
    default: 200,
    min: 0,
    max: 10_000,
    description: 'how long the reconcile jobs of a node or link change wait for more such changes, so a burst costs one reconcile per node',
  },
  {
    key: 'vpn.retry-max-seconds',
    type: 'integer',
    default: 60,
    min: 1,
    max: 3600,
    description: "longest wait between two attempts of a node's failing reconcile (capped exponential backoff from 0.5 s; retries never stop, a change of the node runs at once)",
  },
  {
    key: 'vpn.resync-seconds',
    type: 'integer',
    default: 300,
    min: 1,
    max: 86_400,
    description: 'how often every node is reconciled whether or not anything changed (by the replica that owns the periodic work), so a lost event is caught',
  },
  { key: 'vpn.outbox-relay-ms', type: 'integer', default: 2000, min: 100, max: 600_000, description: 'how often unsent outbox rows are queued again' },
  {
    key: 'vpn.lease-retry-ms',
    type: 'integer',
    default: 1000,
    min: 100,
    max: 60_000,
    description: 'how often a replica that does not own the periodic work (outbox relay, sweeps, resync, purge) tries to take it over: the hand-over time when its owner dies',
  },
  { key: 'vpn.idempotency-hours', type: 'integer', default: 24, min: 1, max: 720, description: 'how long an Idempotency-Key and its response are kept' },
  {
    key: 'vpn.link-hold-down-ms',
    type: 'integer',
    default: 2000,
    min: 0,
    max: 3_600_000,
    description: 'how long a core link that came back up must stay up before transport paths use it again',
  },
  { key: 'vpn.link-flap-half-life-seconds', type: 'integer', default: 60, min: 1, max: 86_400, description: 'half-life of a core link’s flap penalty (1000 per flap, RFC 2439 style)' },
  { key: 'vpn.link-flap-suppress', type: 'integer', default: 2500, min: 1, max: 1_000_000, description: 'flap penalty above which a link that came back is suppressed (held down) ...' },
  { key: 'vpn.link-flap-reuse', type: 'integer', default: 750, min: 1, max: 1_000_000, description: '... until its penalty has decayed to this' },
  { key: 'vpn.link-max-hold-down-seconds', type: 'integer', default: 600, min: 1, max: 86_400, description: 'the longest a core link that is up is held down' },
  {
    key: 'vpn.link-down-local-delay-ms',
    type: 'integer',
    default: 1000,
    min: 0,
    max: 60_000,
    description: 'RFC 8333 local convergence delay: the ends of a failed core link that back up all its traffic take their new paths this long after the other nodes (0: at once)',
  },
  ...serviceAuthSettings,
];

/** The flap damping of core links, from the vpn.link-* settings. */
export function dampingSettings(settings: Settings): DampingSettings {
  const suppress = Number(settings['vpn.link-flap-suppress']);
  const reuse = Number(settings['vpn.link-flap-reuse']);
  if (reuse >= suppress) throw new ConfigError('vpn.link-flap-reuse must be below vpn.link-flap-suppress');
  return {
    holdDownMs: Number(settings['vpn.link-hold-down-ms']),
    halfLifeMs: Number(settings['vpn.link-flap-half-life-seconds']) * 1000,
    suppress,
    reuse,
    maxHoldDownMs: Number(settings['vpn.link-max-hold-down-seconds']) * 1000,
  };
}

export const redisSettings: SettingSpec[] = [
  { key: 'redis.url', type: 'string', default: 'redis://127.0.0.1:6379', description: 'Redis URL (job queues)', secret: true },
  { key: 'redis.prefix', type: 'string', default: 'l3vpn', description: 'prefix of every Redis key (queue names), to share one Redis' },
];

function parseListen(value: string, key: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  if (!m || Number(m[3]) > 65535) throw new ConfigError(`${key}: '${value}' is not HOST:PORT`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

/** vpn.bgp-vrf-owner: never empty, which on the bgp service means nobody's (the config file's VRFs), so the sweep would take them for ours. */
function vrfOwner(settings: Settings): string {
  const owner = String(settings['vpn.bgp-vrf-owner']).trim();
  if (!/^[\x21-\x7e][\x20-\x7e]{0,63}$/.test(owner)) throw new ConfigError(`vpn.bgp-vrf-owner: '${owner}' is not 1-64 printable ASCII characters`);
  return owner;
}

/** vpn.bgp-address: every PE's VRFs and routes live on the bgp service, so there is no running without one. */
function bgpAddress(settings: Settings): string {
  const address = String(settings['vpn.bgp-address']).trim();
  if (!address) throw new ConfigError("vpn.bgp-address is empty: the vpn service needs the gRPC address of the bgp service (default 127.0.0.1:50062)");
  return address;
}

/** Test seams of startVpn, and what `l3vpn all` hands it. */
export interface VpnOptions extends StartOptions {
  /** The routing to use instead of BgpVpnRouting over vpn.bgp-address (which is then not read, and no bgp client is made). */
  routing?: (prisma: PrismaClient, log: Logger) => VpnRouting;
}

export interface RunningVpn extends RunningService {
  httpPort: number;
  intents: IntentService;
  tokens: TokenStore;
  queue: ReconcileQueue;
  relay: OutboxRelay;
  resync: PeriodicResync;
  /** This replica's claim on the periodic work (owned-work.ts). */
  lease: Lease;
  reconciler: NodeReconciler;
  allocator: NodeAllocator;
  store: DesiredStateStore;
}

export async function startVpn(settings: Settings, log: Logger, options: VpnOptions = {}): Promise<RunningVpn> {
  const listen = parseListen(String(settings['vpn.listen']), 'vpn.listen');
  const owner = vrfOwner(settings);
  const bgpTarget = options.routing ? undefined : bgpAddress(settings);
  const db = openDatabase(String(settings['database.url']), Number(settings['database.pool-size']), (err) =>
    log.warn({ err: err.message }, 'idle database connection lost; it will be replaced'),
  );
  const prefix = String(settings['redis.prefix']);
  const redisUrl = String(settings['redis.url']);
  const producerRedis = redisConnection(redisUrl);
  const workerRedis = redisConnection(redisUrl);
  for (const r of [producerRedis, workerRedis]) r.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));

  const queue = new ReconcileQueue(producerRedis, prefix, prismaOutboxStore(db.prisma), Number(settings['vpn.inventory-settle-ms']));
  const tls = tlsMaterial(settings);
  // How this service identifies itself to labels and bgp: its client certificate (tls.*) and/or its secret (auth.secret-file).
  const caller = serviceCaller(tls, options.auth ?? serviceAuth(settings));
  const retryMaxMs = Number(settings['vpn.retry-max-seconds']) * 1000;
  const labels = labelsApi(grpcTarget(String(settings['vpn.labels-address']), 'vpn.labels-address'), caller, { maxReconnectBackoffMs: retryMaxMs });
  const allocator = new NodeAllocator(prismaAllocationStore(db.prisma), labels, String(settings['vpn.pool-administrator']));
  const store = new DesiredStateStore(prismaDesiredStateRecords(db.prisma));
  const wakeOutbox = prismaWakeOutbox(db.prisma);
  const agentStatuses = prismaAgentStatusStore(db.prisma);
  // A bgp service not up yet (started later, or restarting) fails the reconciles, which retry; the route watch reconnects.
  const bgp = bgpTarget ? bgpApi(bgpTarget, caller) : undefined;
  const originateAfterInstall = Boolean(bgp && settings['vpn.originate-after-install']);
  const requireAgents = Boolean(settings['vpn.require-agents']);
  const agentTimeoutMs = Number(settings['vpn.agent-timeout-seconds']) * 1000;
  const reports = new AgentReports(agentStatuses, store, agentTimeoutMs);
  const vrfPlacements = prismaVrfPlacements(db.prisma);
  const cePeers = bgp ? new BgpCePeers(bgp, owner, log) : undefined;
  const ceSessions = cePeers ? new CachedCeSessions(cePeers, log) : undefined;
  const routing = bgp ? new BgpVpnRouting(bgp, vrfPlacements, owner, cePeers) : options.routing!(db.prisma, log);
  const reconciler = new NodeReconciler(prismaReconcileStore(db.prisma), allocator, routing, store, queue, log, reports, {
    originateAfterInstall,
    requireAgents,
  });
  const refill = bgp
    ? new SpeakerRefill({
        bgp,
        unfinished: (nodes) => queue.unfinished(nodes),
        log,
      })
    : undefined;
  const vrfWatch = bgp
    ? new VrfRouteWatch({
        bgp,
        enqueue: (nodes) => wakeNodes(wakeOutbox, queue, nodes, Date.now()),
        nodesWithVrfs: () => vrfPlacements.nodes(),
        refillQueued: (nodes) => refill?.queued(nodes),
        log,
      })
    : undefined;
  vrfWatch?.start();
  const speakerSweep = bgp ? new SpeakerSweep({ routing, vrfs: vrfPlacements, enqueue: (nodes) => wakeNodes(wakeOutbox, queue, nodes, Date.now()), log }) : undefined;
  // A report that changes what a node forwards (or ends its silence) reconciles it; the sweep catches what a lost wake-up missed.
  const onReport =
    originateAfterInstall || requireAgents
      ? (node: string) => {
          // An end of a failed link in its local convergence delay is woken when the delay ends (RFC 8333).
          if (linkLiveness.deferred(node)) return;
          void wakeNodes(wakeOutbox, queue, [node], Date.now()).catch((err: Error) => log.warn({ err: err.message, node }, 'reconcile after an agent report not queued; the liveness sweep retries'));
        }
      : undefined;
  const liveness = requireAgents ? new AgentLivenessSweep(agentStatuses, (nodes) => wakeNodes(wakeOutbox, queue, nodes, Date.now()), agentTimeoutMs, log) : undefined;
  const linkLiveness = new LinkLivenessTracker({
    links: prismaLinkOperStore(db.prisma),
    settings: dampingSettings(settings),
    log,
    wake: (nodes) => wakeNodes(wakeOutbox, queue, nodes, Date.now()),
    presence: (nodes) => reports.watches(nodes),
    onChange: (link, status) => metrics.linkOperChanges.inc({ link, status }),
    localDelayMs: Number(settings['vpn.link-down-local-delay-ms']),
    protects: async (node, itf) => {
      const latest = await store.latest(node);
      return latest !== undefined && protectsInterface(latest.state, itf);
    },
  });
  const planner = new Planner(labels, routing);
  const intents = new IntentService(prismaIntentTransactions(db.prisma, store), queue, vrfRoutesSource(bgp), log, planner, allocator, ceSessions);
  const notifications = new NodeNotifications(String(settings['database.url']), [DESIRED_STATE_CHANNEL, AGENT_CREDENTIALS_CHANNEL], log);
  await notifications.start();
  const tokens = new TokenStore(prismaApiTokenStore(db.prisma), undefined, undefined, log);
  const tokenFile = String(settings['vpn.bootstrap-token-file']);
  if (tokenFile) {
    let secret: string;
    try {
      secret = readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`vpn.bootstrap-token-file: cannot read ${tokenFile}: ${(err as Error).message}`);
    }
    await tokens.ensure('bootstrap', 'admin', secret).catch((err: Error) => {
      throw new ConfigError(`vpn.bootstrap-token-file: ${err.message}`);
    });
  }
  const idempotency = new IdempotencyStore(prismaIdempotencyKeyStore(db.prisma), Number(settings['vpn.idempotency-hours']) * 3600_000);

  const relay = new OutboxRelay(prismaOutboxStore(db.prisma), queue, log);
  queue.onJobFinished(() => relay.kick());
  const resync = new PeriodicResync(
    producerRedis,
    prefix,
    prismaNodeIds(db.prisma),
    queue,
    log,
    Number(settings['vpn.resync-seconds']) * 1000,
  );
  const relayMs = Number(settings['vpn.outbox-relay-ms']);
  const owned = new OwnedWork(
    [
      { name: 'outbox relay', periodMs: relayMs, run: () => relay.runOnce() },
      { name: 'route target claim sweep', periodMs: relayMs, run: () => allocator.sweepClaims() },
      { name: 'periodic resync', periodMs: resync.periodMs, run: () => resync.tick() },
      { name: 'idempotency key purge', periodMs: 3600_000, run: () => idempotency.purgeExpired() },
      // Every second, whatever the timeout: a node turns unreachable at most a second after its agent's time is up (one query of every agent's last sighting).
      ...(liveness ? [{ name: 'agent liveness sweep', periodMs: 1000, run: () => liveness.sweep() }] : []),
      ...(speakerSweep ? [{ name: 'bgp speaker sweep', periodMs: Number(settings['vpn.speaker-sweep-seconds']) * 1000, run: () => speakerSweep.sweep() }] : []),
    ],
    log,
  );
  const lease = new Lease({
    databaseUrl: String(settings['database.url']),
    name: 'vpn-periodic-work',
    log,
    retryMs: Number(settings['vpn.lease-retry-ms']),
    onAcquired: () => owned.start(),
    onLost: () => owned.stop(),
  });
  lease.start();

  const metrics = vpnMetrics(db.pool, queue, ceSessions, lease);
  const security = securityEvents(log, metrics.registry);
  const agentCredentials = new AgentCredentials(prismaAgentCredentialStore(db.prisma), security, { rotationOverlapMs: Number(settings['vpn.agent-rotation-overlap-seconds']) * 1000 });
  await linkLiveness.start();
  const concurrency = Number(settings['vpn.worker-concurrency']);
  const worker = concurrency
    ? startReconcileWorker({
        redis: workerRedis,
        prefix,
        reconciler,
        concurrency,
        retry: { baseMs: DEFAULT_RETRY_BASE_MS, maxMs: retryMaxMs },
        log,
        metrics: metrics.reconcile,
      })
    : undefined;

  const app = await buildHttpApi(
    {
      intents,
      tokens,
      agentCredentials,
      idempotency,
      nodeStates: new NodeStateReader(agentStatuses, store),
      requireIfMatch: Boolean(settings['vpn.require-if-match']),
      ready: async () => void (await db.pool.query('SELECT 1')),
      security,
    },
    log,
    {
      https: httpsOptions(tls),
      observe: metrics.observeHttp,
      requestTimeoutMs: Number(settings['vpn.http-request-timeout-seconds']) * 1000,
      publicUrl: String(settings['vpn.public-url']),
    },
  );
  await app.listen({ host: listen.host, port: listen.port });
  const httpPort = (app.server.address() as { port: number }).port;
  log.info({ listen: String(settings['vpn.listen']), port: httpPort }, 'REST API listening');
  const grpc = await startGrpcServer({ listen: String(settings['vpn.grpc-listen']), services: [
      vpnGrpcService({ intents, tokens, agentCredentials, log }),
      agentGrpcService({ credentials: agentCredentials, store, notifications, security, log, reports, onReport, tls, links: linkLiveness, ...(bgp ? { bgp } : {}) }),
    ],
    log,
    tls,
    metrics: metrics.registry,
  });

  return {
    name: 'vpn',
    grpcPort: grpc.port,
    metrics: metrics.registry,
    checks: [
      { name: 'database', check: async () => void (await db.pool.query('SELECT 1')) },
      { name: 'redis', check: async () => void (await producerRedis.ping()) },
    ],
    httpPort,
    intents,
    tokens,
    queue,
    relay,
    resync,
    lease,
    reconciler,
    allocator,
    store,
    stop: async (graceMs) => {
      linkLiveness.stop();
      await lease.stop();
      vrfWatch?.stop();
      await refill?.stop();
      await Promise.all([grpc.stop(graceMs), app.close()]);
      await relay.stop();
      await resync.stop();
      await worker?.close();
      await queue.close();
      await notifications.stop();
      bgp?.close();
      labels.close();
      producerRedis.disconnect();
      workerRedis.disconnect();
      await db.close();
    },
  };
}

/**
 * `l3vpn token create NAME [read|write|admin]`: creates an API token and
 * prints it once (how an operator gets the first admin token);
 * `l3vpn token list`; `l3vpn token revoke ID`.
 */
export async function runTokenCommand(argv: string[], settings: Settings): Promise<void> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false });
  const [, action, arg, scopeArg] = positionals;
  const db = openDatabase(String(settings['database.url']), 2);
  try {
    const tokens = new TokenStore(prismaApiTokenStore(db.prisma));
    if (action === 'create' && arg) {
      const scope = (scopeArg ?? 'admin') as Scope;
      if (!['read', 'write', 'admin'].includes(scope)) throw new ConfigError(`scope must be read, write or admin, got '${scope}'`);
      const { token, info } = await tokens.create(arg, scope);
      process.stderr.write(`created token '${info.name}' (id ${info.id}, scope ${info.scope}); it is shown only this once:\n`);
      process.stdout.write(`${token}\n`);
    } else if (action === 'list') {
      for (const t of await tokens.list()) process.stdout.write(`${t.id}  ${t.scope.padEnd(5)}  ${t.name}\n`);
    } else if (action === 'revoke' && arg) {
      if (!(await tokens.revoke(arg))) throw new ConfigError(`no active token with id ${arg}`);
    } else {
      throw new ConfigError('usage: l3vpn token create NAME [read|write|admin] | token list | token revoke ID');
    }
  } finally {
    await db.close();
  }
}
