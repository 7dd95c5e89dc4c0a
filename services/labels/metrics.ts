// Prometheus series of the labels service, read from the pools at scrape
// time (every replica shows the same totals). Allocation latency is the gRPC
// call histogram (l3vpn_grpc_server_handling_seconds, grpc_method Allocate*).
import { Gauge } from 'prom-client';
import type { Queryable } from '../common/db/sql.js';
import { serviceRegistry } from '../common/ops/metrics.js';
import { sharedReading } from '../common/ops/snapshot.js';

interface PoolRow {
  kind: string;
  scope: string;
  size: number;
  allocated: number;
  held: number;
}

interface PurposeRow {
  kind: string;
  scope: string;
  purpose: string;
  allocated: number;
}

export function labelsMetrics(db: Queryable) {
  const registry = serviceRegistry('labels');
  const read = sharedReading(async () => {
    const pools = await db.query<PoolRow>(
      `SELECT p.kind::text AS kind, p.scope, (p.max - p.min + 1) AS size,
              count(a.value) FILTER (WHERE a.reusable_at IS NULL) AS allocated,
              count(a.value) FILTER (WHERE a.reusable_at > now()) AS held
         FROM pool p LEFT JOIN allocation a ON a.pool_id = p.id
        GROUP BY p.id`,
    );
    const purposes = await db.query<PurposeRow>(
      `SELECT p.kind::text AS kind, p.scope, a.purpose, count(*) AS allocated
         FROM pool p JOIN allocation a ON a.pool_id = p.id
        WHERE a.reusable_at IS NULL
        GROUP BY 1, 2, 3`,
    );
    return { pools: pools.rows, purposes: purposes.rows };
  });
  const space = (r: { kind: string; scope: string }) => ({ pool_kind: r.kind.toLowerCase(), space: r.scope });

  new Gauge({
    name: 'l3vpn_labels_allocations',
    help: 'Values allocated and not released, per pool (node label space, SRGB, RD or RT administrator) and purpose',
    labelNames: ['pool_kind', 'space', 'purpose'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await read()).purposes) this.set({ ...space(r), purpose: r.purpose }, Number(r.allocated));
    },
  });
  new Gauge({
    name: 'l3vpn_labels_free',
    help: 'Values of a pool neither allocated nor held down',
    labelNames: ['pool_kind', 'space'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await read()).pools) this.set(space(r), Math.max(0, Number(r.size) - Number(r.allocated) - Number(r.held)));
    },
  });
  new Gauge({
    name: 'l3vpn_labels_held_down',
    help: 'Released values of a pool still in their reuse hold-down',
    labelNames: ['pool_kind', 'space'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await read()).pools) this.set(space(r), Number(r.held));
    },
  });
  return registry;
}
