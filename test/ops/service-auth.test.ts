// Caller authentication and per-method authorization on the labels and bgp
// gRPC servers, over real gRPC: every method of each generated service
// definition without a credential or with a wrong secret is UNAUTHENTICATED;
// an operator gets exactly the methods its policy grants (the others
// PERMISSION_DENIED); service:vpn works; the same with client certificates
// (URI SAN spiffe://l3vpn/...), under tls.client-auth require and request;
// health stays open; refusals count as security events.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Client, credentials, Metadata, status, type ChannelCredentials, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { commonSettings, databaseSettings, loadSettings } from '../../services/common/config.js';
import { BgpServiceService } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { AllocationState, LabelKind, LabelsServiceService, type ListLabelsRequest } from '../../services/common/gen/proto/l3vpn/v1/labels.js';
import { allows, type AccessPolicy } from '../../services/common/grpc/access-control.js';
import { callerOptions, type CallerCredentials } from '../../services/common/grpc/caller.js';
import { createLogger } from '../../services/common/logger.js';
import type { RunningService } from '../../services/common/service.js';
import { channelCredentials } from '../../services/common/tls.js';
import { bgpAccessPolicy } from '../../services/bgp/access-policy.js';
import { labelsAccessPolicy } from '../../services/labels/access-policy.js';
import { labelsSettings, startLabels } from '../../services/labels/main.js';
import { startTestBgp, type StartedBgp } from '../bgp/support.js';
import { labelsClient } from '../support/labels.js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../support/health.js';
import { callerAs, serviceAuthEnv } from '../support/service-auth.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { find, parseExposition } from './exposition.js';
import { createTestPki, type Issued, type TestPki } from './pki.js';

const log = createLogger('service-auth-test', process.env.TEST_LOG_LEVEL ?? 'silent');
const REFUSALS: ReadonlySet<number> = new Set([status.UNAUTHENTICATED, status.PERMISSION_DENIED]);

/**
 * Calls every method of `definition` once, with an empty request message
 * (valid protobuf for any message type), and returns the status of each by
 * its key. Streams are read until their status; a deadline ends the watches.
 */
async function callEveryMethod(address: string, definition: ServiceDefinition, caller: CallerCredentials): Promise<Map<string, number>> {
  const client = new Client(address, caller.channel, callerOptions(caller));
  const raw = (b: Buffer) => b;
  try {
    const codes = await Promise.all(
      Object.entries(definition).map(async ([key, m]) => {
        const deadline = Date.now() + 3000;
        const code = await new Promise<number>((resolve) => {
          if (!m.responseStream) {
            client.makeUnaryRequest(m.path, raw, raw, Buffer.alloc(0), new Metadata(), { deadline }, (err: ServiceError | null) => resolve(err ? err.code : status.OK));
            return;
          }
          const stream = client.makeServerStreamRequest(m.path, raw, raw, Buffer.alloc(0), new Metadata(), { deadline });
          stream.on('data', () => undefined);
          stream.on('status', (s: { code: number }) => resolve(s.code));
          stream.on('error', () => undefined);
        });
        return [key, code] as const;
      }),
    );
    return new Map(codes);
  } finally {
    client.close();
  }
}

/** Asserts every method's status against the policy for `principal`: refused exactly where the policy says so. */
function assertFollowsPolicy(codes: Map<string, number>, policy: AccessPolicy, principal: 'operator:tester' | 'service:vpn'): void {
  for (const [key, code] of codes) {
    if (allows(policy[key], principal)) assert.ok(!REFUSALS.has(code), `${principal} ${key}: allowed, got ${status[code]}`);
    else assert.equal(status[code], 'PERMISSION_DENIED', `${principal} ${key}`);
  }
}

function assertAll(codes: Map<string, number>, expected: keyof typeof status, what: string): void {
  assert.ok(codes.size > 0);
  for (const [key, code] of codes) assert.equal(status[code], expected, `${what}: ${key}`);
}

