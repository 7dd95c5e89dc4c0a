// A dual-homed site with real packets, driven by the real control plane:
// three PEs in a triangle (PE1 - PE3, PE2 - PE3, PE1 - PE2, direct links)
// as netdev bridges of a private Open vSwitch, one `l3vpn agent` per node
// (ovs driver), the vpn service over the real bgp service (VPN routes and
// their LOCAL_PREF selected by the speaker, originated only once installed).
// Site `home` is one CE namespace with two links: eth0 to PE1 (its access
// `primary`, priority 200) and eth1 to PE2 (`backup`); site `remote` hangs
// off PE3. Both are dual stack; the CE of `home` routes out of eth0 and, with
// eth0's carrier gone, out of eth1 (a static default of higher metric and
// ignore_routes_with_linkdown). Shared by test/agent/site-failover.test.ts
// and bench/site-failover.ts. Names: namespaces l3sf-*, bridges and veths
// l3sf*, gRPC on 127.0.47.1. Run under flock /tmp/l3vpn-net.lock.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../../services/common/config.js';
import { createLogger } from '../../services/common/logger.js';
import type { RunningService } from '../../services/common/service.js';
import { agentSettings, startAgent } from '../../services/agent/main.js';
import { startTestBgp, type StartedBgp } from '../bgp/support.js';
import { eventually, startReconcileHarness, type ReconcileHarness } from '../vpn/reconcile-support.js';
import { type LabSpec, PacketLab } from './ovs-harness.js';
import { eventually as waitFor } from '../support/eventually.js';
import { Family, TableType } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';

const V6 = {
  home: { address: '2001:db8:61::2/64', gateway: '2001:db8:61::1', loopback: '2001:db8:60::1' },
  remote: { address: '2001:db8:63::2/64', gateway: '2001:db8:63::1', loopback: '2001:db8:64::1' },
};

export const SITE_FAILOVER_SPEC: LabSpec = {
  nodes: [
    { id: 'PE1', bridge: 'l3sfb1', portPrefix: 'l3sf1', interfaces: ['core0', 'core1', 'blu0'] },
    // PE2's blu0 is added once the CE's second veth exists (see addBackupLink).
    { id: 'PE2', bridge: 'l3sfb2', portPrefix: 'l3sf2', interfaces: ['core0', 'core1'] },
    { id: 'PE3', bridge: 'l3sfb3', portPrefix: 'l3sf3', interfaces: ['core0', 'core1', 'blu0'] },
  ],
  core: [
    ['l3sf1core0', 'l3sf3core0'],
    ['l3sf2core0', 'l3sf3core1'],
    ['l3sf1core1', 'l3sf2core1'],
  ],
  ces: [
    { ns: 'l3sf-home', port: 'l3sf1blu0', address: '192.168.61.2/30', gateway: '192.168.61.1', loopback: '10.60.0.1', ipv6: V6.home },
    { ns: 'l3sf-remote', port: 'l3sf3blu0', address: '192.168.63.2/30', gateway: '192.168.63.1', loopback: '10.64.0.1', ipv6: V6.remote },
  ],
};

export const HOME_NS = 'l3sf-home';
export const REMOTE_NS = 'l3sf-remote';
/** The dual-homed site's customer addresses (on the CE's loopback) and prefixes. */
export const HOME = { v4: '10.60.0.1', v6: V6.home.loopback, prefix4: '10.60.0.0/16', prefix6: '2001:db8:60::/48' };
/** The OVS ports (switch-side veth ends) of the two accesses, and the CE's device on each. */
export const ACCESS_PORT = { primary: 'l3sf1blu0', backup: 'l3sf2blu0' } as const;
export const CE_DEVICE = { primary: 'eth0', backup: 'eth1' } as const;
/** The BGP next hop (loopback = router id) of each PE. */
export const LOOPBACK: Record<string, string> = { PE1: '10.255.47.1', PE2: '10.255.47.2', PE3: '10.255.47.3' };

const SRGB = { base: 16000, size: 8000 };
const node = (id: string, n: number) => ({ id, role: 'PE', routerId: `10.255.47.${n}`, asNumber: 65000, srgb: SRGB, nodeSidIndex: n });
const link = (id: string, a: string, ai: string, b: string, bi: string, n: number) => ({
  id,
  a: { node: a, interface: ai, address: `10.0.47.${2 * n}/31` },
  b: { node: b, interface: bi, address: `10.0.47.${2 * n + 1}/31` },
  igpMetric: 10,
});

