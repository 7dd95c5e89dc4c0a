// `l3vpn lab`: the whole system on one machine. Starts (or uses) PostgreSQL
// and Redis, runs every service, builds the provider network of a topology
// on Open vSwitch (or the soft driver), peers with a real external PE,
// creates nodes and links through the REST API, starts one agent per managed
// node, provisions the topology's sample VPN on an empty intent, and keeps
// the CE hosts addressed as the sites say. stop() undoes all of it; what a
// lab killed with -9 left behind, the next start removes (resources.ts).
// The intent (the private database), the admin token and the agents' state
// outlive a restart unless the lab starts fresh.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyMigrations } from '../common/db/migrations.js';
import type { Logger } from '../common/logger.js';
import { inProcess, separateProcesses, type Launcher, type RunningPart, type ServiceName } from './control-plane.js';
import { ExternalPeer } from './external-peer.js';
import { CeHostKeeper } from './ce-hosts.js';
import { OvsNetwork, ovsUnavailable, type CeHost } from './ovs-network.js';
import { startPostgres, startRedis } from './private-servers.js';
import { freePort, isRoot, portIsFree, waitUntil } from './processes.js';
import { RestClient } from './rest-client.js';
import { createInventory, joinTokenFile } from './inventory.js';
import { ResourceRecord } from './resources.js';
import { labSecrets } from './service-secrets.js';
import type { Topology } from './topology.js';

export type DriverChoice = 'auto' | 'ovs' | 'soft';

export interface LabOptions {
  topology: Topology;
  /** The lab's own folder: private servers' data, logs, agents' state files, the admin token. */
  stateDir: string;
  /** Prefix of namespaces, bridges and veths (namespaces `<prefix>-<node>-<port>`). */
  namePrefix: string;
  driver: DriverChoice;
  separate: boolean;
  databaseUrl?: string;
  redisUrl?: string;
  /** REST port; 0: any free one. */
  restPort: number;
  /** Settings (environment variables) for the services, over the lab's own. */
  settings?: NodeJS.ProcessEnv;
  provisionSample: boolean;
  /** Start from an empty intent: drop the private database, new admin token, agents without state. */
  fresh?: boolean;
  /** How often the CE hosts are brought in line with the sites (ms; 1000). */
  ceSyncMs?: number;
  log: Logger;
  progress: (message: string) => void;
  /** Collects what to undo; the caller may run it early (Ctrl-C during start-up). */
  teardown?: Teardown;
}

/** Undo actions run last-in first-out, each once, errors logged and passed over. */
export class Teardown {
  private readonly steps: { what: string; undo: () => Promise<void> }[] = [];
  private running: Promise<void> | undefined;

  /** Whether the teardown has begun (a start-up still running stops making things). */
  get started(): boolean {
    return this.running !== undefined;
  }

  add(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  run(onError: (what: string, err: unknown) => void = () => undefined, onStep: (what: string) => void = () => undefined): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length) {
        const s = this.steps.pop()!;
        onStep(s.what);
        await s.undo().catch((err: unknown) => onError(s.what, err));
      }
    })();
    return this.running;
  }
}

export interface Lab {
  driver: 'ovs' | 'soft';
  /** Why the soft driver was chosen, when it was. */
  driverReason?: string;
  rest: RestClient;
  restUrl: string;
  grpc: { labels: string; bgp: string; vpn: string };
  bgp: { address: string; port: number };
  adminToken: string;
  tokenFile: string;
  /** The operator's secret for the labels and bgp gRPC APIs (read-only), and its file. */
  operatorSecret: string;
  operatorSecretFile: string;
  database: { url: string; private: boolean };
  redis: { url: string; private: boolean };
  parts: RunningPart[];
  external?: ExternalPeer;
  externalReason?: string;
  network?: OvsNetwork;
  stateDir: string;
  logDir: string;
  /** The CE host on a PE port (ovs driver only). */
  ce(node: string, port: string): CeHost | undefined;
  /** Addresses the CE host of a site as its REST body says now, without waiting for the next pass over the sites (ovs driver; nothing on soft). */
  connectCe(site: Record<string, any>): Promise<CeHost | undefined>;
  /** The record of what this lab made on the machine (resources.json). */
  recordFile: string;
  /** Stops a part (a no-op if it died) and starts it again with the same settings, e.g. `agent pe1`. */
  restart(label: string): Promise<RunningPart>;
  stop(): Promise<void>;
}

