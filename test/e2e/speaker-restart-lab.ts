// A control plane whose bgp speaker can be SIGKILLed and started again,
// with a real BIRD route-reflector client (graceful restart on) as the
// provider's PE: labels, bgp and vpn as processes of the built binary, a
// soft-driver agent for pe1, and `sites` static sites of VPN acme on pe1
// (site i announces 10.<i / 256>.<i % 256>.0/24). Shared by
// bgp-graceful-restart.test.ts and bench/speaker-restart.ts.
// Addresses 127.0.37.0/24 (one lab at a time); the processes' logs are
// `processes[].logs`.
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { serviceAuthEnv } from '../support/service-auth.js';
import { createTestDatabase, testRedis } from '../support/services.js';
import { eventually } from '../support/eventually.js';
import { ServiceProcess } from '../support/service-process.js';
import { startBird, type BirdPeer } from '../peers/bird.js';
import { bgpRawClient } from '../bgp/support.js';

const NET = '127.0.37';
export const SPEAKER = `${NET}.2`;
const PE_PEER = `${NET}.9`;
const VPN = `${NET}.3`;

export interface SpeakerRestartOptions {
  /** bgp.graceful-restart-time (0: no capability). */
  gracefulRestartTime: number;
  /** bgp.restart-deferral-seconds (0: End-of-RIB at once). */
  restartDeferral: number;
  sites: number;
}

export interface Reply {
  status: number;
  body: any;
}

export interface SpeakerRestartLab {
  bird: BirdPeer;
  bgp: ServiceProcess;
  processes: ServiceProcess[];
  /** The vpn service's REST API with an admin token. */
  call(method: string, path: string, body?: unknown): Promise<Reply>;
  /** A site of VPN acme on pe1 announcing sitePrefix(n). */
  site(n: number): object;
  /** The VPN-IPv4 prefixes the peer holds now. */
  prefixesAtPeer(): Promise<Set<string>>;
  /** Whether the speaker says it is restarting (GetGlobal). */
  restarting(): Promise<boolean>;
  stop(): Promise<void>;
}

export const sitePrefix = (n: number) => `10.${Math.floor(n / 256)}.${n % 256}.0/24`;

export async function startSpeakerRestartLab(o: SpeakerRestartOptions): Promise<SpeakerRestartLab> {
  const db = await createTestDatabase('e2e_gr');
  const redis = await testRedis();
  const stateDir = mkdtempSync(join(tmpdir(), 'l3vpn-e2e-gr-'));
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(stateDir, 'bootstrap-token'), token);
  const database = { DATABASE_URL: db.url, DATABASE_MIGRATE: 'false' };
  const processes: ServiceProcess[] = [];
  let bird: BirdPeer | undefined;
  const speaker = bgpRawClient(`${SPEAKER}:50062`);
  const stop = async () => {
    speaker.close();
    writeFileSync(join(tmpdir(), 'l3vpn-e2e-graceful-restart.log'), processes.flatMap((p) => p.logs).join('\n'));
    await bird?.stop();
    for (const p of [...processes].reverse()) await p.stop('SIGTERM').catch(() => undefined);
    await db.drop();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const labels = new ServiceProcess('labels', 'labels', { ...database, ...serviceAuthEnv(), LABELS_LISTEN: `${NET}.1:50061` }, `${NET}.1:9464`);
    const bgp = new ServiceProcess(
      'bgp',
      'bgp',
      {
        ...serviceAuthEnv(),
        BGP_GRPC_LISTEN: `${SPEAKER}:50062`,
        BGP_LISTEN_ADDRESS: SPEAKER,
        BGP_PORT: '179',
        BGP_ROUTER_ID: '10.255.255.1',
        BGP_GRACEFUL_RESTART_TIME: String(o.gracefulRestartTime),
        BGP_RESTART_DEFERRAL_SECONDS: String(o.restartDeferral),
        BGP_IDLE_HOLD_TIME: '1',
        BGP_NEIGHBORS: JSON.stringify([{ address: PE_PEER, 'remote-as': 65000, families: ['vpn-ipv4'], 'route-reflector-client': true, 'hold-time': 9 }]),
      },
      `${SPEAKER}:9464`,
    );
    const vpn = new ServiceProcess(
      'vpn',
      'vpn',
      {
        ...database,
        ...serviceAuthEnv(),
        REDIS_URL: redis.url,
        REDIS_PREFIX: redis.prefix,
        VPN_LISTEN: `${VPN}:8080`,
        VPN_GRPC_LISTEN: `${VPN}:50063`,
        VPN_LABELS_ADDRESS: `${NET}.1:50061`,
        VPN_BGP_ADDRESS: `${SPEAKER}:50062`,
        VPN_WORKER_CONCURRENCY: '2',
        VPN_BOOTSTRAP_TOKEN_FILE: join(stateDir, 'bootstrap-token'),
      },
      `${VPN}:9464`,
    );
    processes.push(labels, bgp, vpn);
    await labels.start();
    await bgp.start();
    await vpn.start();
    bird = await startBird({ routerId: '10.255.0.9', address: PE_PEER, localAs: 65000, neighbors: [{ address: SPEAKER, remoteAs: 65000, families: ['vpnv4'], gracefulRestart: true }] });

    const call = async (method: string, path: string, body?: unknown): Promise<Reply> => {
      const res = await fetch(`http://${VPN}:8080${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const site = (n: number) => ({
      id: `s${n}`,
      vpn: 'acme',
      node: 'pe1',
      interface: 'cust0',
      vlan: 100 + n,
      ipv4: { peAddress: `172.${16 + Math.floor(n / 64)}.${(n % 64) * 4}.1/30`, ceAddress: `172.${16 + Math.floor(n / 64)}.${(n % 64) * 4}.2` },
      routing: { static: [{ prefix: sitePrefix(n) }] },
    });
    const created = async (path: string, body: unknown) => {
      const r = await call('POST', path, body);
      if (r.status !== 201) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    };
    await created('/v1/nodes', { id: 'pe1', role: 'PE', routerId: '10.255.0.1', asNumber: 65000, nodeSidIndex: 1 });
    await created('/v1/vpns', { id: 'acme', customer: 'Acme' });
    for (let n = 1; n <= o.sites; n++) await created('/v1/sites', site(n));
    const joinToken = (await call('POST', '/v1/nodes/pe1/join-tokens', {})).body.token;
    const agent = new ServiceProcess(
      'agent-pe1',
      'agent',
      { AGENT_NODE: 'pe1', AGENT_CONTROLLER: `${VPN}:50063`, AGENT_JOIN_TOKEN: joinToken, AGENT_DRIVER: 'soft', AGENT_STATE_DIR: join(stateDir, 'pe1') },
      `${NET}.10:9464`,
    );
    processes.push(agent);
    await agent.start();
    const peer = bird;
    const prefixesAtPeer = async () => new Set((await peer.vpnRoutes('vpnv4')).map((r) => r.prefix));
    await peer.waitEstablished(SPEAKER);
    await eventually(`every site's route at the peer`, async () => {
      const p = await prefixesAtPeer();
      for (let n = 1; n <= o.sites; n++) if (!p.has(sitePrefix(n))) return false;
      return true;
    }, { timeoutMs: 60_000 + 200 * o.sites, intervalMs: 200 });
    return {
      bird: peer,
      bgp,
      processes,
      call,
      site,
      prefixesAtPeer,
      restarting: () => new Promise<boolean>((resolve, reject) => speaker.getGlobal({}, (err, res) => (err ? reject(err) : resolve(res!.restarting)))),
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