/** l3vpn_security_events_total with these labels (0 before the first such event). */
async function securityEventCount(registry: Registry | undefined, labels: Record<string, string>): Promise<number> {
  assert.ok(registry, 'the service has a metrics registry');
  return find(parseExposition(await registry.metrics()), 'l3vpn_security_events_total', labels).reduce((sum, s) => sum + s.value, 0);
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return status[(err as ServiceError).code] ?? String((err as ServiceError).code);
  }
}

/** A ListLabels request for a node's labels of any kind and state. */
const listOf = (node: string, pageSize = 10): ListLabelsRequest => ({ node, kind: LabelKind.LABEL_KIND_UNSPECIFIED, state: AllocationState.ALLOCATION_STATE_UNSPECIFIED, ownerPrefix: '', pageSize, pageToken: '' });

const plaintext = (secret?: string): CallerCredentials => ({ channel: credentials.createInsecure(), ...(secret ? { secret } : {}) });

describe('labels and bgp authenticate and authorize every call (secrets, plaintext)', () => {
  let db: TestDatabase;
  let labels: RunningService;
  let bgp: StartedBgp;
  let labelsAt: string;
  let bgpAt: string;

  before(async () => {
    db = await createTestDatabase('service_auth');
    labels = await startLabels(
      loadSettings([...commonSettings, ...databaseSettings, ...labelsSettings], { env: { DATABASE_URL: db.url, LABELS_LISTEN: '127.0.0.1:0', DATABASE_MIGRATE: 'false', ...serviceAuthEnv() } }),
      log,
    );
    bgp = await startTestBgp({ BGP_PORT: '0', BGP_LISTEN_ADDRESS: '127.0.0.1' });
    labelsAt = `127.0.0.1:${labels.grpcPort}`;
    bgpAt = `127.0.0.1:${bgp.svc.grpcPort}`;
  });
  after(async () => {
    await bgp?.stop();
    await labels?.stop(1000);
    await db?.drop();
  });

  test('without a credential, every method of both services is UNAUTHENTICATED, and says what to send', async () => {
    const before = await securityEventCount(labels.metrics, { event: 'authentication-failed', reason: 'no-credential' });
    assertAll(await callEveryMethod(labelsAt, LabelsServiceService, plaintext()), 'UNAUTHENTICATED', 'labels');
    assertAll(await callEveryMethod(bgpAt, BgpServiceService, plaintext()), 'UNAUTHENTICATED', 'bgp');
    const after = await securityEventCount(labels.metrics, { event: 'authentication-failed', reason: 'no-credential' });
    assert.equal(after - before, Object.keys(LabelsServiceService).length, 'one security event per refused call');
    const client = labelsClient(labelsAt, plaintext());
    try {
      await assert.rejects(client.listLabels(listOf('pe1', 1)), (err: ServiceError) => {
        assert.match(err.details, /authorization: Bearer <secret>/);
        assert.match(err.details, /spiffe:\/\/l3vpn\/service\/<name>/);
        return true;
      });
    } finally {
      client.close();
    }
  });

  test('a wrong secret is UNAUTHENTICATED on every method, and is never echoed', async () => {
    const wrong = 'x'.repeat(43);
    assertAll(await callEveryMethod(labelsAt, LabelsServiceService, plaintext(wrong)), 'UNAUTHENTICATED', 'labels');
    assertAll(await callEveryMethod(bgpAt, BgpServiceService, plaintext(wrong)), 'UNAUTHENTICATED', 'bgp');
    const client = labelsClient(labelsAt, plaintext(wrong));
    try {
      await assert.rejects(client.getLabelSpaces({ node: 'pe1' }), (err: ServiceError) => !err.details.includes(wrong) && err.code === status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
    assert.ok((await securityEventCount(bgp.svc.metrics, { event: 'authentication-failed', reason: 'unknown-credential' })) >= Object.keys(BgpServiceService).length);
  });

  test('an operator gets exactly the reads its policy grants; everything else is PERMISSION_DENIED', async () => {
    const before = await securityEventCount(labels.metrics, { event: 'permission-denied', reason: 'not-allowed' });
    assertFollowsPolicy(await callEveryMethod(labelsAt, LabelsServiceService, callerAs('operator:tester')), labelsAccessPolicy, 'operator:tester');
    assertFollowsPolicy(await callEveryMethod(bgpAt, BgpServiceService, callerAs('operator:tester')), bgpAccessPolicy, 'operator:tester');
    assert.ok((await securityEventCount(labels.metrics, { event: 'permission-denied', reason: 'not-allowed' })) > before);
  });

  test('service:vpn allocates; the operator then lists what it allocated but cannot allocate or release', async () => {
    const vpn = labelsClient(labelsAt, callerAs('service:vpn'));
    const operator = labelsClient(labelsAt, callerAs('operator:tester'));
    try {
      const { label } = await vpn.allocateLabel({ node: 'pe9', owner: 'vrf:acme', kind: LabelKind.LABEL_KIND_VRF });
      assert.ok(label!.label >= 16);
      const listed = await operator.listLabels(listOf('pe9', 10));
      assert.deepEqual(listed.labels.map((l) => [l.owner, l.label]), [['vrf:acme', label!.label]]);
      assert.equal(await code(operator.allocateLabel({ node: 'pe9', owner: 'vrf:evil', kind: LabelKind.LABEL_KIND_VRF })), 'PERMISSION_DENIED');
      assert.equal(await code(operator.releaseLabel({ node: 'pe9', owner: 'vrf:acme' })), 'PERMISSION_DENIED');
      assert.equal((await operator.getLabel({ node: 'pe9', key: { $case: 'owner', value: 'vrf:acme' } })).label!.label, label!.label, 'still allocated');
    } finally {
      vpn.close();
      operator.close();
    }
  });

  test('service:vpn is granted every bgp method by policy, and its calls get through', async () => {
    assertFollowsPolicy(await callEveryMethod(bgpAt, BgpServiceService, callerAs('service:vpn')), bgpAccessPolicy, 'service:vpn');
    assert.equal((await bgp.client.getGlobal({})).routerId.length > 0, true);
  });

  test('grpc.health.v1 answers without a credential', async () => {
    for (const [at, name] of [
      [labelsAt, 'l3vpn.v1.LabelsService'],
      [bgpAt, 'l3vpn.v1.BgpService'],
    ] as const) {
      const health = new HealthClient(at);
      try {
        assert.equal(await health.check(name), HealthCheckResponse_ServingStatus.SERVING);
      } finally {
        health.close();
      }
    }
  });
});

describe('labels and bgp take the principal from a client certificate (mutual TLS)', () => {
  let pki: TestPki;
  let server: Issued;
  let vpnCert: Issued;
  let operatorCert: Issued;
  let agentCert: Issued;
  let rogue: Issued;
  let db: TestDatabase;
  let labels: RunningService;
  let bgp: StartedBgp;

  const tls = (client?: Issued): ChannelCredentials =>
    channelCredentials({ ca: readFileSync(pki.ca), ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}) });
  const tlsEnv = (clientAuth: string) => ({ TLS_CERT_FILE: server.cert, TLS_KEY_FILE: server.key, TLS_CA_FILE: pki.ca, TLS_CLIENT_AUTH: clientAuth });

  before(async () => {
    pki = createTestPki();
    server = pki.issue('server', 'localhost', ['DNS:localhost', 'IP:127.0.0.1']);
    vpnCert = pki.issue('vpn', 'vpn', ['DNS:vpn', 'URI:spiffe://l3vpn/service/vpn']);
    operatorCert = pki.issue('operator', 'alice', ['URI:spiffe://l3vpn/operator/alice']);
    agentCert = pki.issue('agent', 'pe1');
    rogue = pki.selfSigned('rogue', 'vpn');
    db = await createTestDatabase('service_auth_tls');
    // No callers file: certificates are the only way in.
    labels = await startLabels(
      loadSettings([...commonSettings, ...databaseSettings, ...labelsSettings], {
        env: { DATABASE_URL: db.url, LABELS_LISTEN: '127.0.0.1:0', DATABASE_MIGRATE: 'false', ...tlsEnv('require') },
      }),
      log,
    );
    // tls.client-auth request: the handshake takes any certificate, so the server's own check must refuse the self-signed one.
    bgp = await startTestBgp({ BGP_PORT: '0', BGP_LISTEN_ADDRESS: '127.0.0.1', AUTH_CALLERS_FILE: '', ...tlsEnv('request') });
  });
  after(async () => {
    await bgp?.stop();
    await labels?.stop(1000);
    await db?.drop();
    pki?.remove();
  });

  const labelsAs = (cert: Issued) => labelsClient(`127.0.0.1:${labels.grpcPort}`, { channel: tls(cert) });

  test('a certificate naming spiffe://l3vpn/service/vpn allocates', async () => {
    const client = labelsAs(vpnCert);
    try {
      const { label } = await client.allocateLabel({ node: 'pe1', owner: 'vrf:tls', kind: LabelKind.LABEL_KIND_VRF });
      assert.ok(label!.label >= 16);
    } finally {
      client.close();
    }
  });

  test("an operator's certificate lists but cannot allocate; a certificate naming no principal is UNAUTHENTICATED", async () => {
    const operator = labelsAs(operatorCert);
    const agent = labelsAs(agentCert);
    try {
      assert.equal(await code(operator.allocateLabel({ node: 'pe1', owner: 'vrf:op', kind: LabelKind.LABEL_KIND_VRF })), 'PERMISSION_DENIED');
      assert.deepEqual((await operator.listLabels(listOf('pe1', 10))).labels.map((l) => l.owner), ['vrf:tls']);
      assert.equal(await code(agent.listLabels(listOf('pe1', 10))), 'UNAUTHENTICATED');
    } finally {
      operator.close();
      agent.close();
    }
    assertFollowsPolicy(await callEveryMethod(`127.0.0.1:${labels.grpcPort}`, LabelsServiceService, { channel: tls(operatorCert) }), labelsAccessPolicy, 'operator:tester');
  });

  test('a self-signed certificate is refused: at the handshake under require, UNAUTHENTICATED under request', async () => {
    const labelsClientOfRogue = labelsAs(rogue);
    try {
      assert.equal(await code(labelsClientOfRogue.listLabels(listOf('pe1', 1), { deadlineMs: 3000 })), 'UNAVAILABLE');
    } finally {
      labelsClientOfRogue.close();
    }
    // grpc-js shows a handler only a certificate the handshake verified: the self-signed one counts as none.
    const before = await securityEventCount(bgp.svc.metrics, { event: 'authentication-failed' });
    assertAll(await callEveryMethod(`127.0.0.1:${bgp.svc.grpcPort}`, BgpServiceService, { channel: tls(rogue) }), 'UNAUTHENTICATED', 'bgp, self-signed');
    assert.equal((await securityEventCount(bgp.svc.metrics, { event: 'authentication-failed' })) - before, Object.keys(BgpServiceService).length);
  });

  test('over TLS without a client certificate (request), every bgp method is UNAUTHENTICATED; the vpn certificate gets through', async () => {
    assertAll(await callEveryMethod(`127.0.0.1:${bgp.svc.grpcPort}`, BgpServiceService, { channel: tls() }), 'UNAUTHENTICATED', 'bgp, no certificate');
    assertFollowsPolicy(await callEveryMethod(`127.0.0.1:${bgp.svc.grpcPort}`, BgpServiceService, { channel: tls(vpnCert) }), bgpAccessPolicy, 'service:vpn');
  });
});