/** The dual-homed site: `primary` on PE1 preferred (priority 200), `backup` on PE2. */
export const homeSite = (extra: Record<string, unknown> = {}) => ({
  id: 'home',
  vpn: 'blue',
  accesses: [
    {
      id: 'primary',
      node: 'PE1',
      interface: 'blu0',
      priority: 200,
      ipv4: { peAddress: '192.168.61.1/30', ceAddress: '192.168.61.2' },
      ipv6: { peAddress: '2001:db8:61::1/64', ceAddress: '2001:db8:61::2' },
    },
    {
      id: 'backup',
      node: 'PE2',
      interface: 'blu0',
      ipv4: { peAddress: '192.168.62.1/30', ceAddress: '192.168.62.2' },
      ipv6: { peAddress: '2001:db8:62::1/64', ceAddress: '2001:db8:62::2' },
    },
  ],
  routing: { static: [{ prefix: HOME.prefix4 }, { prefix: HOME.prefix6 }] },
  ...extra,
});

const remoteSite = {
  id: 'remote',
  vpn: 'blue',
  node: 'PE3',
  interface: 'blu0',
  ipv4: { peAddress: '192.168.63.1/30', ceAddress: '192.168.63.2' },
  ipv6: { peAddress: '2001:db8:63::1/64', ceAddress: '2001:db8:63::2' },
  routing: { static: [{ prefix: '10.64.0.0/16' }, { prefix: '2001:db8:64::/48' }] },
};

const run = promisify(execFile);

export interface SiteFailoverLab {
  lab: PacketLab;
  h: ReconcileHarness;
  bgp: StartedBgp;
  agents: Map<string, RunningService>;
  /** The PE (by id) PE3 sends the dual-homed site's traffic to, per family; undefined: no route. */
  ingressTowards(family: 4 | 6, prefix?: string): Promise<string | undefined>;
  /** Sets an access's switch-side veth down or up, as a pulled cable (the CE's end loses carrier). */
  setAccess(access: keyof typeof ACCESS_PORT, up: boolean): Promise<void>;
  /** Packets received by the dual-homed CE on an access's device. */
  received(access: keyof typeof CE_DEVICE): Promise<number>;
  /** Whether one echo request from the remote CE to the dual-homed site is answered, per family. */
  reaches(family: 4 | 6, address?: string): Promise<boolean>;
  /** The site's per-access status states. */
  accessStates(): Promise<Record<string, string>>;
  /** Every agent on its newest generation. */
  allInSync(): Promise<boolean>;
  /**
   * PE1 dead, or back: its agent stopped and every port of its bridge down
   * (its neighbours and the CE lose carrier), or its ports up and its agent
   * started again.
   */
  setPe1Alive(alive: boolean): Promise<void>;
  stop(): Promise<void>;
}

/** The CE's second link, to PE2, and its backup routes (see the file comment). */
async function addBackupLink(lab: PacketLab): Promise<void> {
  const sw = lab.netns;
  const port = ACCESS_PORT.backup;
  await run('ip', ['-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', HOME_NS]);
  await run('ip', ['netns', 'exec', sw, 'sh', '-c', `echo 1 > /proc/sys/net/ipv6/conf/${port}/disable_ipv6`]);
  const ce = (...args: string[]) => lab.inNs(HOME_NS, ...args);
  // A route over a device without carrier is not used (the CE falls back to eth1 when eth0's link is cut).
  for (const d of ['all', 'default', 'eth0', 'eth1']) {
    ce('sysctl', '-qw', `net.ipv4.conf.${d}.ignore_routes_with_linkdown=1`);
    ce('sysctl', '-qw', `net.ipv6.conf.${d}.ignore_routes_with_linkdown=1`);
  }
  ce('sysctl', '-qw', 'net.ipv6.conf.eth1.disable_ipv6=0');
  ce('ip', 'link', 'set', 'eth1', 'up');
  ce('ethtool', '-K', 'eth1', 'tx', 'off');
  ce('ip', 'addr', 'add', '192.168.62.2/30', 'dev', 'eth1');
  ce('ip', '-6', 'addr', 'add', '2001:db8:62::2/64', 'dev', 'eth1', 'nodad');
  ce('ip', 'route', 'add', 'default', 'via', '192.168.62.1', 'dev', 'eth1', 'metric', '20');
  ce('ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:62::1', 'dev', 'eth1', 'metric', '2000');
  await run('ip', ['-n', sw, 'link', 'set', port, 'mtu', '1500', 'up']);
  lab.ovs.vsctl('add-port', 'l3sfb2', port);
}

