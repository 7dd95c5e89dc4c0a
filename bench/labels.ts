// Labels service throughput and memory, through gRPC with PostgreSQL, the
// service running as its own process (the real binary) and this process as
// the client. Prints figures; asserts nothing.
//   npm run bench -- labels            (L3VPN_BENCH_LABELS=1000000 to change the RSS run's size)
import { readFileSync } from 'node:fs';
import { AllocateLabelRequest, AllocateLabelsRequest, LabelKind } from '../services/common/gen/proto/l3vpn/v1/labels.js';
import { LeanGrpcClient } from './support/lean-grpc.js';
import { createTestDatabase } from '../test/support/services.js';
import { labelsClient, startLabelsProcess, type LabelsClient } from '../test/support/labels.js';
import { testSecret } from '../test/support/service-auth.js';

const VRF = LabelKind.LABEL_KIND_VRF;

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/**
 * Runs `calls` calls with `concurrency` in flight and returns `units` (what
 * the calls allocate in all) per second.
 */
async function drive(calls: number, concurrency: number, units: number, call: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) await call(next++);
    }),
  );
  return units / (Number(process.hrtime.bigint() - start) / 1e9);
}

const singles = (client: LabelsClient, node: (i: number) => string, count: number, concurrency: number, tag: string) =>
  drive(count, concurrency, count, (i) => client.allocateLabel({ node: node(i), owner: `${tag}:${i}`, kind: VRF }));

/** Singles from the lean HTTP/2 client, so the load generator's CPU does not set the figure. */
const leanSingles = (lean: LeanGrpcClient, node: string, count: number, concurrency: number, tag: string) =>
  drive(count, concurrency, count, (i) =>
    lean.call('/l3vpn.v1.LabelsService/AllocateLabel', AllocateLabelRequest.encode({ node, owner: `${tag}:${i}`, kind: VRF }).finish()),
  );

/** The requests of batch call `c` of `total` labels, `batchSize` per call. */
const batchRequests = (c: number, total: number, batchSize: number, tag: string) =>
  Array.from({ length: Math.min(batchSize, total - c * batchSize) }, (_, j) => ({ owner: `${tag}:${c * batchSize + j}`, kind: VRF }));

const batches = (client: LabelsClient, node: string, total: number, batchSize: number, concurrency: number, tag: string) =>
  drive(Math.ceil(total / batchSize), concurrency, total, (c) => client.allocateLabels({ node, requests: batchRequests(c, total, batchSize, tag) }));

const leanBatches = (lean: LeanGrpcClient, node: string, total: number, batchSize: number, concurrency: number) =>
  drive(Math.ceil(total / batchSize), concurrency, total, (c) =>
    lean.call('/l3vpn.v1.LabelsService/AllocateLabels', AllocateLabelsRequest.encode({ node, requests: batchRequests(c, total, batchSize, 'lb') }).finish()),
  );

export async function main(): Promise<void> {
  const db = await createTestDatabase('bench_labels');
  const proc = await startLabelsProcess({ DATABASE_URL: db.url, DATABASE_MIGRATE: 'false' });
  const client = labelsClient(proc.address);
  const pid = proc.child.pid!;
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  try {
    // Warm up connections and the JIT.
    await singles(client, () => 'warm', 2000, 32, 'warm');
    console.log(`labels bench (service pid ${pid}, PostgreSQL, 2 cores shared by client and service)`);
    // The service's own CPU per allocation tells its cost apart from the
    // client's: on 2 shared cores the gRPC client is often the limit.
    const measure = async (what: string, unit: string, n: number, fn: () => Promise<number>) => {
      const cpu0 = cpuSeconds(pid);
      const rate = await fn();
      const us = ((cpuSeconds(pid) - cpu0) / n) * 1e6;
      console.log(`  ${what}: ${fmt(rate)} ${unit}/s (service CPU ${us.toFixed(0)} µs each)`);
    };
    for (const concurrency of [1, 16, 64, 256]) {
      await measure(`single AllocateLabel, one node, ${concurrency} in flight`, 'allocations', 20_000, () =>
        singles(client, () => 'pe-single', 20_000, concurrency, `s${concurrency}`),
      );
    }
    await measure('single AllocateLabel, 100 nodes, 256 in flight', 'allocations', 20_000, () =>
      singles(client, (i) => `pe-${i % 100}`, 20_000, 256, 'spread'),
    );
    const lean = new LeanGrpcClient(proc.address, testSecret('service:vpn'));
    try {
      await leanSingles(lean, 'pe-lean-warm', 2000, 64, 'w');
      for (const concurrency of [64, 256]) {
        await measure(`single AllocateLabel, one node, ${concurrency} in flight, lean HTTP/2 client`, 'allocations', 40_000, () =>
          leanSingles(lean, 'pe-lean', 40_000, concurrency, `l${concurrency}`),
        );
      }
      for (const concurrency of [1, 4]) {
        await measure(`AllocateLabels, 10,000 per call, ${concurrency} in flight, lean HTTP/2 client`, 'labels', 200_000, () =>
          leanBatches(lean, `pe-lean-batch-${concurrency}`, 200_000, 10_000, concurrency),
        );
      }
    } finally {
      lean.close();
    }
    for (const [size, conc] of [[1000, 1], [10_000, 1], [10_000, 4]] as const) {
      await measure(`AllocateLabels, ${fmt(size)} per call, ${conc} call(s) in flight`, 'labels', 200_000, () =>
        batches(client, `pe-batch-${size}-${conc}`, 200_000, size, conc, 'b'),
      );
    }
    const target = Number(process.env.L3VPN_BENCH_LABELS ?? 1_000_000);
    const before = rssMiB(pid);
    const fillRate = await batches(client, 'pe-million', target, 10_000, 2, 'm');
    const after = rssMiB(pid);
    const usage = (await client.getLabelSpaces({ node: 'pe-million' })).spaces!.dynamicUsage!;
    console.log(`  ${fmt(usage.allocated)} labels on one node allocated at ${fmt(fillRate)} labels/s`);
    console.log(`  service RSS: ${before.rss.toFixed(0)} MiB before, ${after.rss.toFixed(0)} MiB after (peak ${after.hwm.toFixed(0)} MiB)`);
  } finally {
    client.close();
    await proc.stop();
    await db.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
