// Prometheus series of the vpn service: the reconcile queue and its jobs,
// the REST API, and per node the desired generation and how far its agent
// is behind it (desired − applied, from ReportStatus), its status and how
// long its agent has been silent; resources counted by status. Per-node
// labels are bounded by the inventory; nothing is labelled by prefix, VPN
// or request (the reasons are in the API).
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Queryable } from '../common/db/sql.js';
import { serviceRegistry } from '../common/ops/metrics.js';
import { sharedReading } from '../common/ops/snapshot.js';
import type { ReconcileQueue } from './reconcile/queue.js';
import { accessesUp, type CeSessionsSource } from './routes/ce-sessions.js';

export interface ReconcileMetrics {
  jobSeconds: Histogram<'outcome'>;
  jobFailures: Counter;
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

interface NodeRow {
  node: string;
  status: string;
  desired: number | null;
  applied: number | null;
  silent: number | null;
}

const STATUSES = ['PENDING', 'PROVISIONING', 'ACTIVE', 'DEGRADED', 'DOWN', 'UNREACHABLE', 'FAILED'] as const;
const KIND_TABLES = { node: 'node', link: 'link', vpn: 'vpn', site: 'site', vrf: 'vrf' } as const;

export function vpnMetrics(db: Queryable, queue: ReconcileQueue, ceSessions?: CeSessionsSource, periodicWork?: { readonly held: boolean }) {
  const registry = serviceRegistry('vpn');
  if (periodicWork) {
    new Gauge({
      name: 'l3vpn_vpn_periodic_work_owner',
      help: '1 when this replica owns the periodic work (outbox relay, sweeps, resync, purge) through its lease, else 0: exactly one replica of a deployment should say 1',
      registers: [registry],
      collect() {
        this.set(periodicWork.held ? 1 : 0);
      },
    });
  }
  // Labelled by VPN, site and access: bounded by the sites that peer eBGP (an operator alerts on one CE's session).
  if (ceSessions) {
    new Gauge({
      name: 'l3vpn_site_access_bgp_session_up',
      help: "1 when every PE-CE eBGP session of the site's access is established on the bgp service, else 0 (absent while it cannot be asked)",
      labelNames: ['vpn', 'site', 'access'],
      registers: [registry],
      async collect() {
        this.reset();
        const sessions = await ceSessions.sessions();
        if (!sessions) return;
        for (const a of accessesUp(sessions).values()) this.set({ vpn: a.vpn, site: a.site, access: a.access }, a.up ? 1 : 0);
      },
    });
  }
  new Gauge({
    name: 'l3vpn_vpn_reconcile_queue_jobs',
    help: 'Reconcile jobs in the queue by state (shared by every replica)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await queue.queue.getJobCounts(...QUEUE_STATES, 'prioritized');
      for (const state of QUEUE_STATES) this.set({ state }, (counts[state] ?? 0) + (state === 'waiting' ? counts['prioritized'] ?? 0 : 0));
    },
  });
  const reconcile: ReconcileMetrics = {
    jobSeconds: new Histogram({
      name: 'l3vpn_vpn_reconcile_job_duration_seconds',
      help: 'Duration of reconcile jobs run by this process, by outcome',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    jobFailures: new Counter({
      name: 'l3vpn_vpn_reconcile_job_failures_total',
      help: "Failed reconcile attempts run by this process; every one is retried (the node's status says why)",
      registers: [registry],
    }),
  };
  const http = new Histogram({
    name: 'l3vpn_vpn_http_request_duration_seconds',
    help: 'Duration of REST requests by route pattern, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const nodes = sharedReading(async () => {
    const { rows } = await db.query<NodeRow>(
      `SELECT n.id AS node, n.status::text AS status, d.generation AS desired, a.applied_generation AS applied,
              extract(epoch FROM (now() - a.last_seen_at))::float8 AS silent
         FROM node n
         LEFT JOIN (SELECT node_id, max(generation) AS generation FROM node_desired_state GROUP BY node_id) d ON d.node_id = n.id
         LEFT JOIN agent_status a ON a.node_id = n.id`,
    );
    return rows;
  });
  new Gauge({
    name: 'l3vpn_vpn_desired_generation',
    help: 'Newest desired-state generation stored for the node',
    labelNames: ['node'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await nodes()) if (r.desired !== null) this.set({ node: r.node }, Number(r.desired));
    },
  });
  new Gauge({
    name: 'l3vpn_vpn_agent_generation_lag',
    help: "Desired minus applied generation of the node's agent (its last ReportStatus); absent until it reports",
    labelNames: ['node'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await nodes()) if (r.applied !== null) this.set({ node: r.node }, Math.max(0, Number(r.desired ?? 0) - Number(r.applied)));
    },
  });
  const linkOperChanges = new Counter({
    name: 'l3vpn_vpn_link_oper_changes_total',
    help: 'Core links going operationally down (port or BFD down) or up again (after their hold-down), seen by this process',
    labelNames: ['link', 'status'],
    registers: [registry],
  });
  new Gauge({
    name: 'l3vpn_vpn_node_status',
    help: 'Status of each node: 1 for its current status (unreachable: its agent is silent past vpn.agent-timeout-seconds)',
    labelNames: ['node', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await nodes()) for (const s of STATUSES) this.set({ node: r.node, status: s.toLowerCase() }, r.status === s ? 1 : 0);
    },
  });
  new Gauge({
    name: 'l3vpn_vpn_agent_silence_seconds',
    help: "Seconds since the controller last heard from the node's agent (any ReportStatus, heartbeats included); absent until it reports",
    labelNames: ['node'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await nodes()) if (r.silent !== null) this.set({ node: r.node }, Math.max(0, Number(r.silent)));
    },
  });
  const counts = sharedReading(async () => {
    const parts = Object.entries(KIND_TABLES).map(([kind, table]) => `SELECT '${kind}' AS kind, status::text AS status, count(*)::int AS n FROM ${table} GROUP BY status`);
    return (await db.query<{ kind: string; status: string; n: number }>(parts.join(' UNION ALL '))).rows;
  });
  new Gauge({
    name: 'l3vpn_vpn_resources',
    help: 'Resources by kind and status (failed, degraded, down, unreachable: see their status reason in the API)',
    labelNames: ['kind', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await counts();
      for (const kind of Object.keys(KIND_TABLES)) {
        for (const s of STATUSES) this.set({ kind, status: s.toLowerCase() }, rows.find((r) => r.kind === kind && r.status === s)?.n ?? 0);
      }
    },
  });
  return {
    registry,
    reconcile,
    linkOperChanges,
    observeHttp: (labels: { route: string; method: string; status: string }, seconds: number) => http.observe(labels, seconds),
  };
}
