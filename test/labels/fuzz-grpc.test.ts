// Schema-driven fuzzing of LabelsService (issue 13 §5): every method with
// requests generated from labels.proto, well shaped, mutated on the wire and
// random; never INTERNAL or UNKNOWN, no long echo, still healthy after each.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { commonSettings, databaseSettings, loadSettings } from '../../services/common/config.js';
import { LabelKind, LabelsServiceService } from '../../services/common/gen/proto/l3vpn/v1/labels.js';
import { createLogger } from '../../services/common/logger.js';
import type { RunningService } from '../../services/common/service.js';
import { labelsSettings, startLabels } from '../../services/labels/main.js';
import { labelsServiceCredentials, noCredentials } from '../support/fuzz/grpc-credentials.js';
import { fuzzGrpcService, summary, type GrpcFuzzTarget } from '../support/fuzz/grpc-fuzz.js';
import { fuzzPlan } from '../support/fuzz/plan.js';
import { serviceAuthEnv, testSecret } from '../support/service-auth.js';
import { labelsClient } from '../support/labels.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';

/** Whether LabelsService refuses callers without credentials (it will once service authentication lands; then set true). */

describe('LabelsService fuzz', () => {
  let db: TestDatabase;
  let svc: RunningService;
  let target: GrpcFuzzTarget;

  before(async () => {
    db = await createTestDatabase('labels_fuzz');
    const settings = loadSettings([...commonSettings, ...databaseSettings, ...labelsSettings], {
      env: { DATABASE_URL: db.url, LABELS_LISTEN: '127.0.0.1:0', DATABASE_MIGRATE: 'false', ...serviceAuthEnv() },
    });
    svc = await startLabels(settings, createLogger('labels-fuzz', process.env.TEST_LOG_LEVEL ?? 'silent'));
    const address = `127.0.0.1:${svc.grpcPort}`;
    const client = labelsClient(address);
    try {
      await client.allocateLabel({ node: 'pe1', owner: 'vrf:acme', kind: LabelKind.LABEL_KIND_VRF });
      await client.allocateRouteDistinguisher({ owner: 'vpn:acme', administrator: '65000', value: '' });
      await client.allocateRouteTarget({ owner: 'vpn:acme', administrator: '65000', value: '' });
    } finally {
      client.close();
    }
    target = {
      service: 'l3vpn.v1.LabelsService',
      address,
      definition: LabelsServiceService,
      credentials: labelsServiceCredentials(testSecret('service:vpn')),
      hints: {
        node: ['pe1', 'pe2'],
        owner: ['vrf:acme', 'vpn:acme', 'x'],
        owners: ['vrf:acme', 'x'],
        owner_prefix: ['vrf:', ''],
        administrator: ['65000', '192.0.2.1', '4200000000', ''],
        value: ['', '65000:1', '1'],
      },
    };
  });
  after(async () => {
    await svc?.stop(1000);
    await db?.drop();
  });

  test('no request is answered INTERNAL or UNKNOWN, none echoes its input, the service stays healthy', async () => {
    const plan = fuzzPlan('LabelsService', { runsPerOperation: 80, budgetMs: 40_000 });
    const seen = await fuzzGrpcService(target, plan);
    console.log(`[fuzz] LabelsService answers in ${plan.elapsedMs()} ms:\n${summary(seen)}`);
    assert.ok(seen.size > 0);
  });

  test('without credentials', async () => {
    const plan = fuzzPlan('LabelsService unauthenticated', { runsPerOperation: 5, budgetMs: 10_000 });
    await fuzzGrpcService({ ...target, credentials: noCredentials() }, plan, { shapedOnly: true, expect: status.UNAUTHENTICATED });
  });
});
