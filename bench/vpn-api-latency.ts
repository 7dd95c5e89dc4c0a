// REST latency at load: the vpn service in its own process (`l3vpn vpn`,
// real PostgreSQL and Redis, no reconcile worker so only the API is
// measured), seeded over REST with 100 PEs, 100 VPNs and 1,000 sites, then a
// constant 500 reads/s for 30 s spread over GET site, GET vpn, list sites of
// a VPN and GET vrf (autocannon, ids drawn at random, latencies corrected for
// coordinated omission), and a lower rate of writes (merge patches of VPNs,
// each one transaction with its outbox row and the reconcile jobs queued).
// Prints p50/p90/p99/max and the achieved rate per endpoint.
// Run: npx tsc -p tsconfig.json && node --expose-gc dist/bench/vpn-api-latency.js [reads/s] [seconds] [writes/s]
// (SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' profiles the service)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createTestDatabase, testRedis } from '../test/support/services.js';

const READ_RATE = Number(process.argv[2] ?? 500);
const SECONDS = Number(process.argv[3] ?? 30);
const WRITE_RATE = Number(process.argv[4] ?? 50);
const PES = 100;
const VPNS = 100;
const PER_VPN = 10;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const pick = (n: number) => Math.floor(Math.random() * n);
/** The PE of site k of VPN v (as bench/vpn-provisioning.ts spreads them). */
const peOf = (v: number, k: number) => (v * 7 + k * Math.floor(PES / PER_VPN)) % PES;

const db = await createTestDatabase('vpn_latency');
const redis = await testRedis();
const dir = mkdtempSync(join(tmpdir(), 'vpn-latency-'));
const token = `l3vpn_${randomBytes(32).toString('base64url')}`;
writeFileSync(join(dir, 'token'), token);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const serverArgs = (process.env.SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const vpn = spawn(process.execPath, [...serverArgs, 'dist/services/main.js', 'vpn'], {
  env: {
    ...process.env,
    DATABASE_URL: db.url,
    DATABASE_MIGRATE: 'false',
    DATABASE_POOL_SIZE: '20',
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    VPN_LISTEN: `127.0.0.1:${port}`,
    VPN_GRPC_LISTEN: '127.0.0.1:0',
    OPS_ADDRESS: '',
    VPN_WORKER_CONCURRENCY: '0',
    VPN_BOOTSTRAP_TOKEN_FILE: join(dir, 'token'),
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

async function ready(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (vpn.exitCode !== null) throw new Error(`the vpn service exited (${vpn.exitCode})`);
    if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the vpn service did not get ready');
}

async function post(path: string, body: object): Promise<void> {
  const r = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body) });
  if (r.status !== 201) throw new Error(`${path}: ${r.status} ${await r.text()}`);
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

async function seed(): Promise<void> {
  await pool(Array.from({ length: PES }, (_, i) => i), 8, (i) => post('/v1/nodes', { id: `pe${i}`, role: 'PE', routerId: `10.255.${2 + (i >> 8)}.${i & 255}`, asNumber: 65000 }));
  await pool(Array.from({ length: VPNS }, (_, v) => v), 8, (v) => post('/v1/vpns', { id: `vpn${v}`, customer: `c${v % 10}`, labelMode: v % 4 === 3 ? 'per-ce' : 'per-vrf' }));
  const sites = [];
  for (let v = 0; v < VPNS; v++) {
    for (let k = 0; k < PER_VPN; k++) {
      const n = v * PER_VPN + k;
      sites.push({
        id: `s${n}`,
        vpn: `vpn${v}`,
        node: `pe${peOf(v, k)}`,
        interface: 'cust0',
        vlan: 100 + v,
        ipv4: { peAddress: `172.${16 + (n >> 14)}.${(n >> 6) & 255}.${(n & 63) * 4 + 1}/30`, ceAddress: `172.${16 + (n >> 14)}.${(n >> 6) & 255}.${(n & 63) * 4 + 2}` },
        routing: { static: [{ prefix: `10.${n >> 8}.${n & 255}.0/24` }] },
      });
    }
  }
  await pool(sites, 16, (s) => post('/v1/sites', s));
}

interface Load {
  name: string;
  rate: number;
  method?: 'GET' | 'PATCH';
  path: () => string;
  body?: () => string;
}

type Result = autocannon.Result;

function run(load: Load): Promise<Result> {
  return autocannon({
    url: base,
    connections: Math.max(2, Math.ceil(load.rate / 25)),
    overallRate: load.rate,
    duration: SECONDS,
    headers,
    requests: [
      {
        method: load.method ?? 'GET',
        setupRequest: (req) => ({ ...req, path: load.path(), ...(load.body ? { body: load.body() } : {}) }),
      },
    ],
  });
}

function row(name: string, r: Result): string {
  const bad = r.non2xx + r.errors + r.timeouts;
  const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(10);
  return `${name.padEnd(26)}${ms(r.latency.p50)}${ms(r.latency.p90)}${ms(r.latency.p99)}${ms(r.latency.max)}${`${(r.requests.total / r.duration).toFixed(0)}/s`.padStart(9)}${bad ? `  (${bad} failed)` : ''}`;
}

try {
  await ready();
  const t0 = Date.now();
  await seed();
  console.log(`seeded ${PES} PEs, ${VPNS} VPNs, ${VPNS * PER_VPN} sites over REST in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Warm up connections, JIT and the token cache.
  await run({ name: 'warm-up', rate: 100, path: () => `/v1/sites/s${pick(VPNS * PER_VPN)}` }).catch(() => undefined);

  const per = READ_RATE / 4;
  const reads: Load[] = [
    { name: 'GET /v1/sites/{id}', rate: per, path: () => `/v1/sites/s${pick(VPNS * PER_VPN)}` },
    { name: 'GET /v1/vpns/{id}', rate: per, path: () => `/v1/vpns/vpn${pick(VPNS)}` },
    { name: 'GET /v1/sites?vpn=', rate: per, path: () => `/v1/sites?vpn=vpn${pick(VPNS)}&limit=50` },
    {
      name: 'GET /v1/vrfs/{id}',
      rate: per,
      path: () => {
        const v = pick(VPNS);
        return `/v1/vrfs/vpn${v}:pe${peOf(v, pick(PER_VPN))}`;
      },
    },
  ];
  console.log(`reads: ${READ_RATE}/s for ${SECONDS} s (${per}/s each), latency corrected for coordinated omission`);
  console.log(`${'endpoint'.padEnd(26)}${'p50'.padStart(10)}${'p90'.padStart(10)}${'p99'.padStart(10)}${'max'.padStart(10)}${'rate'.padStart(9)}`);
  const results = await Promise.all(reads.map(run));
  reads.forEach((l, i) => console.log(row(l.name, results[i]!)));
  const worst = Math.max(...results.map((r) => r.latency.p99));
  console.log(`reads p99 (worst endpoint): ${worst.toFixed(1)} ms (target < 50 ms)`);

  const writes = await run({
    name: 'PATCH /v1/vpns/{id}',
    rate: WRITE_RATE,
    method: 'PATCH',
    path: () => `/v1/vpns/vpn${pick(VPNS)}`,
    body: () => JSON.stringify({ description: `load ${randomBytes(4).toString('hex')}` }),
  });
  console.log(`writes: ${WRITE_RATE}/s for ${SECONDS} s, alone`);
  console.log(row('PATCH /v1/vpns/{id}', writes));
} finally {
  vpn.kill('SIGTERM');
  await new Promise((r) => vpn.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  await db.drop();
}