/** The PE-CE BGP punt namespaces the agents left (kept across agent restarts by design: punt.ts), by their owner hash. */
async function removePuntNamespaces(switchNetns: string): Promise<void> {
  const owners = SITE_FAILOVER_SPEC.nodes.map((n) => `l3bgp-${createHash('sha256').update(`${n.bridge}\u0000${switchNetns}`).digest('hex').slice(0, 6)}-`);
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const ns of stdout.split('\n').map((l) => l.split(' ')[0]!)) if (owners.some((o) => ns.startsWith(o))) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
}

export interface SiteFailoverOptions {
  /** vpn.* settings as environment variables. */
  vpnEnv?: Record<string, string>;
  /** agent.* settings as environment variables. */
  agentEnv?: Record<string, string>;
  /** Fields of site `home` replacing the default ones (e.g. routing.bgp, accesses without IPv6). */
  home?: Record<string, unknown>;
  /** Started once the agents run, before convergence is awaited (the CE's BGP router). */
  startCe?: (lab: PacketLab) => Promise<void>;
  /** What convergence means for `home` (default: its static prefixes and loopback, both families). */
  converged?: { families: (4 | 6)[]; prefix: Record<number, string>; address: Record<number, string>; anyPe?: boolean };
}

export async function startSiteFailoverLab(o: SiteFailoverOptions = {}): Promise<SiteFailoverLab> {
  const lab = await PacketLab.start(SITE_FAILOVER_SPEC);
  const agents = new Map<string, RunningService>();
  let h: ReconcileHarness | undefined;
  let bgp: StartedBgp | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'l3sf-'));
  const stop = async () => {
    for (const a of agents.values()) await a.stop(1000);
    await h?.stop();
    await bgp?.stop();
    const sw = lab.netns;
    await lab.stop();
    await removePuntNamespaces(sw);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await addBackupLink(lab);
    bgp = await startTestBgp({ BGP_AS: '65000', BGP_ROUTER_ID: '10.255.47.100', BGP_PORT: '0' });
    h = await startReconcileHarness({
      VPN_GRPC_LISTEN: '127.0.47.1:0',
      VPN_BGP_ADDRESS: `127.0.0.1:${bgp.svc.grpcPort}`,
      VPN_ORIGINATE_AFTER_INSTALL: 'true',
      VPN_REQUIRE_AGENTS: 'true',
      ...o.vpnEnv,
    });
    const hh = h;
    const post = async (path: string, body: object) => {
      const res = await hh.call('POST', path, { body });
      assert.equal(res.status, 201, `${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    };
    for (const [id, n] of [['PE1', 1], ['PE2', 2], ['PE3', 3]] as const) await post('/v1/nodes', node(id, n));
    const credentials = new Map<string, string>();
    for (const id of ['PE1', 'PE2', 'PE3']) credentials.set(id, await hh.enrol(id));
    await post('/v1/links', link('pe1-pe3', 'PE1', 'core0', 'PE3', 'core0', 0));
    await post('/v1/links', link('pe2-pe3', 'PE2', 'core0', 'PE3', 'core1', 1));
    await post('/v1/links', link('pe1-pe2', 'PE1', 'core1', 'PE2', 'core1', 2));
    await post('/v1/vpns', { id: 'blue', customer: 'blue', addressFamilies: ['ipv4', 'ipv6'] });
    await post('/v1/sites', homeSite(o.home));
    await post('/v1/sites', remoteSite);

    const log = createLogger('agent', process.env.TEST_LOG_LEVEL ?? 'silent');
    const start = async (id: string) => {
      const n = SITE_FAILOVER_SPEC.nodes.find((x) => x.id === id)!;
      const env = { ...lab.agentEnv(n, { controller: `127.0.47.1:${hh.vpn.grpcPort}`, token: credentials.get(n.id)!, stateDir: join(dir, n.id) }), ...o.agentEnv };
      agents.set(n.id, await startAgent(loadSettings(agentSettings, { env }), log.child({ node: n.id })));
    };
    for (const n of SITE_FAILOVER_SPEC.nodes) await start(n.id);
    await o.startCe?.(lab);
    const pe1Ports = SITE_FAILOVER_SPEC.nodes[0]!.interfaces.map((i) => `l3sf1${i}`);
    const byLoopback = new Map(Object.entries(LOOPBACK).map(([id, a]) => [a, id]));
    const f: SiteFailoverLab = {
      lab,
      h,
      bgp,
      agents,
      async ingressTowards(family, prefix = family === 4 ? HOME.prefix4 : HOME.prefix6) {
        const s = (await hh.vpn.store.latest('PE3'))?.state;
        const r = s?.vrfRoutes.find((x) => x.vrf === 'blue' && x.prefix === prefix);
        return r?.nextHop?.$case === 'remote' ? byLoopback.get(r.nextHop.value.remotePeAddress) : undefined;
      },
      setAccess: async (access, up) => void (await run('ip', ['-n', lab.netns, 'link', 'set', ACCESS_PORT[access], up ? 'up' : 'down'])),
      received: async (access) => Number((await run('ip', ['netns', 'exec', HOME_NS, 'cat', `/sys/class/net/${CE_DEVICE[access]}/statistics/rx_packets`])).stdout.trim()),
      reaches: (family, address = family === 4 ? HOME.v4 : HOME.v6) =>
        run('ip', ['netns', 'exec', REMOTE_NS, 'ping', `-${family}`, '-c', '1', '-W', '1', address]).then(
          () => true,
          () => false,
        ),
      async accessStates() {
        const body = (await hh.call('GET', '/v1/sites/home')).body as { accesses: { id: string; status: { state: string } }[] };
        return Object.fromEntries(body.accesses.map((a) => [a.id, a.status.state]));
      },
      allInSync: async () => (await Promise.all(['PE1', 'PE2', 'PE3'].map(async (id) => (await hh.call('GET', `/v1/nodes/${id}/state`)).body.inSync === true))).every(Boolean),
      async setPe1Alive(alive) {
        if (!alive) {
          await agents.get('PE1')?.stop(1000);
          agents.delete('PE1');
        }
        for (const port of pe1Ports) await run('ip', ['-n', lab.netns, 'link', 'set', port, alive ? 'up' : 'down']);
        if (alive) await start('PE1');
      },
      stop,
    };
    // Converged: both sites active, PE3 sending to the primary, the remote CE reaching the site in both families.
    for (const id of ['home', 'remote']) await eventually(`site ${id} active`, async () => (await hh.call('GET', `/v1/sites/${id}`)).body.status.state === 'active', 90_000);
    await eventually('every agent on its newest generation', () => f.allInSync(), 60_000);
    const c = o.converged ?? { families: [4, 6], prefix: { 4: HOME.prefix4, 6: HOME.prefix6 }, address: { 4: HOME.v4, 6: HOME.v6 } };
    for (const fam of c.families) {
      const ok = (pe: string | undefined) => (c.anyPe ? pe !== undefined : pe === 'PE1');
      await waitFor(`PE3 to send IPv${fam} to ${c.anyPe ? 'a PE' : 'PE1 (the primary)'}`, async () => ok(await f.ingressTowards(fam, c.prefix[fam])), {
        timeoutMs: 60_000,
        describe: async () => {
          const vpn = (await bgp!.listPath(Family.FAMILY_VPN_IPV4, TableType.TABLE_TYPE_LOCAL)).map((p) => `${p.rd} ${p.prefix} via ${p.nextHop} lp ${p.localPref} from ${p.source}`);
          const pe3 = (await hh.vpn.store.latest('PE3'))?.state.vrfRoutes.filter((r) => r.vrf === 'blue').map((r) => `${r.prefix} ${JSON.stringify(r.nextHop)}`);
          return `VPNv4 paths: ${vpn.join('; ')}\nPE3 routes: ${pe3?.join('; ')}\nsite: ${JSON.stringify((await hh.call('GET', '/v1/sites/home')).body)}`;
        },
      });
      await eventually(`the remote CE to reach the site over IPv${fam}`, () => f.reaches(fam, c.address[fam]), 30_000);
    }
    return f;
  } catch (err) {
    await stop();
    throw err;
  }
}
