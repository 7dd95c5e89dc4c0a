// TLS and mutual TLS with a throwaway CA: a TLS gRPC call, a server that
// requires client certificates refusing a client without one, AgentService
// taking the node from the client certificate (another node's certificate
// is PERMISSION_DENIED), and the REST API over HTTPS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { commonSettings, databaseSettings, loadSettings } from '../../services/common/config.js';
import { AgentServiceClient } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { HealthClient, HealthCheckResponse_ServingStatus } from '../../services/common/gen/proto/grpc/health/v1/health.js';
import { promiseClient } from '../../services/common/grpc/client.js';
import { createLogger } from '../../services/common/logger.js';
import type { RunningService } from '../../services/common/service.js';
import { channelCredentials } from '../../services/common/tls.js';
import { labelsSettings, startLabels } from '../../services/labels/main.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { startVpnHarness, type VpnHarness } from '../vpn/support.js';
import { createTestPki, type Issued, type TestPki } from './pki.js';

const log = createLogger('tls-test', process.env.TEST_LOG_LEVEL ?? 'silent');

const tlsEnv = (pki: TestPki, server: Issued, clientAuth: string) => ({
  TLS_CERT_FILE: server.cert,
  TLS_KEY_FILE: server.key,
  TLS_CA_FILE: pki.ca,
  TLS_CLIENT_AUTH: clientAuth,
});

const creds = (pki: TestPki, client?: Issued) =>
  channelCredentials({ ca: readFileSync(pki.ca), ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}) });

async function grpcCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return status.OK;
  } catch (err) {
    return (err as ServiceError).code;
  }
}

function https(port: number, path: string, options: { ca: Buffer; cert?: Buffer; key?: Buffer; token?: string; method?: string; body?: unknown }) {
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', servername: 'localhost', port, path, method: options.method ?? 'GET', ca: options.ca, cert: options.cert, key: options.key, headers },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
}

