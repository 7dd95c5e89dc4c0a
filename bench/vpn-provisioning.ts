// Provisioning throughput end to end: 1,000 sites (100 VPNs x 10 sites)
// across 100 PEs and 4 P routers, posted over REST, until every node's
// desired state is stored and the queue is idle. Real PostgreSQL, Redis and
// labels service (in process). Prints sites/s and the work it took.
// Run: npm run build && node dist/bench/vpn-provisioning.js [pes] [vpns] [sites-per-vpn] [concurrency]
import pg from 'pg';
import { startReconcileHarness, type ReconcileHarness } from '../test/vpn/reconcile-support.js';

const PES = Number(process.argv[2] ?? 100);
const VPNS = Number(process.argv[3] ?? 100);
const PER_VPN = Number(process.argv[4] ?? 10);
const CONCURRENCY = Number(process.argv[5] ?? 32);
const PS = 4;

async function idle(h: ReconcileHarness, sql: pg.Client): Promise<void> {
  let quiet = 0;
  while (quiet < 3) {
    const c = await h.vpn.queue.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    const unsent = (await sql.query('SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL')).rows[0].n as number;
    quiet = Object.values(c).every((n) => n === 0) && unsent === 0 ? quiet + 1 : 0;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

async function post(h: ReconcileHarness, path: string, body: object): Promise<void> {
  const r = await h.call('POST', path, { body });
  if (r.status !== 201) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
}

const h = await startReconcileHarness({ VPN_WORKER_CONCURRENCY: '16', DATABASE_POOL_SIZE: '40', VPN_OUTBOX_RELAY_MS: '500' });
const sql = new pg.Client({ connectionString: h.db.url });
await sql.connect();
let jobs = 0;
h.vpn.reconciler.afterAllocation = () => void jobs++;
try {
  const t0 = Date.now();
  const nodes = [
    ...Array.from({ length: PS }, (_, i) => ({ id: `p${i}`, role: 'P', routerId: `10.255.1.${i + 1}`, asNumber: 65000, nodeSidIndex: 1000 + i })),
    ...Array.from({ length: PES }, (_, i) => ({ id: `pe${i}`, role: 'PE', routerId: `10.255.${2 + (i >> 8)}.${i & 255}`, asNumber: 65000, nodeSidIndex: i + 1 })),
  ];
  await pool(nodes, 8, (n) => post(h, '/v1/nodes', n));
  const nodesPostedS = (Date.now() - t0) / 1000;
  let subnet = 0;
  const link = (a: string, b: string, id: string) => {
    const n = subnet++;
    return { id, a: { node: a, interface: `to-${b}`, address: `10.200.${n >> 7}.${(n & 127) * 2}/31` }, b: { node: b, interface: `to-${a}`, address: `10.200.${n >> 7}.${(n & 127) * 2 + 1}/31` }, igpMetric: 10 };
  };
  const links = [];
  for (let i = 0; i < PS; i++) for (let j = i + 1; j < PS; j++) links.push(link(`p${i}`, `p${j}`, `p${i}-p${j}`));
  for (let i = 0; i < PES; i++) links.push(link(`pe${i}`, `p${i % PS}`, `pe${i}-p${i % PS}`), link(`pe${i}`, `p${(i + 1) % PS}`, `pe${i}-p${(i + 1) % PS}`));
  const tLinks = Date.now();
  await pool(links, 8, (l) => post(h, '/v1/links', l));
  const linksPostedS = (Date.now() - tLinks) / 1000;
  await idle(h, sql);
  const inventoryS = (Date.now() - t0) / 1000;
  const inventoryJobs = jobs;
  await pool(Array.from({ length: VPNS }, (_, v) => v), 8, (v) => post(h, '/v1/vpns', { id: `vpn${v}`, customer: `c${v}`, labelMode: v % 4 === 3 ? 'per-ce' : 'per-vrf' }));
  await idle(h, sql);

  const sites = [];
  for (let v = 0; v < VPNS; v++) {
    for (let k = 0; k < PER_VPN; k++) {
      const pe = (v * 7 + k * Math.floor(PES / PER_VPN)) % PES;
      const n = v * PER_VPN + k;
      sites.push({
        id: `s${n}`,
        vpn: `vpn${v}`,
        node: `pe${pe}`,
        interface: 'cust0',
        vlan: 100 + v,
        ipv4: { peAddress: `172.${16 + (n >> 14)}.${(n >> 6) & 255}.${(n & 63) * 4 + 1}/30`, ceAddress: `172.${16 + (n >> 14)}.${(n >> 6) & 255}.${(n & 63) * 4 + 2}` },
        routing: { static: [{ prefix: `10.${n >> 8}.${n & 255}.0/24` }] },
      });
    }
  }
  jobs = 0;
  const t1 = Date.now();
  await pool(sites, CONCURRENCY, (s) => post(h, '/v1/sites', s));
  const writesS = (Date.now() - t1) / 1000;
  await idle(h, sql);
  const totalS = (Date.now() - t1) / 1000;

  const gens = (await sql.query('SELECT count(*)::int AS n, count(DISTINCT node_id)::int AS nodes FROM node_desired_state')).rows[0];
  const active = (await sql.query("SELECT count(*)::int AS n FROM site WHERE status = 'ACTIVE'")).rows[0].n;
  const routes = (await sql.query('SELECT sum(length(state))::bigint AS bytes FROM node_desired_state')).rows[0].bytes;
  // Every PE's VRF of a VPN must hold all 2 x PER_VPN prefixes of the VPN (connected + static per site).
  const sample = await h.vpn.store.latest(sites[0]!.node);
  const vrf0 = sample!.state.vrfRoutes.filter((r) => r.vrf === 'vpn0').length;
  console.log(
    `inventory: ${nodes.length} nodes (REST ${nodesPostedS.toFixed(1)} s) and ${links.length} links (REST ${linksPostedS.toFixed(1)} s) reconciled on every node in ${inventoryS.toFixed(1)} s; ` +
      `reconcile jobs: ${inventoryJobs} (${(inventoryJobs / nodes.length).toFixed(1)} per node)`,
  );
  console.log(`sites: ${sites.length} over ${PES} PEs; REST writes ${writesS.toFixed(1)} s (${(sites.length / writesS).toFixed(0)}/s)`);
  console.log(`end to end to stored desired state: ${totalS.toFixed(1)} s = ${(sites.length / totalS).toFixed(0)} sites/s (target: 1000 in < 30 s)`);
  console.log(`reconcile jobs run: ${jobs} (${(jobs / PES).toFixed(1)} per PE); generations kept: ${gens.n} over ${gens.nodes} nodes; stored bytes: ${routes}`);
  console.log(`sites active: ${active}/${sites.length}; vpn0 routes on ${sites[0]!.node}: ${vrf0} (expected ${2 * PER_VPN})`);
} finally {
  await sql.end();
  await h.stop();
}
