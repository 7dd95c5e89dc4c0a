// A control plane whose bgp speaker can be SIGKILLed and started again,
// with a real BIRD route-reflector client (graceful restart on) as the
// provider's PE: labels, bgp and vpn as processes of the built binary, a
// soft-driver agent for pe1, and `sites` static sites of VPN acme on pe1
// (site i announces 10.<i / 256>.<i % 256>.0/24). Shared by
// bgp-graceful-restart.test.ts and bench/speaker-restart.ts.
// Addresses 127.0.37.0/24 (one lab at a time); the processes' logs are
// `processes[].logs`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RestClient } from '../../services/lab/rest-client.js';
import { createTestDatabase, testRedis } from '../support/services.js';
import { eventually } from '../support/eventually.js';
import { agentProcess, bgpProcess, labelsProcess, type ServiceProcess, vpnProcess } from '../support/service-process.js';
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

export interface SpeakerRestartLab {
  bird: BirdPeer;
  bgp: ServiceProcess;
  processes: ServiceProcess[];
  /** The vpn service's REST API with an admin token. */
  rest: RestClient;
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
  const processes: ServiceProcess[] = [];
  let bird: BirdPeer | undefined;
  const speaker = bgpRawClient(`${SPEAKER}:50062`);
  const stop = async () => {
    speaker.close();
    writeFileSync(join(tmpdir(), 'l3vpn-e2e-graceful-restart.log'), processes.flatMap((p) => p.logs).join('\n'));
    await bird?.stop();
    for (const p of [...processes].reverse()) await p.stop('SIGTERM');
    await db.drop();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const labels = labelsProcess('labels', `${NET}.1`, db.url);
    const bgp = bgpProcess(SPEAKER, {
      BGP_PORT: '179',
      BGP_GRACEFUL_RESTART_TIME: String(o.gracefulRestartTime),
      BGP_RESTART_DEFERRAL_SECONDS: String(o.restartDeferral),
      BGP_IDLE_HOLD_TIME: '1',
      BGP_NEIGHBORS: JSON.stringify([{ address: PE_PEER, 'remote-as': 65000, families: ['vpn-ipv4'], 'route-reflector-client': true, 'hold-time': 9 }]),
    });
    const vpn = vpnProcess(
      'vpn',
      VPN,
      { databaseUrl: db.url, redis, labels: `${NET}.1:50061`, bgp: `${SPEAKER}:50062`, bootstrapTokenFile: join(stateDir, 'bootstrap-token') },
      { VPN_WORKER_CONCURRENCY: '2' },
    );
    processes.push(labels, bgp, vpn);
    await labels.start();
    await bgp.start();
    await vpn.start();
    bird = await startBird({ routerId: '10.255.0.9', address: PE_PEER, localAs: 65000, neighbors: [{ address: SPEAKER, remoteAs: 65000, families: ['vpnv4'], gracefulRestart: true }] });

    const rest = new RestClient(`http://${VPN}:8080`, token);
    const site = (n: number) => ({
      id: `s${n}`,
      vpn: 'acme',
      node: 'pe1',
      interface: 'cust0',
      vlan: 100 + n,
      ipv4: { peAddress: `172.${16 + Math.floor(n / 64)}.${(n % 64) * 4}.1/30`, ceAddress: `172.${16 + Math.floor(n / 64)}.${(n % 64) * 4}.2` },
      routing: { static: [{ prefix: sitePrefix(n) }] },
    });
    const created = (path: string, body: unknown) => rest.expect('POST', path, [201], body);
    await created('/v1/nodes', { id: 'pe1', role: 'PE', routerId: '10.255.0.1', asNumber: 65000, nodeSidIndex: 1 });
    await created('/v1/vpns', { id: 'acme', customer: 'Acme' });
    for (let n = 1; n <= o.sites; n++) await created('/v1/sites', site(n));
    const joinToken = (await rest.expect('POST', '/v1/nodes/pe1/join-tokens', [201], {})).token;
    const agent = agentProcess('pe1', `${NET}.10`, { controller: `${VPN}:50063`, joinToken, stateDir });
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
      rest,
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