describe('TLS and mutual TLS', () => {
  let pki: TestPki;
  let server: Issued;
  let pe1: Issued;
  let pe2: Issued;
  let rogue: Issued;

  before(() => {
    pki = createTestPki();
    server = pki.issue('server', 'localhost', ['DNS:localhost', 'IP:127.0.0.1']);
    pe1 = pki.issue('pe1', 'pe1');
    pe2 = pki.issue('pe2', 'agent', ['URI:urn:l3vpn:node:pe2']);
    rogue = pki.selfSigned('rogue', 'pe1');
  });
  after(() => pki?.remove());

  describe('labels service, tls.client-auth=require', () => {
    let db: TestDatabase;
    let labels: RunningService;
    before(async () => {
      db = await createTestDatabase('tls_labels');
      const env = { DATABASE_URL: db.url, LABELS_LISTEN: '127.0.0.1:0', DATABASE_MIGRATE: 'false', ...tlsEnv(pki, server, 'require') };
      labels = await startLabels(loadSettings([...commonSettings, ...databaseSettings, ...labelsSettings], { env }), log);
    });
    after(async () => {
      await labels?.stop(1000);
      await db?.drop();
    });
    const health = (c: ReturnType<typeof creds>) => promiseClient(new HealthClient(`127.0.0.1:${labels.grpcPort}`, c));

    test('a client with the CA and a certificate of it gets an answer over TLS', async () => {
      const client = health(creds(pki, pe1));
      try {
        assert.equal((await client.check({ service: 'l3vpn.v1.LabelsService' }, { deadlineMs: 5000 })).status, HealthCheckResponse_ServingStatus.SERVING);
      } finally {
        client.close();
      }
    });

    test('without a client certificate, with a certificate of another CA, or in plaintext: refused', async () => {
      for (const c of [creds(pki), channelCredentials({ ca: readFileSync(pki.ca), cert: readFileSync(rogue.cert), key: readFileSync(rogue.key) }), credentials.createInsecure()]) {
        const client = health(c);
        try {
          assert.equal(await grpcCode(client.check({ service: '' }, { deadlineMs: 3000 })), status.UNAVAILABLE);
        } finally {
          client.close();
        }
      }
    });
  });

  describe('vpn service, tls.client-auth=require', () => {
    let h: VpnHarness;
    let ca: Buffer;
    before(async () => {
      h = await startVpnHarness(tlsEnv(pki, server, 'require'));
      ca = readFileSync(pki.ca);
      const node = (id: string) => ({ id, role: 'PE', routerId: `10.255.0.${id.slice(2)}`, asNumber: 65000 });
      const client = { ca, cert: readFileSync(pe1.cert), key: readFileSync(pe1.key), token: h.tokens.admin, method: 'POST' };
      for (const id of ['pe1', 'pe2']) assert.equal((await https(h.vpn.httpPort, '/v1/nodes', { ...client, body: node(id) })).status, 201);
    });
    after(async () => h?.stop());

    const agentClient = (client: Issued) => {
      const c = new AgentServiceClient(`127.0.0.1:${h.vpn.grpcPort}`, creds(pki, client));
      return { raw: c, api: promiseClient(c) };
    };
    const report = (node: string) => ({ node, appliedGeneration: 0, failures: [], drift: [], driver: 'soft', installedVrfs: 0, installedVrfRoutes: 0, installedLfibEntries: 0, ports: [], links: [], heartbeat: false });

    test("an agent's certificate names its node: its own state is served, another node's is PERMISSION_DENIED", async () => {
      const a = agentClient(pe1);
      const b = agentClient(pe2);
      try {
        assert.equal(await grpcCode(a.api.reportStatus(report('pe1'), { deadlineMs: 5000 })), status.OK);
        assert.equal(await grpcCode(b.api.reportStatus(report('pe2'), { deadlineMs: 5000 })), status.OK, 'a URI SAN urn:l3vpn:node:<id> names the node too');
        assert.equal(await grpcCode(b.api.reportStatus(report('pe1'), { deadlineMs: 5000 })), status.PERMISSION_DENIED);
        const denied = await new Promise<ServiceError>((resolve) => {
          const stream = b.raw.watchDesiredState({ node: 'pe1', appliedGeneration: 0 });
          stream.on('data', () => undefined);
          stream.on('error', resolve);
        });
        assert.equal(denied.code, status.PERMISSION_DENIED);
        assert.match(denied.details, /not node 'pe1'/);
      } finally {
        a.raw.close();
        b.raw.close();
      }
    });

    test('an agent without a client certificate cannot connect, even with a bearer credential', async () => {
      const c = new AgentServiceClient(`127.0.0.1:${h.vpn.grpcPort}`, creds(pki));
      try {
        assert.equal(await grpcCode(promiseClient(c).reportStatus(report('pe1'), { deadlineMs: 3000 })), status.UNAVAILABLE);
      } finally {
        c.close();
      }
    });

    test('the REST API answers over HTTPS to a client with a certificate, and its token still decides', async () => {
      const cert = readFileSync(pe1.cert);
      const key = readFileSync(pe1.key);
      const nodes = await https(h.vpn.httpPort, '/v1/nodes', { ca, cert, key, token: h.tokens.read });
      assert.equal(nodes.status, 200);
      assert.deepEqual(JSON.parse(nodes.body).items.map((n: { id: string }) => n.id).sort(), ['pe1', 'pe2']);
      assert.equal((await https(h.vpn.httpPort, '/v1/nodes', { ca, cert, key })).status, 401);
      await assert.rejects(https(h.vpn.httpPort, '/v1/nodes', { ca, token: h.tokens.read }), 'no client certificate: the handshake fails');
    });
  });

  describe('vpn service, tls.client-auth=request', () => {
    let h: VpnHarness;
    let credential: string;
    before(async () => {
      h = await startVpnHarness(tlsEnv(pki, server, 'request'));
      const ca = readFileSync(pki.ca);
      const admin = { ca, token: h.tokens.admin, method: 'POST' };
      const node = { id: 'pe1', role: 'PE', routerId: '10.255.0.1', asNumber: 65000 };
      assert.equal((await https(h.vpn.httpPort, '/v1/nodes', { ...admin, body: node })).status, 201, 'no client certificate needed for REST');
      // Enrolment over TLS without a client certificate: a join token, then Enroll.
      const joinToken = JSON.parse((await https(h.vpn.httpPort, '/v1/nodes/pe1/join-tokens', { ...admin, body: {} })).body).token;
      const c = new AgentServiceClient(`127.0.0.1:${h.vpn.grpcPort}`, creds(pki));
      try {
        credential = (await promiseClient(c).enroll({ node: 'pe1', joinToken }, { deadlineMs: 5000 })).credential;
      } finally {
        c.close();
      }
    });
    after(async () => h?.stop());
    const report = { node: 'pe1', appliedGeneration: 0, failures: [], drift: [], driver: 'soft', installedVrfs: 0, installedVrfRoutes: 0, installedLfibEntries: 0, ports: [], links: [], heartbeat: false };
    const call = async (client: ReturnType<typeof creds>, bearer?: string) => {
      const c = new AgentServiceClient(`127.0.0.1:${h.vpn.grpcPort}`, client);
      const md = new Metadata();
      if (bearer) md.set('authorization', `Bearer ${bearer}`);
      try {
        return await grpcCode(promiseClient(c).reportStatus(report, { deadlineMs: 5000, metadata: md }));
      } finally {
        c.close();
      }
    };

    test('a certificate is checked when sent; without one the enrolled bearer credential decides', async () => {
      assert.equal(await call(creds(pki, pe1)), status.OK);
      assert.equal(await call(creds(pki, pe2), credential), status.PERMISSION_DENIED, 'a certificate wins over the bearer credential');
      assert.equal(await call(channelCredentials({ ca: readFileSync(pki.ca), cert: readFileSync(rogue.cert), key: readFileSync(rogue.key) })), status.UNAUTHENTICATED);
      assert.equal(await call(creds(pki), credential), status.OK);
      assert.equal(await call(creds(pki)), status.UNAUTHENTICATED);
    });
  });
});
