// A ring for core link failures, driven by the real control plane: PE1 and
// PE2 joined over P1 (metric 10 + 10, the preferred path) and over P2
// (20 + 20), netdev bridges of a private Open vSwitch joined by veths, one
// VPN with a CE behind each PE, one `l3vpn agent` per node (ovs driver, BFD
// on every core link). Shared by test/agent/link-failover.test.ts and
// bench/link-failover.ts. Names: namespaces l3lk-*, bridges and veths l3lk*,
// gRPC on 127.0.28.1.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../../services/common/config.js';
import { projectRoot } from '../../services/common/project-root.js';
import { createLogger } from '../../services/common/logger.js';
import type { RunningService } from '../../services/common/service.js';
import type { NodeDesiredState } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { agentSettings, startAgent } from '../../services/agent/main.js';
import pg from 'pg';
import { eventually, reconcileIdle, startReconcileHarness, type ReconcileHarness } from '../vpn/reconcile-support.js';
import { type LabSpec, PacketLab } from './ovs-harness.js';
import { timedPing } from '../support/ping.js';

export const FAILOVER_SPEC: LabSpec = {
  nodes: [
    { id: 'PE1', bridge: 'l3lkb1', portPrefix: 'l3lk1', interfaces: ['core0', 'core1', 'red0'] },
    { id: 'P1', bridge: 'l3lkba', portPrefix: 'l3lka', interfaces: ['core0', 'core1'] },
    { id: 'P2', bridge: 'l3lkbb', portPrefix: 'l3lkb', interfaces: ['core0', 'core1'] },
    { id: 'PE2', bridge: 'l3lkb2', portPrefix: 'l3lk2', interfaces: ['core0', 'core1', 'red0'] },
  ],
  core: [
    ['l3lk1core0', 'l3lkacore0'],
    ['l3lkacore1', 'l3lk2core0'],
    ['l3lk1core1', 'l3lkbcore0'],
    ['l3lkbcore1', 'l3lk2core1'],
  ],
  ces: [
    { ns: 'l3lk-ce1', port: 'l3lk1red0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.1' },
    { ns: 'l3lk-ce2', port: 'l3lk2red0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.1' },
  ],
};

/** The preferred link PE1–P1 and the OVS port (veth end) of PE1 on it. */
export const PRIMARY = { link: 'pe1-p1', port: 'l3lk1core0' };

const SRGB = { base: 16000, size: 8000 };
/** Each node's agent credential, enrolled once its node exists. */
const credentials = new Map<string, string>();
const identity = (node: string) => credentials.get(node)!;
const node = (id: string, role: 'PE' | 'P', n: number) => ({ id, role, routerId: `10.255.0.${n}`, asNumber: 65000, srgb: SRGB, nodeSidIndex: n });
const link = (id: string, a: string, ai: string, b: string, bi: string, n: number, igpMetric: number) => ({
  id,
  a: { node: a, interface: ai, address: `10.0.${n}.0/31` },
  b: { node: b, interface: bi, address: `10.0.${n}.1/31` },
  igpMetric,
});
const site = (id: string, pe: string, n: number) => ({
  id,
  vpn: 'red',
  node: pe,
  interface: 'red0',
  ipv4: { peAddress: `192.168.${n}.1/30`, ceAddress: `192.168.${n}.2` },
  routing: { static: [{ prefix: `10.${n}.0.0/16` }] },
});

const run = promisify(execFile);

export interface LinkView {
  operStatus: 'unknown' | 'up' | 'down';
  operReason?: string;
  operChangedAt?: string;
}