/** The well-known port when it is free (where a user expects it), else any free one. */
async function preferredPort(preferred: number | undefined): Promise<number> {
  return preferred !== undefined && (await portIsFree(preferred)) ? preferred : freePort();
}

export async function startLab(o: LabOptions): Promise<Lab> {
  const t = o.topology;
  const teardown = o.teardown ?? new Teardown();
  const logDir = join(o.stateDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const recordFile = join(o.stateDir, 'resources.json');
  const record = await ResourceRecord.takeOver(recordFile, o.progress);
  // The last step of every teardown: whatever an earlier step left, then the record itself.
  teardown.add('what the record still lists', () => record.close());
  /** Between steps: a start-up that was told to stop (Ctrl-C) makes nothing more. */
  const checkpoint = () => {
    if (teardown.started) throw new Error('stopped during start-up');
  };
  try {
    // Databases.
    let databaseUrl = o.databaseUrl;
    if (!databaseUrl) {
      o.progress(`starting a private PostgreSQL${o.fresh ? ' (fresh: the last intent is dropped)' : ''}`);
      const pg = await startPostgres(o.stateDir, logDir, 'l3vpn_lab', { record, ...(o.fresh ? { fresh: true } : {}) });
      teardown.add('PostgreSQL', pg.stop);
      databaseUrl = pg.url;
    }
    checkpoint();
    let redisUrl = o.redisUrl;
    if (!redisUrl) {
      o.progress('starting a private Redis');
      const redis = await startRedis(o.stateDir, logDir, { record });
      teardown.add('Redis', redis.stop);
      redisUrl = redis.url;
    }
    checkpoint();
    await applyMigrations({ databaseUrl });

    // Data plane.
    let driver: 'ovs' | 'soft' = 'soft';
    let driverReason: string | undefined = o.driver === 'soft' ? 'asked for' : undefined;
    if (o.driver !== 'soft') {
      const why = await ovsUnavailable();
      if (why && o.driver === 'ovs') throw new Error(`the ovs driver cannot run here: ${why}`);
      if (why) driverReason = why;
      else driver = 'ovs';
    }
    let network: OvsNetwork | undefined;
    if (driver === 'ovs') {
      o.progress(`building the provider network on Open vSwitch (${t.nodes.length} bridges, ${t.links.length} links)`);
      network = await OvsNetwork.build(join(o.stateDir, 'ovs'), o.namePrefix, t, teardown, record);
    }
    checkpoint();

    // Control plane.
    // The same token across restarts: an operator's exported L3VPN_TOKEN stays good.
    const tokenFile = join(o.stateDir, 'admin-token');
    const kept = !o.fresh && existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
    const adminToken = kept.length >= 32 ? kept : randomBytes(32).toString('base64url');
    writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
    const secrets = labSecrets(o.stateDir, Boolean(o.fresh));
    // With a fixed REST port (the interactive lab) the other services get their usual ports too, when free.
    const usual = (port: number) => (o.restPort ? port : undefined);
    const restPort = await preferredPort(o.restPort || undefined);
    const labelsPort = await preferredPort(usual(50061));
    const bgpGrpcPort = await preferredPort(usual(50062));
    const vpnGrpcPort = await preferredPort(usual(50063));
    const bgpPort = isRoot() ? 179 : await freePort(t.bgpAddress);
    const externalPort = t.external ? (isRoot() ? 179 : await freePort(t.external.address)) : 0;
    const grpc = { labels: `127.0.0.1:${labelsPort}`, bgp: `127.0.0.1:${bgpGrpcPort}`, vpn: `127.0.0.1:${vpnGrpcPort}` };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      DATABASE_MIGRATE: 'false',
      REDIS_URL: redisUrl,
      REDIS_PREFIX: process.env.REDIS_PREFIX ?? `${o.namePrefix}-${randomBytes(3).toString('hex')}`,
      LABELS_LISTEN: grpc.labels,
      BGP_AS: String(t.as),
      BGP_ROUTER_ID: t.bgpAddress,
      BGP_LISTEN_ADDRESS: t.bgpAddress,
      BGP_PORT: String(bgpPort),
      BGP_GRPC_LISTEN: grpc.bgp,
      // Restarted, End-of-RIB waits until the vpn service refilled the speaker; the external PE keeps our routes meanwhile.
      BGP_RESTART_DEFERRAL_SECONDS: '60',
      BGP_NEIGHBORS: JSON.stringify(
        t.external ? [{ address: t.external.address, 'remote-as': t.as, port: externalPort, families: ['vpn-ipv4'], description: 'external PE / route reflector' }] : [],
      ),
      VPN_LISTEN: `127.0.0.1:${restPort}`,
      VPN_GRPC_LISTEN: grpc.vpn,
      VPN_LABELS_ADDRESS: grpc.labels,
      VPN_BGP_ADDRESS: grpc.bgp,
      VPN_BOOTSTRAP_TOKEN_FILE: tokenFile,
      VPN_POOL_ADMINISTRATOR: String(t.as),
      ...secrets.env,
      ...o.settings,
    };
    const launcher: Launcher = o.separate ? separateProcesses(logDir, record) : inProcess(o.log, 2000);
    const parts: RunningPart[] = [];
    const started = new Map<string, { name: ServiceName; env: NodeJS.ProcessEnv }>();
    const start = async (name: ServiceName, label: string, extra: NodeJS.ProcessEnv = {}) => {
      checkpoint();
      const partEnv = { ...env, ...extra };
      const part = await launcher.start(name, label, partEnv);
      started.set(label, { name, env: partEnv });
      parts.push(part);
      // Whichever part has the label when the lab stops: restart() replaces it.
      teardown.add(label, () => parts.find((p) => p.label === label)!.stop());
    };
    const restart = async (label: string) => {
      const i = parts.findIndex((p) => p.label === label);
      const s = started.get(label);
      if (i < 0 || !s) throw new Error(`the lab runs no '${label}'`);
      await parts[i]!.stop();
      parts[i] = await launcher.start(s.name, label, s.env);
      return parts[i]!;
    };
    o.progress(o.separate ? 'starting labels, bgp and vpn, each in its own process' : 'starting labels, bgp and vpn in this process');
    await start('labels', 'labels');
    await start('bgp', 'bgp');
    await start('vpn', 'vpn');
    const restUrl = `http://127.0.0.1:${restPort}`;
    await waitUntil('the REST API answering /readyz', async () => (await fetch(`${restUrl}/readyz`).catch(() => undefined))?.ok === true, 60_000, 100);
    const rest = new RestClient(restUrl, adminToken);

    let external: ExternalPeer | undefined;
    let externalReason: string | undefined;
    if (t.external) {
      externalReason = await ExternalPeer.missing();
      if (!externalReason) {
        o.progress(`starting the external PE (gobgpd on ${t.external.address})`);
        const dir = join(o.stateDir, 'gobgp');
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        external = await ExternalPeer.start({ pe: t.external, as: t.as, neighbor: { address: t.bgpAddress, port: bgpPort }, port: externalPort, dir, record });
        teardown.add('external PE', () => external!.stop());
      }
    }

    // Inventory through the API (what exists already stays as it is), then one agent per managed node.
    checkpoint();
    o.progress(`creating ${t.nodes.length} nodes and ${t.links.length} links through the REST API (those that exist are kept)`);
    const agentsDir = join(o.stateDir, 'agents');
    if (o.fresh) rmSync(agentsDir, { recursive: true, force: true });
    await createInventory(rest, t);
    o.progress(`starting ${t.nodes.length} agents on the ${driver} driver (each enrols with a join token, or goes on with the credential it saved)`);
    for (const n of t.nodes) {
      const dir = join(agentsDir, n.id);
      mkdirSync(dir, { recursive: true });
      const stateDir = join(dir, 'state');
      const plan = network?.plan(n.id);
      await start('agent', `agent ${n.id}`, {
        AGENT_NODE: n.id,
        AGENT_CONTROLLER: grpc.vpn,
        AGENT_JOIN_TOKEN_FILE: await joinTokenFile(rest, n.id, dir, stateDir),
        AGENT_DRIVER: driver,
        AGENT_STATE_DIR: stateDir,
        ...(network && plan ? { AGENT_OVS_TARGET: network.target(plan), AGENT_OVS_PORT_PREFIX: plan.portPrefix, AGENT_OVS_DB: network.db } : {}),
      });
    }

    // CE hosts follow the sites, whoever creates them.
    const ceHosts = network ? new CeHostKeeper(rest, network, o.log.child({ component: 'ce-hosts' })) : undefined;
    if (ceHosts) {
      ceHosts.start(o.ceSyncMs ?? 1000);
      teardown.add('CE host keeper', () => ceHosts.stop());
    }

    const lab: Lab = {
      driver,
      ...(driverReason ? { driverReason } : {}),
      rest,
      restUrl,
      grpc,
      bgp: { address: t.bgpAddress, port: bgpPort },
      adminToken,
      tokenFile,
      operatorSecret: secrets.operator,
      operatorSecretFile: secrets.operatorFile,
      database: { url: databaseUrl, private: !o.databaseUrl },
      redis: { url: redisUrl, private: !o.redisUrl },
      parts,
      ...(external ? { external } : {}),
      ...(externalReason ? { externalReason } : {}),
      ...(network ? { network } : {}),
      stateDir: o.stateDir,
      logDir,
      ce: (node, port) => network?.ce(node, port),
      connectCe: async (site) => ceHosts?.connect(site),
      recordFile,
      restart,
      stop: () => teardown.run((what, err) => o.log.warn({ err: (err as Error).message }, `stopping ${what} failed`)),
    };

    // The sample goes into an empty intent only: a restarted lab keeps what the operator made of it.
    checkpoint();
    const intentIsEmpty = (await rest.get('/v1/vpns?limit=1')).items.length === 0;
    if (o.provisionSample && !intentIsEmpty) o.progress('the intent has VPNs already (kept from the last run): the sample is not provisioned again');
    if (o.provisionSample && intentIsEmpty && (t.sample.vpns.length || t.sample.sites.length)) {
      o.progress(`provisioning the sample: ${t.sample.vpns.length} VPN(s), ${t.sample.sites.length} site(s)`);
      for (const v of t.sample.vpns) await rest.ensure('vpns', v as { id: string });
      for (const s of t.sample.sites) {
        await rest.ensure('sites', s as { id: string });
        await lab.connectCe(s);
      }
      await waitForSites(rest, t.sample.sites.map((s) => String(s.id)), 60_000);
    }
    return lab;
  } catch (err) {
    await teardown.run();
    throw err;
  }
}

/** Waits until the sites are active (their PEs' desired states are stored); throws with the reason of a failed one. */
export async function waitForSites(rest: RestClient, ids: string[], timeoutMs: number): Promise<void> {
  await waitUntil(`sites ${ids.join(', ')} becoming active`, async () => {
    const states = await Promise.all(ids.map((id) => rest.get(`/v1/sites/${encodeURIComponent(id)}`)));
    const failed = states.find((s) => s.status?.state === 'failed');
    if (failed) throw new Error(`site ${failed.id} failed: ${failed.status.reason}`);
    return states.every((s) => s.status?.state === 'active');
  }, timeoutMs, 200);
}
