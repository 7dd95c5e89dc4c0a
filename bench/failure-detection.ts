// How long failures take to be seen, on the lab (`l3vpn lab`: ovs driver,
// lab/topology.yaml, the gobgpd external PE; every service and agent in its
// own process, as deployed):
//   agent death: SIGKILL pe3's agent and time until GET /v1/nodes/pe3 says
//     `unreachable` (the vpn service's AgentLivenessSweep: no report for
//     vpn.agent-timeout-seconds since its last heartbeat, swept every
//     second); each kill at a random phase of heartbeat and sweep; then start the
//     agent again and time until the node is `active`. Once with the default
//     settings, once with short ones.
//   PE-CE port down: `ip link set down` on the OVS side of pe1's ce1 veth (site
//     acme-pe1, 10.1.0.0/16 behind its CE) and time until the site is `down`,
//     the bgp service's VRF acme:pe2 has lost the prefix, the remote PE pe2
//     has it no more (its agent reports having applied a desired state
//     without it: GET /v1/nodes/pe2/state) and the external PE's RIB has lost
//     it (gobgp global rib -a vpnv4); then port up and time the way back.
// Every figure is the time from the action to the first poll (every 25 ms)
// that sees the result. Prints each round, then median, p90 and max. Needs
// root, Open vSwitch, GoBGP, PostgreSQL and Redis; run under the packet-test lock:
//   flock /tmp/l3vpn-net.lock node dist/bench/failure-detection.js [rounds=5]
// Names: namespaces l3fd-*, bridges and veths l3fd*, BGP on 127.0.35.1/.2.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../services/common/logger.js';
import { projectRoot } from '../services/common/project-root.js';
import { ExternalPeer } from '../services/lab/external-peer.js';
import { startLab, type Lab } from '../services/lab/lab.js';
import { ovsUnavailable } from '../services/lab/ovs-network.js';
import { run, waitUntil } from '../services/lab/processes.js';
import { loadTopology, type Topology } from '../services/lab/topology.js';
import { normaliseGobgpRib } from '../test/peers/gobgp.js';
import { createTestDatabase, testRedis } from '../test/support/services.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const POLL_MS = 25;
const SITE = { id: 'acme-pe1', node: 'pe1', port: 'ce1', prefix: '10.1.0.0/16' };
const REMOTE = 'pe2';
const DEAD = 'pe3';

const missing = (await ovsUnavailable()) ?? (await ExternalPeer.missing());
if (missing) {
  console.log(`failure-detection: skipped, ${missing}`);
  process.exit(0);
}

const base = loadTopology(join(projectRoot(), 'lab', 'topology.yaml'));
const topology: Topology = { ...base, bgpAddress: '127.0.35.1', external: { ...base.external!, address: '127.0.35.2' } };

