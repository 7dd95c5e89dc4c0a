// From the REST call to packets flowing, on the lab (`l3vpn lab`):
//   single: ovs driver (root + Open vSwitch), the default topology (with its
//           gobgpd external PE); for each
//           free CE port, POST a site and time until a ping from another
//           site's CE through it is answered (ping -D timestamps, 20 ms apart).
//   scale:  soft driver, P PEs and an external gobgpd; POST N sites (100 VPNs x 10 sites by
//           default) and time until every PE's agent reports having applied
//           the generation that holds all of its routes (GET /v1/nodes/{id}/state).
// Run: node --expose-gc dist/bench/e2e-lab.js [single|scale|both] [pes=100] [vpns=100] [sites-per-vpn=10] [concurrency=32]
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../services/common/logger.js';
import { projectRoot } from '../services/common/project-root.js';
import { startLab, type Lab, type LabOptions } from '../services/lab/lab.js';
import { ovsUnavailable } from '../services/lab/ovs-network.js';
import { loadTopology, type Topology } from '../services/lab/topology.js';
import { createTestDatabase, testRedis } from '../test/support/services.js';

const MODE = process.argv[2] ?? 'both';
const PES = Number(process.argv[3] ?? 100);
const VPNS = Number(process.argv[4] ?? 100);
const PER_VPN = Number(process.argv[5] ?? 10);
const CONCURRENCY = Number(process.argv[6] ?? 32);

async function withLab<T>(topology: Topology, o: Partial<LabOptions>, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const db = await createTestDatabase('bench');
  const redis = await testRedis();
  const stateDir = await mkdtemp(join(tmpdir(), 'l3labb-'));
  const dropAll = async () => {
    await db.drop();
    await rm(stateDir, { recursive: true, force: true });
  };
  const lab = await startLab({
    topology,
    stateDir,
    namePrefix: 'l3labb',
    driver: 'soft',
    separate: false,
    databaseUrl: db.url,
    redisUrl: redis.url,
    restPort: 0,
    settings: { REDIS_PREFIX: redis.prefix, LOG_LEVEL: 'warn', VPN_WORKER_CONCURRENCY: '16', DATABASE_POOL_SIZE: '15', VPN_OUTBOX_RELAY_MS: '500' },
    provisionSample: true,
    log: createLogger('bench', 'warn'),
    progress: () => undefined,
    ...o,
  }).catch(async (err: unknown) => {
    await dropAll();
    throw err;
  });
  try {
    return await fn(lab);
  } finally {
    await lab.stop();
    await dropAll();
  }
}

/** Milliseconds from `t0` to the first echo reply ping prints (-D: its Unix time per line). */
function firstReply(ns: string, to: string, t0: () => number, timeoutS: number): { done: Promise<number>; stop(): void } {
  const ping = spawn('ip', ['netns', 'exec', ns, 'ping', '-D', '-n', '-i', '0.02', '-W', '1', '-w', String(timeoutS), to], { stdio: ['ignore', 'pipe', 'ignore'] });
  const done = new Promise<number>((resolve, reject) => {
    let buf = '';
    ping.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(buf);
      if (m) resolve(Number(m[1]) * 1000 - t0());
    });
    ping.on('exit', () => reject(new Error(`no reply from ${to} within ${timeoutS} s`)));
  });
  return { done, stop: () => ping.kill() };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function single(): Promise<void> {
  const why = await ovsUnavailable();
  if (why) {
    console.log(`single site (ovs): skipped — ${why}`);
    return;
  }
  const base = loadTopology(join(projectRoot(), 'lab', 'topology.yaml'));
  const from = base.sample.sites[0]!;
  const topology: Topology = { ...base, bgpAddress: '127.0.30.11', external: { ...base.external!, address: '127.0.30.12' }, sample: { vpns: base.sample.vpns, sites: [from] } };
  await withLab(topology, { driver: 'ovs' }, async (lab) => {
    const ns = lab.ce(String(from.node), String(from.interface))!.namespace;
    const ports = topology.nodes.flatMap((n) => n.cePorts.map((p) => ({ node: n.id, port: p }))).filter((p) => !(p.node === from.node && p.port === from.interface));
    const times: number[] = [];
    for (const [i, p] of ports.entries()) {
      const n = 40 + i;
      const site = { id: `bench-${p.node}-${p.port}`, vpn: from.vpn, node: p.node, interface: p.port, ipv4: { peAddress: `192.168.${n}.1/30`, ceAddress: `192.168.${n}.2` }, routing: { static: [{ prefix: `10.${n}.0.0/16` }] } };
      // The customer's side is ready before the order: only the provider's work is timed.
      let t0 = 0;
      const reply = firstReply(ns, `10.${n}.0.1`, () => t0, 30);
      await lab.connectCe(site);
      t0 = Date.now();
      await lab.rest.expect('POST', '/v1/sites', [201], site);
      try {
        const ms = await reply.done;
        times.push(ms);
        console.log(`  site on ${p.node}/${p.port}: ${ms.toFixed(0)} ms from POST to the first ping answered through it`);
      } finally {
        reply.stop();
      }
    }
    console.log(`single site (ovs, ${topology.nodes.length} nodes): median ${median(times).toFixed(0)} ms, min ${Math.min(...times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms over ${times.length} sites`);
  });
}