export interface FailoverLab {
  lab: PacketLab;
  h: ReconcileHarness;
  /** The agents run in this process, by node. */
  agents: Map<string, RunningService>;
  /** Kills a node's agent run as a process (FailoverOptions.processAgents) with SIGKILL: no goodbye, no BFD AdminDown. */
  killAgent(node: string): Promise<void>;
  /** Starts a node's process agent again. */
  startProcessAgent(node: string): void;
  link(id: string): Promise<LinkView>;
  latest(node: string): Promise<NodeDesiredState>;
  /** The out interface of PE1's routes towards CE2's prefix (which core link carries them). */
  pe1OutInterface(): Promise<string | undefined>;
  /** Whether every node's agent has applied its newest desired state. */
  allInSync(): Promise<boolean>;
  /**
   * Waits until the control plane is quiet: no reconcile waiting or running
   * and every agent on its newest generation, so what changes next is the
   * test's doing (a job still running from the last reports would otherwise
   * read the test's cut and race the delays under test).
   */
  settled(): Promise<void>;
  /** Sets a core veth end down or up, as a pulled cable (its peer loses carrier too). */
  setPort(port: string, up: boolean): Promise<void>;
  /**
   * Whether one echo request from CE1 to CE2's loopback is answered. Never
   * blocks the event loop: the agents, whose BFD timers run on it, share
   * this process.
   */
  reaches(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface FailoverOptions {
  /** vpn.* settings as environment variables (hold-down, damping). */
  vpnEnv?: Record<string, string>;
  /** agent.* settings as environment variables (BFD timers). */
  agentEnv?: Record<string, string>;
  /** Nodes whose agent runs as its own `l3vpn agent` process, so that it can be killed. */
  processAgents?: string[];
}

export async function startFailoverLab(o: FailoverOptions = {}): Promise<FailoverLab> {
  const lab = await PacketLab.start(FAILOVER_SPEC);
  const agents = new Map<string, RunningService>();
  const processes = new Map<string, ChildProcess>();
  let h: ReconcileHarness | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'l3lk-'));
  const killAgent = async (id: string) => {
    const p = processes.get(id);
    if (!p) return;
    processes.delete(id);
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    }
  };
  const stop = async () => {
    for (const id of [...processes.keys()]) await killAgent(id);
    for (const a of agents.values()) await a.stop(1000);
    await h?.stop();
    await lab.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    h = await startReconcileHarness({ VPN_GRPC_LISTEN: '127.0.28.1:0', ...o.vpnEnv });
    const hh = h;
    const post = async (path: string, body: object) => assert.equal((await hh.call('POST', path, { body })).status, 201, `${path} ${JSON.stringify(body)}`);
    await post('/v1/nodes', node('PE1', 'PE', 1));
    await post('/v1/nodes', node('P1', 'P', 11));
    await post('/v1/nodes', node('P2', 'P', 12));
    await post('/v1/nodes', node('PE2', 'PE', 2));
    for (const id of ['PE1', 'P1', 'P2', 'PE2']) credentials.set(id, await hh.enrol(id));
    await post('/v1/links', link('pe1-p1', 'PE1', 'core0', 'P1', 'core0', 0, 10));
    await post('/v1/links', link('p1-pe2', 'P1', 'core1', 'PE2', 'core0', 1, 10));
    await post('/v1/links', link('pe1-p2', 'PE1', 'core1', 'P2', 'core0', 2, 20));
    await post('/v1/links', link('p2-pe2', 'P2', 'core1', 'PE2', 'core1', 3, 20));
    await post('/v1/vpns', { id: 'red', customer: 'red' });
    await post('/v1/sites', site('red-a', 'PE1', 1));
    await post('/v1/sites', site('red-b', 'PE2', 2));

    const log = createLogger('agent', process.env.TEST_LOG_LEVEL ?? 'silent');
    const agentEnv = (id: string): Record<string, string> => {
      const n = FAILOVER_SPEC.nodes.find((x) => x.id === id)!;
      return { ...lab.agentEnv(n, { controller: `127.0.28.1:${hh.vpn.grpcPort}`, token: identity(n.id), stateDir: join(dir, n.id) }), ...o.agentEnv };
    };
    const startProcessAgent = (id: string) => {
      const p = spawn(process.execPath, [join(projectRoot(), 'dist/services/main.js'), 'agent'], {
        env: { ...process.env, ...agentEnv(id), OPS_ADDRESS: '127.0.0.1:0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      processes.set(id, p);
    };
    for (const n of FAILOVER_SPEC.nodes) {
      if (o.processAgents?.includes(n.id)) startProcessAgent(n.id);
      else agents.set(n.id, await startAgent(loadSettings(agentSettings, { env: agentEnv(n.id) }), log.child({ node: n.id })));
    }
    const inSync = async (id: string) => (await hh.call('GET', `/v1/nodes/${id}/state`)).body.inSync === true;
    const f: FailoverLab = {
      lab,
      h,
      agents,
      killAgent,
      startProcessAgent,
      link: async (id) => (await hh.call('GET', `/v1/links/${id}`)).body as LinkView,
      latest: async (id) => (await hh.vpn.store.latest(id))!.state,
      async pe1OutInterface() {
        const s = await f.latest('PE1');
        const r = s.vrfRoutes.find((x) => x.vrf === 'red' && x.prefix === '10.2.0.0/16');
        return r?.nextHop?.$case === 'remote' ? r.nextHop.value.outInterface : undefined;
      },
      allInSync: async () => (await Promise.all(FAILOVER_SPEC.nodes.map((n) => inSync(n.id)))).every(Boolean),
      async settled() {
        const sql = new pg.Client({ connectionString: hh.db.url });
        await sql.connect();
        try {
          // Applying a generation makes the agent report, which may queue its node again: idle, in sync, and idle after.
          for (;;) {
            await reconcileIdle(hh, sql);
            await eventually('every agent on its newest generation', () => f.allInSync(), 30_000);
            await reconcileIdle(hh, sql);
            if (await f.allInSync()) return;
          }
        } finally {
          await sql.end();
        }
      },
      setPort: async (port, up) => void (await run('ip', ['-n', lab.netns, 'link', 'set', port, up ? 'up' : 'down'])),
      reaches: () =>
        run('ip', ['netns', 'exec', 'l3lk-ce1', 'ping', '-c', '1', '-W', '1', '10.2.0.1']).then(
          () => true,
          () => false,
        ),
      stop,
    };
    // Converged: both sites active, every agent on its newest generation, every link up, CE to CE pings.
    for (const id of ['red-a', 'red-b']) await eventually(`site ${id} active`, async () => (await hh.call('GET', `/v1/sites/${id}`)).body.status.state === 'active', 60_000);
    await eventually('every agent on its newest generation', () => f.allInSync(), 60_000);
    for (const id of ['pe1-p1', 'p1-pe2', 'pe1-p2', 'p2-pe2']) await eventually(`link ${id} operationally up`, async () => (await f.link(id)).operStatus === 'up', 30_000);
    await eventually('PE1 to send towards PE2 over P1', async () => (await f.pe1OutInterface()) === 'core0', 30_000);
    await eventually('CE1 to reach CE2', () => f.reaches(), 30_000);
    return f;
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface PingRun {
  transmitted: number;
  received: number;
  /** Echo requests without a reply, and the time they span at the ping interval. */
  lost: number;
  lostMs: number;
}

/**
 * Pings from a namespace at `intervalMs` until `stop()` (at most `deadlineS`
 * seconds, so a failed test never leaves it running), then says how many
 * replies were missing.
 */
export function pingStream(ns: string, to: string, intervalMs = 10, deadlineS = 120): { stop(): Promise<PingRun> } {
  const run = timedPing(ns, to, intervalMs, deadlineS);
  return {
    async stop() {
      const { transmitted, received } = await run.stop();
      return { transmitted, received, lost: transmitted - received, lostMs: (transmitted - received) * intervalMs };
    },
  };
}