async function withLab(settings: NodeJS.ProcessEnv, fn: (lab: Lab) => Promise<void>): Promise<void> {
  const db = await createTestDatabase('bench');
  const redis = await testRedis();
  const stateDir = await mkdtemp(join(tmpdir(), 'l3fd-'));
  let lab: Lab | undefined;
  try {
    lab = await startLab({
      topology,
      stateDir,
      namePrefix: 'l3fd',
      driver: 'ovs',
      separate: true,
      databaseUrl: db.url,
      redisUrl: redis.url,
      restPort: 0,
      settings: { REDIS_PREFIX: redis.prefix, LOG_LEVEL: 'warn', ...settings },
      provisionSample: true,
      log: createLogger('bench', 'warn'),
      progress: () => undefined,
    });
    await fn(lab);
  } finally {
    await lab?.stop();
    await db.drop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** Ms from t0 until each check first holds, all polled side by side (a check that throws has not held yet). */
async function times<K extends string>(t0: number, checks: Record<K, () => Promise<boolean>>, timeoutMs = 120_000): Promise<Record<K, number>> {
  const out = {} as Record<K, number>;
  await Promise.all(
    (Object.entries(checks) as [K, () => Promise<boolean>][]).map(async ([what, check]) => {
      while (!(await check().catch(() => false))) {
        if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
        await sleep(POLL_MS);
      }
      out[what] = performance.now() - t0;
    }),
  );
  return out;
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const line = (what: string, xs: number[]) => console.log(`${what}: median ${ms(quantile(xs, 0.5))}, p90 ${ms(quantile(xs, 0.9))}, max ${ms(Math.max(...xs))} over ${xs.length} rounds`);

const state = async (lab: Lab, path: string): Promise<string> => (await lab.rest.get(path)).status?.state;

/** `phaseMs`: the longer of the heartbeat and the sweep period. */
async function agentDeath(lab: Lab, settings: string, phaseMs: number): Promise<void> {
  const label = `agent ${DEAD}`;
  const down: number[] = [];
  const back: number[] = [];
  const active = async () => (await state(lab, `/v1/nodes/${DEAD}`)) === 'active';
  for (let i = 0; i < ROUNDS; i++) {
    await waitUntil(`${DEAD} active`, active, 60_000);
    // Back to back, every kill would fall at the same phase of the heartbeat and of the sweep (the
    // restart follows a sweep at once): a random wait spreads them over both periods.
    await sleep(Math.random() * phaseMs);
    const t0 = performance.now();
    await lab.parts.find((p) => p.label === label)!.kill!();
    down.push((await times(t0, { unreachable: async () => (await state(lab, `/v1/nodes/${DEAD}`)) === 'unreachable' })).unreachable);
    const t1 = performance.now();
    const [again] = await Promise.all([times(t1, { active }), lab.restart(label)]);
    back.push(again.active);
    console.log(`  round ${i + 1} (${settings}): SIGKILL -> unreachable ${ms(down.at(-1)!)}, restart -> active ${ms(back.at(-1)!)}`);
  }
  line(`agent SIGKILL -> node unreachable (${settings})`, down);
  line(`agent restarted -> node active (${settings})`, back);
}

async function portDown(lab: Lab): Promise<void> {
  const veth = lab.network!.plan(SITE.node)!.portPrefix + SITE.port;
  const rd = (await lab.rest.get(`/v1/vrfs/acme:${SITE.node}`)).routeDistinguisher as string;
  const inBgpVrf = async () => ((await lab.rest.get(`/v1/vrfs/acme:${REMOTE}/routes`)).routes as { prefix: string }[]).some((r) => r.prefix === SITE.prefix);
  /** undefined while pe2's agent has not applied its latest desired state. */
  const atRemote = async () => {
    const s = await lab.rest.get(`/v1/nodes/${REMOTE}/state`);
    if (s.installed?.appliedGeneration !== s.desired?.generation) return undefined;
    return (s.desired.state.vrfRoutes as { vrf: string; prefix: string }[]).some((r) => r.vrf === 'acme' && r.prefix === SITE.prefix);
  };
  const atExternal = async () => normaliseGobgpRib(await lab.external!.cli(['-j', 'global', 'rib', '-a', 'vpnv4'])).some((r) => r.prefix === SITE.prefix && r.rd === rd);
  const checks = (up: boolean) => ({
    site: async () => (await state(lab, `/v1/sites/${SITE.id}`)) === (up ? 'active' : 'down'),
    bgp: async () => (await inBgpVrf()) === up,
    remote: async () => (await atRemote()) === up,
    external: async () => (await atExternal()) === up,
  });
  type Figures = Record<keyof ReturnType<typeof checks>, number>;
  const downs: Figures[] = [];
  const ups: Figures[] = [];
  const show = (f: Figures) => `site ${ms(f.site)}, bgp VRF acme:${REMOTE} ${ms(f.bgp)}, ${REMOTE} applied ${ms(f.remote)}, external PE ${ms(f.external)}`;
  await times(performance.now(), checks(true));
  for (let i = 0; i < ROUNDS; i++) {
    let t0 = performance.now();
    await run('ip', ['link', 'set', veth, 'down']);
    downs.push(await times(t0, checks(false)));
    t0 = performance.now();
    await run('ip', ['link', 'set', veth, 'up']);
    ups.push(await times(t0, checks(true)));
    console.log(`  round ${i + 1}: port down -> ${show(downs.at(-1)!)}; port up -> ${show(ups.at(-1)!)}`);
  }
  const where = `${SITE.node}/${SITE.port}, ${SITE.prefix}`;
  line(`PE-CE port down (${where}) -> site down`, downs.map((f) => f.site));
  line(`PE-CE port down -> gone from bgp VRF acme:${REMOTE}`, downs.map((f) => f.bgp));
  line(`PE-CE port down -> gone at remote PE ${REMOTE} (its agent applied a state without it)`, downs.map((f) => f.remote));
  line('PE-CE port down -> withdrawn at the external gobgpd PE', downs.map((f) => f.external));
  line('PE-CE port up -> site active', ups.map((f) => f.site));
  line(`PE-CE port up -> back in bgp VRF acme:${REMOTE}`, ups.map((f) => f.bgp));
  line(`PE-CE port up -> back at remote PE ${REMOTE} (applied)`, ups.map((f) => f.remote));
  line('PE-CE port up -> back at the external gobgpd PE', ups.map((f) => f.external));
}

await withLab({}, async (lab) => {
  await agentDeath(lab, 'defaults: vpn.agent-timeout-seconds 15, agent.heartbeat-seconds 5', 5000);
  await portDown(lab);
});
await withLab({ VPN_AGENT_TIMEOUT_SECONDS: '3', AGENT_HEARTBEAT_SECONDS: '1' }, (lab) => agentDeath(lab, 'vpn.agent-timeout-seconds 3, agent.heartbeat-seconds 1', 1000));
process.exit(0);
