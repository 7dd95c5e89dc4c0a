// The labels service through its gRPC API, against a real PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import pg from 'pg';
import { poolConfigFromUrl } from '../../services/common/db/pg-config.js';
import { HealthClient, HealthCheckResponse_ServingStatus } from '../support/health.js';
import { commonSettings, databaseSettings, loadSettings } from '../../services/common/config.js';
import { AllocationState, LabelKind, PoolType } from '../../services/common/gen/proto/l3vpn/v1/labels.js';
import { createLogger } from '../../services/common/logger.js';
import type { RunningService } from '../../services/common/service.js';
import { labelsSettings, startLabels } from '../../services/labels/main.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { labelsClient, type LabelsClient } from '../support/labels.js';
import { serviceAuthEnv } from '../support/service-auth.js';
import { eventually } from '../support/eventually.js';

const VRF = LabelKind.LABEL_KIND_VRF;
const { Client } = pg;

async function rejects(p: Promise<unknown>, code: status, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: ServiceError) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.details}`);
    assert.match(err.details, message);
    return true;
  });
}

async function start(db: TestDatabase, env: Record<string, string> = {}): Promise<{ svc: RunningService; client: LabelsClient }> {
  const settings = loadSettings([...commonSettings, ...databaseSettings, ...labelsSettings], {
    env: { DATABASE_URL: db.url, LABELS_LISTEN: '127.0.0.1:0', DATABASE_MIGRATE: 'false', ...serviceAuthEnv(), ...env },
  });
  const svc = await startLabels(settings, createLogger('labels-test', 'warn'));
  return { svc, client: labelsClient(`127.0.0.1:${svc.grpcPort}`) };
}

describe('labels service', () => {
  let db: TestDatabase;
  let svc: RunningService;
  let client: LabelsClient;

  before(async () => {
    db = await createTestDatabase('labels_api');
    ({ svc, client } = await start(db, { LABELS_HOLD_DOWN_SECONDS: '1' }));
  });
  after(async () => {
    client?.close();
    await svc?.stop(1000);
    await db?.drop();
  });

  test('reports SERVING through the standard gRPC health service', async () => {
    const health = new HealthClient(`127.0.0.1:${svc.grpcPort}`);
    try {
      assert.equal(await health.check('l3vpn.v1.LabelsService'), HealthCheckResponse_ServingStatus.SERVING);
      assert.equal(await health.check(''), HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      health.close();
    }
  });

  test('allocation is idempotent by owner and never hands out 0-15', async () => {
    const a = await client.allocateLabel({ node: 'pe1', owner: 'vrf:acme', kind: VRF });
    const again = await client.allocateLabel({ node: 'pe1', owner: 'vrf:acme', kind: VRF });
    const b = await client.allocateLabel({ node: 'pe1', owner: 'vrf:globex', kind: VRF });
    assert.equal(a.label!.label, 16);
    assert.equal(again.label!.label, a.label!.label);
    assert.notEqual(b.label!.label, a.label!.label);
    assert.equal(a.label!.state, AllocationState.ALLOCATION_STATE_ALLOCATED);
    // Another node has its own space.
    const other = await client.allocateLabel({ node: 'pe2', owner: 'vrf:acme', kind: VRF });
    assert.equal(other.label!.label, 16);
    const got = await client.getLabel({ node: 'pe1', key: { $case: 'label', value: b.label!.label } });
    assert.equal(got.label!.owner, 'vrf:globex');
  });

  test('bad input is INVALID_ARGUMENT naming the field', async () => {
    await rejects(client.allocateLabel({ node: '', owner: 'x', kind: VRF }), status.INVALID_ARGUMENT, /^node: /);
    await rejects(client.allocateLabel({ node: 'pe1', owner: '', kind: VRF }), status.INVALID_ARGUMENT, /^owner: /);
    await rejects(client.allocateLabel({ node: 'pe1', owner: 'x', kind: LabelKind.LABEL_KIND_UNSPECIFIED }), status.INVALID_ARGUMENT, /^kind: /);
    await rejects(client.allocateLabel({ node: 'pe1', owner: 'x', kind: VRF, sidIndex: 3 }), status.INVALID_ARGUMENT, /sid_index/);
    await rejects(client.allocateLabel({ node: 'bad node!', owner: 'x', kind: VRF }), status.INVALID_ARGUMENT, /^node: /);
    await rejects(
      client.configureLabelSpaces({ node: 'pe9', dynamicRange: { min: 3, max: 100 } }),
      status.INVALID_ARGUMENT,
      /^dynamic_range: .*reserved/,
    );
    await rejects(
      client.configureLabelSpaces({ node: 'pe9', dynamicRange: { min: 16, max: 1048576 } }),
      status.INVALID_ARGUMENT,
      /^dynamic_range: /,
    );
    await rejects(
      client.allocateLabels({ node: 'pe1', requests: [{ owner: 'd', kind: VRF }, { owner: 'd', kind: VRF }] }),
      status.INVALID_ARGUMENT,
      /^requests\[1\]\.owner: /,
    );
    await rejects(client.allocateRouteDistinguisher({ owner: 'x', administrator: '65000x', value: '' }), status.INVALID_ARGUMENT, /^administrator: /);
    await rejects(client.allocateRouteTarget({ owner: 'x', administrator: '', value: '70000:70000' }), status.INVALID_ARGUMENT, /^value: /);
    await rejects(client.listLabels({ node: 'pe1', kind: 0, state: 0, ownerPrefix: '', pageSize: 0, pageToken: 'garbage' }), status.INVALID_ARGUMENT, /^page_token: /);
  });

  test("reading an unknown node's spaces shows the defaults and creates nothing", async () => {
    const spaces = (await client.getLabelSpaces({ node: 'pe-never' })).spaces!;
    assert.deepEqual(spaces.dynamicRange, { min: 16, max: 1048575 });
    assert.deepEqual(spaces.srgb, { base: 16000, size: 8000 });
    assert.deepEqual(spaces.dynamicUsage, { size: 1048560 - 8000, allocated: 0, held: 0, free: 1048560 - 8000 });
    const pg = new Client({ ...poolConfigFromUrl(db.url), options: undefined });
    await pg.connect();
    try {
      const { rows } = await pg.query("SELECT count(*)::int AS n FROM pool WHERE scope = 'pe-never'");
      assert.equal(rows[0].n, 0);
    } finally {
      await pg.end();
    }
  });

  test('an owner asking for another kind is refused', async () => {
    await client.allocateLabel({ node: 'pe1', owner: 'ce:1', kind: LabelKind.LABEL_KIND_CE });
    await rejects(client.allocateLabel({ node: 'pe1', owner: 'ce:1', kind: VRF }), status.FAILED_PRECONDITION, /as ce, not vrf/);
  });

  test('dynamic labels step around the SRGB; node SIDs are SRGB base + index', async () => {
    const spaces = await client.configureLabelSpaces({ node: 'pe3', dynamicRange: { min: 16, max: 30 }, srgb: { base: 20, size: 5 } });
    assert.deepEqual(spaces.spaces!.dynamicUsage, { size: 10, allocated: 0, held: 0, free: 10 });
    const res = await client.allocateLabels({
      node: 'pe3',
      requests: Array.from({ length: 10 }, (_, i) => ({ owner: `vrf:${i}`, kind: VRF })),
    });
    assert.deepEqual(
      res.labels.map((l) => l.label),
      [16, 17, 18, 19, 25, 26, 27, 28, 29, 30],
    );
    await rejects(client.allocateLabel({ node: 'pe3', owner: 'vrf:x', kind: VRF }), status.RESOURCE_EXHAUSTED, /label space pe3\/dynamic \(16-30\) is exhausted/);
    const sid = await client.allocateLabel({ node: 'pe3', owner: 'sid:pe3', kind: LabelKind.LABEL_KIND_NODE_SID, sidIndex: 3 });
    assert.equal(sid.label!.label, 23);
    assert.equal(sid.label!.sidIndex, 3);
    const next = await client.allocateLabel({ node: 'pe3', owner: 'sid:other', kind: LabelKind.LABEL_KIND_NODE_SID });
    assert.equal(next.label!.label, 20);
    await rejects(
      client.allocateLabel({ node: 'pe3', owner: 'sid:thief', kind: LabelKind.LABEL_KIND_NODE_SID, sidIndex: 3 }),
      status.ALREADY_EXISTS,
      /held by 'sid:pe3'/,
    );
    await rejects(
      client.allocateLabel({ node: 'pe3', owner: 'sid:far', kind: LabelKind.LABEL_KIND_NODE_SID, sidIndex: 5 }),
      status.OUT_OF_RANGE,
      /outside SRGB of pe3/,
    );
    // Moving the SRGB over labels in use is refused.
    await rejects(client.configureLabelSpaces({ node: 'pe3', srgb: { base: 16, size: 5 } }), status.FAILED_PRECONDITION, /release them first/);
  });

  test('a released label is held down, comes back after the hold-down without a restart, and usage shows it', async () => {
    await client.configureLabelSpaces({ node: 'pe4', dynamicRange: { min: 100, max: 101 }, holdDownSeconds: 1 });
    await client.allocateLabel({ node: 'pe4', owner: 'a', kind: VRF });
    const b = await client.allocateLabel({ node: 'pe4', owner: 'b', kind: VRF });
    const released = await client.releaseLabel({ node: 'pe4', owner: 'b' });
    assert.equal(released.label!.state, AllocationState.ALLOCATION_STATE_HELD);
    assert.ok(released.label!.reusableAt! > new Date());
    // Releasing again, or releasing an unknown owner, is a no-op.
    assert.equal((await client.releaseLabel({ node: 'pe4', owner: 'nobody' })).label, undefined);
    const usage = (await client.getLabelSpaces({ node: 'pe4' })).spaces!.dynamicUsage!;
    assert.deepEqual(usage, { size: 2, allocated: 1, held: 1, free: 0 });
    await rejects(client.allocateLabel({ node: 'pe4', owner: 'c', kind: VRF }), status.RESOURCE_EXHAUSTED, /pe4/);
    // The labels service's clock ends the hold-down: its usage says when.
    await eventually('the hold-down to end', async () => (await client.getLabelSpaces({ node: 'pe4' })).spaces!.dynamicUsage!.free === 1);
    const c = await client.allocateLabel({ node: 'pe4', owner: 'c', kind: VRF });
    assert.equal(c.label!.label, b.label!.label, 'the freed label comes back after the hold-down');
    const held = await client.listLabels({ node: 'pe4', kind: 0, state: AllocationState.ALLOCATION_STATE_HELD, ownerPrefix: '', pageSize: 0, pageToken: '' });
    assert.equal(held.labels.length, 0);
  });

  test('an owner that re-allocates during its hold-down gets its own label back', async () => {
    const a = await client.allocateLabel({ node: 'pe5', owner: 'vrf:back', kind: VRF });
    await client.releaseLabel({ node: 'pe5', owner: 'vrf:back' });
    const again = await client.allocateLabel({ node: 'pe5', owner: 'vrf:back', kind: VRF });
    assert.equal(again.label!.label, a.label!.label);
    assert.equal(again.label!.state, AllocationState.ALLOCATION_STATE_ALLOCATED);
  });

  test('10,000 VRF labels on one node, one call each, all distinct; listed page by page', async () => {
    const node = 'pe-big';
    const owners = Array.from({ length: 10_000 }, (_, i) => `vrf:customer-${i}`);
    const labels = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < owners.length) {
          const owner = owners[next++]!;
          const r = await client.allocateLabel({ node, owner, kind: VRF });
          labels.set(owner, r.label!.label);
        }
      }),
    );
    const values = [...labels.values()];
    assert.equal(new Set(values).size, 10_000);
    assert.ok(values.every((l) => l >= 16 && l <= 1048575 && (l < 16000 || l > 23999)));
    const usage = (await client.getLabelSpaces({ node })).spaces!.dynamicUsage!;
    assert.equal(usage.allocated, 10_000);
    let token = '';
    let listed = 0;
    do {
      const page = await client.listLabels({ node, kind: VRF, state: 0, ownerPrefix: '', pageSize: 3000, pageToken: token });
      for (const l of page.labels) assert.equal(labels.get(l.owner), l.label);
      listed += page.labels.length;
      token = page.nextPageToken;
    } while (token);
    assert.equal(listed, 10_000);
    // Asking again for all of them in one batch changes nothing.
    const batch = await client.allocateLabels({ node, requests: owners.map((owner) => ({ owner, kind: VRF })) });
    assert.deepEqual(batch.labels.map((l) => l.label), owners.map((o) => labels.get(o)));
  });

  test('route distinguishers of types 0, 1 and 2, idempotent, given values checked', async () => {
    const rd0 = await client.allocateRouteDistinguisher({ owner: 'vrf:acme:pe1', administrator: '65000', value: '' });
    assert.equal(rd0.routeDistinguisher!.value, '65000:1');
    assert.equal(rd0.routeDistinguisher!.type, 0);
    const again = await client.allocateRouteDistinguisher({ owner: 'vrf:acme:pe1', administrator: '65000', value: '' });
    assert.equal(again.routeDistinguisher!.value, '65000:1');
    const rd1 = await client.allocateRouteDistinguisher({ owner: 'vrf:acme:pe2', administrator: '192.0.2.1', value: '' });
    assert.equal(rd1.routeDistinguisher!.value, '192.0.2.1:1');
    assert.equal(rd1.routeDistinguisher!.type, 1);
    const rd2 = await client.allocateRouteDistinguisher({ owner: 'vrf:acme:pe3', administrator: '4200000000', value: '' });
    assert.equal(rd2.routeDistinguisher!.value, '4200000000:1');
    assert.equal(rd2.routeDistinguisher!.type, 2);
    const given = await client.allocateRouteDistinguisher({ owner: 'vrf:given', administrator: '', value: '65000:7' });
    assert.equal(given.routeDistinguisher!.value, '65000:7');
    await rejects(
      client.allocateRouteDistinguisher({ owner: 'vrf:thief', administrator: '', value: '65000:7' }),
      status.ALREADY_EXISTS,
      /held by 'vrf:given'/,
    );
    // The pool steps over the given value.
    const seq = [];
    for (let i = 0; i < 7; i++) seq.push((await client.allocateRouteDistinguisher({ owner: `seq:${i}`, administrator: '65000', value: '' })).routeDistinguisher!.value);
    assert.deepEqual(seq, ['65000:2', '65000:3', '65000:4', '65000:5', '65000:6', '65000:8', '65000:9']);
    const listed = await client.listRouteDistinguishers({ administrator: '65000', ownerPrefix: 'seq:', pageSize: 0, pageToken: '' });
    assert.equal(listed.routeDistinguishers.length, 7);
  });

  test('route targets from a per-AS pool; a small pool runs out with RESOURCE_EXHAUSTED naming it; release holds down', async () => {
    const pool = await client.configurePool({ type: PoolType.POOL_TYPE_ROUTE_TARGET, administrator: '64512', min: 100, max: 101, holdDownSeconds: 60 });
    assert.deepEqual(pool.usage, { size: 2, allocated: 0, held: 0, free: 2 });
    const a = await client.allocateRouteTarget({ owner: 'vpn:a', administrator: '64512', value: '' });
    const b = await client.allocateRouteTarget({ owner: 'vpn:b', administrator: '64512', value: '' });
    assert.deepEqual([a.routeTarget!.value, b.routeTarget!.value], ['64512:100', '64512:101']);
    await rejects(client.allocateRouteTarget({ owner: 'vpn:c', administrator: '64512', value: '' }), status.RESOURCE_EXHAUSTED, /route target pool of 64512 \(100-101\)/);
    const rel = await client.releaseRouteTarget({ owner: 'vpn:a', administrator: '' });
    assert.equal(rel.routeTarget!.state, AllocationState.ALLOCATION_STATE_HELD);
    await rejects(client.allocateRouteTarget({ owner: 'vpn:c', administrator: '', value: '64512:100' }), status.ALREADY_EXISTS, /held down until/);
  });

  test('filters are checked like the fields they filter (found by the fuzzer): NUL in owner_prefix, an unknown state', async () => {
    await rejects(client.listRouteDistinguishers({ administrator: '', ownerPrefix: 'vpn\u0000', pageSize: 0, pageToken: '' }), status.INVALID_ARGUMENT, /owner_prefix/);
    await rejects(client.listRouteTargets({ administrator: '', ownerPrefix: 'x\u0007', pageSize: 0, pageToken: '' }), status.INVALID_ARGUMENT, /owner_prefix/);
    await rejects(client.listLabels({ node: 'pe1', kind: 0, state: 99 as AllocationState, ownerPrefix: '', pageSize: 0, pageToken: '' }), status.INVALID_ARGUMENT, /^state: /);
    await rejects(client.listLabels({ node: 'pe1', kind: 0, state: 0, ownerPrefix: 'a\u0000', pageSize: 0, pageToken: '' }), status.INVALID_ARGUMENT, /owner_prefix/);
    assert.ok((await client.listRouteDistinguishers({ administrator: '', ownerPrefix: 'vpn:', pageSize: 0, pageToken: '' })).routeDistinguishers);
  });

  test('errors quote a long node id, owner or administrator, never the whole of it', async () => {
    const node = 'n'.repeat(250);
    const owner = 'o'.repeat(500);
    const errors: string[] = [];
    const details = (p: Promise<unknown>) => p.then(() => assert.fail('accepted'), (err: ServiceError) => errors.push(err.details));
    await details(client.getLabel({ node, key: { $case: 'owner', value: owner } }));
    await details(client.allocateRouteDistinguisher({ owner: 'vpn:long', administrator: '9'.repeat(300), value: '' }));
    await details(client.allocateRouteTarget({ owner: 'vpn:long', administrator: '', value: `65000:${'1'.repeat(300)}` }));
    assert.equal(errors.length, 3);
    for (const e of errors) assert.ok(!/n{131}|o{131}|9{131}|1{131}/.test(e), e);
  });

  test('allocations survive a restart of the service', async () => {
    const before = await client.allocateLabel({ node: 'pe-restart', owner: 'vrf:keep', kind: VRF });
    const rd = await client.allocateRouteDistinguisher({ owner: 'vrf:keep', administrator: '65001', value: '' });
    const second = await start(db);
    try {
      const after = await second.client.allocateLabel({ node: 'pe-restart', owner: 'vrf:keep', kind: VRF });
      assert.equal(after.label!.label, before.label!.label);
      const rdAfter = await second.client.allocateRouteDistinguisher({ owner: 'vrf:keep', administrator: '65001', value: '' });
      assert.equal(rdAfter.routeDistinguisher!.value, rd.routeDistinguisher!.value);
    } finally {
      second.client.close();
      await second.svc.stop(1000);
    }
  });
});
