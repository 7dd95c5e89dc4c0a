// Two replicas of the labels service (two processes of the real binary) on
// one database, allocating at the same time for overlapping owners: every
// owner must get one value, the same from both, and no value two owners.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LabelKind } from '../../services/common/gen/proto/l3vpn/v1/labels.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { labelsClient, startLabelsProcess, type LabelsClient, type LabelsProcess } from '../support/labels.js';

let db: TestDatabase;
const replicas: Array<{ proc: LabelsProcess; client: LabelsClient }> = [];

before(async () => {
  db = await createTestDatabase('labels_replicas');
  for (let i = 0; i < 2; i++) {
    const proc = await startLabelsProcess({ DATABASE_URL: db.url, DATABASE_MIGRATE: 'false' });
    replicas.push({ proc, client: labelsClient(proc.address) });
  }
});

after(async () => {
  for (const r of replicas) {
    r.client.close();
    await r.proc.stop();
  }
  await db?.drop();
});

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function inParallel<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

test('two processes allocating at once: the same owner gets the same label from both, no label twice', async () => {
  const nodes = ['pe1', 'pe2'];
  const shared = Array.from({ length: 3000 }, (_, i) => `vrf:shared-${i}`);
  const results: Array<Map<string, number>> = [new Map(), new Map()];
  await Promise.all(
    replicas.map(async ({ client }, r) => {
      const own = Array.from({ length: 1500 }, (_, i) => `vrf:r${r}-${i}`);
      const work = shuffled([...shared, ...own], r + 1).flatMap((owner) => nodes.map((node) => ({ node, owner })));
      // Singles and batches mixed, as a busy provisioning system would send them.
      const batches = [];
      for (let i = 0; i < work.length; i += 50) batches.push(work.slice(i, i + 50));
      await inParallel(batches, 16, async (batch) => {
        if (batch.length % 2 === 0 && batch[0]!.owner.endsWith('7')) {
          for (const node of nodes) {
            const mine = batch.filter((w) => w.node === node);
            const res = await client.allocateLabels({ node, requests: mine.map((w) => ({ owner: w.owner, kind: LabelKind.LABEL_KIND_VRF })) });
            res.labels.forEach((l) => results[r]!.set(`${node}/${l.owner}`, l.label));
          }
        } else {
          await Promise.all(
            batch.map(async (w) => {
              const res = await client.allocateLabel({ node: w.node, owner: w.owner, kind: LabelKind.LABEL_KIND_VRF });
              results[r]!.set(`${w.node}/${w.owner}`, res.label!.label);
            }),
          );
        }
      });
    }),
  );

  for (const owner of shared) {
    for (const node of nodes) {
      const key = `${node}/${owner}`;
      assert.equal(results[0]!.get(key), results[1]!.get(key), `${key} got different labels from the two replicas`);
    }
  }
  for (const node of nodes) {
    const byLabel = new Map<number, string>();
    for (const m of results) {
      for (const [key, label] of m) {
        if (!key.startsWith(`${node}/`)) continue;
        const owner = byLabel.get(label);
        assert.ok(owner === undefined || owner === key, `label ${label} on ${node} given to ${owner} and ${key}`);
        byLabel.set(label, key);
      }
    }
    assert.equal(byLabel.size, shared.length + 2 * 1500, `every owner on ${node} holds exactly one label`);
  }

  // What the database holds agrees: one row per owner per node.
  const [a] = replicas;
  for (const node of nodes) {
    const spaces = await a!.client.getLabelSpaces({ node });
    assert.equal(spaces.spaces!.dynamicUsage!.allocated, shared.length + 2 * 1500);
  }
});

test('two processes allocating route distinguishers and targets from one pool at once: no duplicates', async () => {
  const owners = Array.from({ length: 600 }, (_, i) => `vrf:${i}`);
  const got: Array<Map<string, string>> = [new Map(), new Map()];
  await Promise.all(
    replicas.map(({ client }, r) =>
      inParallel(shuffled(owners, 7 + r), 24, async (owner) => {
        const rd = await client.allocateRouteDistinguisher({ owner, administrator: '65000', value: '' });
        const rt = await client.allocateRouteTarget({ owner, administrator: '4200000001', value: '' });
        got[r]!.set(owner, `${rd.routeDistinguisher!.value} ${rt.routeTarget!.value}`);
      }),
    ),
  );
  for (const owner of owners) assert.equal(got[0]!.get(owner), got[1]!.get(owner));
  const rds = new Set([...got[0]!.values()].map((v) => v.split(' ')[0]));
  const rts = new Set([...got[0]!.values()].map((v) => v.split(' ')[1]));
  assert.equal(rds.size, owners.length);
  assert.equal(rts.size, owners.length);
});