function scaleTopology(): Topology {
  const nodes: Topology['nodes'] = [
    { id: 'p1', role: 'P', routerId: '10.254.0.1', sidIndex: 4001, cePorts: [] },
    { id: 'p2', role: 'P', routerId: '10.254.0.2', sidIndex: 4002, cePorts: [] },
  ];
  const links: Topology['links'] = [{ a: 'p1', b: 'p2', metric: 10 }];
  for (let i = 0; i < PES; i++) {
    nodes.push({ id: `pe${i}`, role: 'PE', routerId: `10.253.${i >> 8}.${i & 255}`, sidIndex: i + 1, cePorts: [] });
    links.push({ a: `pe${i}`, b: 'p1', metric: 10 }, { a: `pe${i}`, b: 'p2', metric: 20 });
  }
  const external = { kind: 'gobgp' as const, address: '127.0.30.14', routerId: '10.254.1.1', nextHop: '198.51.100.14', routes: [] };
  return { as: 65000, nodes, links, bgpAddress: '127.0.30.13', external, sample: { vpns: [], sites: [] } };
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

async function scale(): Promise<void> {
  const topology = scaleTopology();
  const t = Date.now();
  await withLab(topology, { driver: 'soft' }, async (lab) => {
    const setupS = (Date.now() - t) / 1000;
    for (let v = 0; v < VPNS; v++) await lab.rest.expect('POST', '/v1/vpns', [201], { id: `vpn${v}`, customer: `c${v}` });
    // Site j of VPN v on PE (10v + j) mod PES: VPNs v and v+10 share PEs; each VRF ends up with all its VPN's routes.
    const sites = [];
    const expected = new Map<string, number>();
    for (let v = 0; v < VPNS; v++) {
      for (let j = 0; j < PER_VPN; j++) {
        const k = v * PER_VPN + j;
        const node = `pe${(v * PER_VPN + j) % PES}`;
        sites.push({ id: `s${k}`, vpn: `vpn${v}`, node, interface: 'ce1', vlan: 100 + v, ipv4: { peAddress: `172.${16 + (k >> 6)}.0.${(k & 63) * 4 + 1}/30`, ceAddress: `172.${16 + (k >> 6)}.0.${(k & 63) * 4 + 2}` }, routing: { static: [{ prefix: `20.${k >> 8}.${k & 255}.0/24` }] } });
        // Every VRF of the VPN holds the VPN's every connected subnet and static prefix.
        expected.set(node, (expected.get(node) ?? 0) + 2 * PER_VPN);
      }
    }
    global.gc?.();
    const t0 = Date.now();
    await pool(sites, CONCURRENCY, (s) => lab.rest.expect('POST', '/v1/sites', [201], s));
    const postedS = (Date.now() - t0) / 1000;
    const pending = new Set(expected.keys());
    while (pending.size) {
      for (const node of [...pending]) {
        const st = await lab.rest.get(`/v1/nodes/${node}/state`);
        const applied = st.installed?.appliedGeneration === st.desired?.generation && st.installed?.counts?.vrfRoutes === expected.get(node);
        if (st.inSync && applied) pending.delete(node);
      }
      if (Date.now() - t0 > 600_000) throw new Error(`not converged in 600 s: ${[...pending].slice(0, 5).join(', ')}…`);
      if (pending.size) await new Promise((r) => setTimeout(r, 100));
    }
    const totalS = (Date.now() - t0) / 1000;
    const routes = [...expected.values()].reduce((a, b) => a + b, 0);
    console.log(
      `scale (soft): ${sites.length} sites across ${PES} PEs (+2 P), ${VPNS} VPNs: POSTs done in ${postedS.toFixed(1)} s, every agent applied its routes after ${totalS.toFixed(1)} s ` +
        `(${(sites.length / totalS).toFixed(0)} sites/s, ${routes} VRF routes installed); lab start-up with ${topology.nodes.length} nodes and agents ${setupS.toFixed(1)} s; RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
    );
  });
}

if (MODE === 'single' || MODE === 'both') await single();
if (MODE === 'scale' || MODE === 'both') await scale();
process.exit(0);
