// One process of the l3vpn binary (`node dist/services/main.js <command>`),
// restartable with the same settings, its output kept for the failure
// message: what the multi-process tests start, kill and restart; and the
// control plane's processes as they run there, each on its own address
// (gRPC and REST on their usual ports there, operations on 9464), calling
// each other as this run's service principals.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { projectRoot } from '../../services/common/project-root.js';
import { eventually } from './eventually.js';
import { serviceAuthEnv } from './service-auth.js';

/** One process of the l3vpn binary, restartable with the same settings. */
export class ServiceProcess {
  private child?: ChildProcess;
  readonly logs: string[] = [];
  starts = 0;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly env: Record<string, string>,
    /** Its operations listener: /healthz and /readyz. */
    private readonly ops: string,
  ) {}

  async start(): Promise<void> {
    this.starts++;
    const child = spawn(process.execPath, [join(projectRoot(), 'dist/services/main.js'), this.command], {
      env: { ...process.env, LOG_LEVEL: 'info', SHUTDOWN_GRACE_SECONDS: '5', OPS_ADDRESS: this.ops, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line) this.logs.push(`[${this.name}#${this.starts}] ${line}`);
        if (this.logs.length > 3000) this.logs.splice(0, this.logs.length - 3000);
      });
    }
    await eventually(
      `${this.name} to be ready`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${this.name} exited with ${child.exitCode}:\n${this.logs.slice(-20).join('\n')}`);
        return (await fetch(`http://${this.ops}/readyz`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.logs.slice(-20).join('\n')}`);
    });
  }

  /** Sends the signal and waits for the exit; its exit code. */
  async stop(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill(signal);
    const [code] = await exited;
    return code;
  }
}

type Env = Record<string, string>;
/** DATABASE_URL (migrated by the test: not again by each process). */
const databaseEnv = (url: string): Env => ({ DATABASE_URL: url, DATABASE_MIGRATE: 'false' });

/** The labels service on `address` (gRPC on 50061). */
export function labelsProcess(name: string, address: string, databaseUrl: string, extra: Env = {}): ServiceProcess {
  return new ServiceProcess(name, 'labels', { ...databaseEnv(databaseUrl), ...serviceAuthEnv(), LABELS_LISTEN: `${address}:50061`, ...extra }, `${address}:9464`);
}

/** The bgp service on `address` (gRPC on 50062; BGP on a free port unless `extra` says BGP_PORT). */
export function bgpProcess(address: string, extra: Env = {}): ServiceProcess {
  return new ServiceProcess(
    'bgp',
    'bgp',
    { ...serviceAuthEnv(), BGP_GRPC_LISTEN: `${address}:50062`, BGP_LISTEN_ADDRESS: address, BGP_PORT: '0', BGP_ROUTER_ID: '10.255.255.1', ...extra },
    `${address}:9464`,
  );
}

export interface VpnProcessOptions {
  databaseUrl: string;
  redis: { url: string; prefix: string };
  /** VPN_LABELS_ADDRESS: one address or the replicas'. */
  labels: string;
  /** VPN_BGP_ADDRESS. */
  bgp: string;
  /** The admin token the REST API is called with. */
  bootstrapTokenFile: string;
}

/** The vpn service on `address` (REST on 8080, gRPC on 50063). */
export function vpnProcess(name: string, address: string, o: VpnProcessOptions, extra: Env = {}): ServiceProcess {
  return new ServiceProcess(
    name,
    'vpn',
    {
      ...databaseEnv(o.databaseUrl),
      // Each accepts this run's service:vpn, which the vpn service presents.
      ...serviceAuthEnv(),
      REDIS_URL: o.redis.url,
      REDIS_PREFIX: o.redis.prefix,
      VPN_LISTEN: `${address}:8080`,
      VPN_GRPC_LISTEN: `${address}:50063`,
      VPN_LABELS_ADDRESS: o.labels,
      VPN_BGP_ADDRESS: o.bgp,
      VPN_BOOTSTRAP_TOKEN_FILE: o.bootstrapTokenFile,
      ...extra,
    },
    `${address}:9464`,
  );
}

/** A soft-driver agent of `node`, enrolled with `joinToken`, its operations listener on `address`. */
export function agentProcess(node: string, address: string, o: { controller: string; joinToken: string; stateDir: string }, extra: Env = {}): ServiceProcess {
  return new ServiceProcess(
    `agent-${node}`,
    'agent',
    { AGENT_NODE: node, AGENT_CONTROLLER: o.controller, AGENT_JOIN_TOKEN: o.joinToken, AGENT_DRIVER: 'soft', AGENT_STATE_DIR: join(o.stateDir, node), ...extra },
    `${address}:9464`,
  );
}
