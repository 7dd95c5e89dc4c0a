// The lab's data plane on Open vSwitch: a private ovsdb-server and
// ovs-vswitchd (userspace datapath, no kernel module), one netdev bridge per
// managed node, a veth pair per core link, and one CE host per PE port: a
// network namespace whose eth0 is the other end of the port's veth.
//
// CE hosts resolve their gateway with ARP, which the PE's pipeline answers
// and learns the CE's MAC from. Facts behind the settings (MTU 1508,
// offloads, IPv6 off): DATAPLANE.md.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CeAddressing } from './ce-addressing.js';
import { puntNamespacePrefix } from '../agent/drivers/ovs/punt.js';
import { Daemon, run, runQuiet, waitUntil, which } from './processes.js';
import type { ResourceRecorder } from './resources.js';
import { coreInterfaces, type Topology } from './topology.js';

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
/** 1,500-byte customer packets plus two labels need 1,508 on both ends of a core veth. */
const CORE_MTU = 1508;
const MAX_IFNAME = 15;

/** Why the ovs driver cannot be used here, or undefined when it can. */
export async function ovsUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the ovs lab needs root (network namespaces, veths)';
  for (const bin of ['ovsdb-server', 'ovs-vswitchd', 'ovsdb-tool', 'ovs-vsctl', 'ip', 'ethtool']) {
    if (!(await which(bin))) return `${bin} is not installed (Debian: apt-get install openvswitch-switch iproute2 ethtool)`;
  }
  if (!existsSync(SCHEMA)) return `${SCHEMA} is missing (apt-get install openvswitch-switch)`;
  return undefined;
}

export interface OvsNodePlan {
  node: string;
  bridge: string;
  /** Prefix of this node's OVS ports: port = prefix + interface name in the desired state. */
  portPrefix: string;
}

export interface CeHost {
  node: string;
  port: string;
  namespace: string;
}

const inNs = (ns: string, ...args: string[]) => run('ip', ['netns', 'exec', ns, ...args]);

/** IPv6 on a CE host's eth0, without router advertisements or autoconfiguration (the CE is configured as the site says). */
async function setIpv6(ns: string, on: boolean): Promise<void> {
  const conf = '/proc/sys/net/ipv6/conf/eth0';
  await inNs(ns, 'sh', '-c', `[ -e ${conf} ] || exit 0; echo 0 > ${conf}/accept_ra; echo 0 > ${conf}/autoconf; echo ${on ? 0 : 1} > ${conf}/disable_ipv6`);
}

async function noIpv6(dev: string, ns?: string): Promise<void> {
  const path = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  const cmd = ['sh', '-c', `[ -e ${path} ] && echo 1 > ${path} || true`];
  if (ns) await inNs(ns, ...cmd);
  else await run(cmd[0]!, cmd.slice(1));
}

export class OvsNetwork {
  private readonly daemons: Daemon[] = [];
  private readonly veths: string[] = [];
  readonly ces: CeHost[] = [];
  readonly bridges: string[] = [];
  private readonly plans = new Map<string, OvsNodePlan>();
  private readonly env: NodeJS.ProcessEnv;

  private constructor(
    readonly dir: string,
    private readonly namePrefix: string,
    private readonly record?: ResourceRecorder,
  ) {
    this.env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
  }

  /** The plan of node i (0-based): its bridge and port prefix, short enough for Linux interface names. */
  private static nodePlan(namePrefix: string, node: string, i: number): OvsNodePlan {
    return { node, bridge: `${namePrefix}br${i + 1}`, portPrefix: `${namePrefix}${i + 1}-` };
  }

  /**
   * The network of a topology: a bridge per node, a veth pair per link, a CE
   * host per PE port. Undone by `teardown`; `record` learns every daemon,
   * namespace and link before it exists.
   */
  static async build(dir: string, namePrefix: string, t: Topology, teardown: { add(what: string, undo: () => Promise<void>): void }, record?: ResourceRecorder): Promise<OvsNetwork> {
    const net = await OvsNetwork.start(dir, namePrefix, record);
    teardown.add('Open vSwitch network', () => net.stop());
    t.nodes.forEach((n, i) => net.plans.set(n.id, OvsNetwork.nodePlan(namePrefix, n.id, i)));
    for (const n of t.nodes) await net.addBridge(net.plan(n.id)!);
    const cores = coreInterfaces(t);
    for (const [i, l] of t.links.entries()) await net.addLink(net.plan(l.a)!, cores[i]!.a, net.plan(l.b)!, cores[i]!.b);
    for (const n of t.nodes) for (const p of n.cePorts) await net.addCe(net.plan(n.id)!, p);
    return net;
  }

  plan(node: string): OvsNodePlan | undefined {
    return this.plans.get(node);
  }

  private static async start(dir: string, namePrefix: string, record?: ResourceRecorder): Promise<OvsNetwork> {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const net = new OvsNetwork(dir, namePrefix, record);
    try {
      await run('ovsdb-tool', ['create', join(dir, 'conf.db'), SCHEMA], { env: net.env });
      net.daemons.push(Daemon.start('ovsdb-server', 'ovsdb-server', [join(dir, 'conf.db'), `--remote=punix:${join(dir, 'db.sock')}`, `--unixctl=${join(dir, 'ovsdb-server.ctl')}`], join(dir, 'ovsdb-server.log'), net.env, record));
      await waitUntil('ovsdb-server socket', () => existsSync(join(dir, 'db.sock')), 10_000);
      await net.vsctl('--no-wait', 'init');
      net.daemons.push(Daemon.start('ovs-vswitchd', 'ovs-vswitchd', [`unix:${join(dir, 'db.sock')}`, '--disable-system', `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`], join(dir, 'ovs-vswitchd.log'), net.env, record));
      await waitUntil('ovs-vswitchd control socket', () => existsSync(join(dir, 'ovs-vswitchd.ctl')), 10_000);
      return net;
    } catch (err) {
      await net.stop();
      throw err;
    }
  }

  vsctl(...args: string[]): Promise<string> {
    return run('ovs-vsctl', [`--db=unix:${join(this.dir, 'db.sock')}`, '--timeout=10', ...args], { env: this.env });
  }

  /** This switch's database, as ovs-vsctl --db takes it (an agent adds its PE-CE BGP punt ports there). */
  get db(): string {
    return `unix:${join(this.dir, 'db.sock')}`;
  }

  /** The OpenFlow endpoint an agent's ovs driver connects to. */
  target(plan: OvsNodePlan): string {
    return `unix:${join(this.dir, `${plan.bridge}.mgmt`)}`;
  }

  async addBridge(plan: OvsNodePlan): Promise<void> {
    this.record?.link(plan.bridge); // its tap device outlives a killed ovs-vswitchd
    await this.vsctl('add-br', plan.bridge, '--', 'set', 'bridge', plan.bridge, 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow13');
    this.bridges.push(plan.bridge);
    await waitUntil(`bridge ${plan.bridge}`, () => existsSync(join(this.dir, `${plan.bridge}.mgmt`)), 10_000);
  }

  private async addVeth(a: string, b: string): Promise<void> {
    for (const name of [a, b]) if (name.length > MAX_IFNAME) throw new Error(`interface name '${name}' is longer than ${MAX_IFNAME} characters; use shorter port names`);
    this.record?.link(a);
    await runQuiet('ip', ['link', 'del', a]);
    await run('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    this.veths.push(a);
  }

  /** A core link: a veth pair between two bridges, MTU 1508 on both ends. */
  async addLink(a: OvsNodePlan, aIf: string, b: OvsNodePlan, bIf: string): Promise<void> {
    const [pa, pb] = [a.portPrefix + aIf, b.portPrefix + bIf];
    await this.addVeth(pa, pb);
    for (const d of [pa, pb]) {
      await noIpv6(d);
      await run('ip', ['link', 'set', d, 'mtu', String(CORE_MTU), 'up']);
    }
    await this.vsctl('add-port', a.bridge, pa, '--', 'add-port', b.bridge, pb);
  }

  /** A CE host on a PE port: namespace `<prefix>-<node>-<port>`, its eth0 the far end of the port's veth. */
  async addCe(plan: OvsNodePlan, port: string): Promise<CeHost> {
    const ns = `${this.namePrefix}-${plan.node}-${port}`;
    const hostEnd = plan.portPrefix + port;
    const tmp = `${this.namePrefix}tmp`;
    this.record?.namespace(ns);
    await runQuiet('ip', ['netns', 'del', ns]);
    await run('ip', ['netns', 'add', ns]);
    const ce: CeHost = { node: plan.node, port, namespace: ns };
    this.ces.push(ce);
    await this.addVeth(hostEnd, tmp);
    await run('ip', ['link', 'set', tmp, 'netns', ns]);
    await inNs(ns, 'ip', 'link', 'set', tmp, 'name', 'eth0');
    await noIpv6('all', ns);
    await noIpv6('eth0', ns);
    await noIpv6(hostEnd);
    await inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
    await inNs(ns, 'ip', 'link', 'set', 'eth0', 'up');
    // Checksums are not filled in by veth offload on the userspace datapath: TCP would fail.
    await inNs(ns, 'ethtool', '-K', 'eth0', 'tx', 'off');
    await run('ip', ['link', 'set', hostEnd, 'up']);
    await this.vsctl('add-port', plan.bridge, hostEnd);
    return ce;
  }

  /** Gives a CE host its addresses (replacing any it had): what a customer does when a site is connected. */
  async addressCe(ce: CeHost, a: CeAddressing): Promise<void> {
    await inNs(ce.namespace, 'ip', 'addr', 'flush', 'dev', 'eth0');
    await inNs(ce.namespace, 'ip', 'addr', 'flush', 'dev', 'lo');
    await inNs(ce.namespace, 'ip', 'addr', 'add', '127.0.0.1/8', 'dev', 'lo');
    await inNs(ce.namespace, 'ip', 'addr', 'add', a.address, 'dev', 'eth0');
    for (const l of a.loopbacks) await inNs(ce.namespace, 'ip', 'addr', 'add', `${l}/32`, 'dev', 'lo');
    await inNs(ce.namespace, 'ip', 'route', 'replace', 'default', 'via', a.gateway, 'src', a.address.split('/')[0]!);
    // IPv6 stays off on a CE host (no router solicitations, no SLAAC, no DAD noise on the PE port) unless its site has an IPv6 attachment.
    await setIpv6(ce.namespace, !!a.ipv6);
    if (a.ipv6) {
      await inNs(ce.namespace, 'ip', '-6', 'addr', 'add', a.ipv6.address, 'dev', 'eth0', 'nodad');
      await inNs(ce.namespace, 'ip', '-6', 'route', 'replace', 'default', 'via', a.ipv6.gateway);
      // As ARP above: the neighbour solicitation tells the PE the CE's MAC.
      await inNs(ce.namespace, 'ping', '-6', '-c', '1', '-W', '1', a.ipv6.gateway).catch(() => undefined);
    }
    // Resolving the gateway tells the PE the CE's MAC (the pipeline learns it from the ARP request), so
    // traffic towards a CE that has not sent anything yet is delivered too. The ping itself may go unanswered.
    await inNs(ce.namespace, 'ping', '-c', '1', '-W', '1', a.gateway).catch(() => undefined);
  }

  /** Takes a CE host's addresses and routes away (its site was deleted). */
  async unaddressCe(ce: CeHost): Promise<void> {
    await inNs(ce.namespace, 'ip', 'route', 'flush', 'table', 'main');
    await inNs(ce.namespace, 'ip', 'addr', 'flush', 'dev', 'eth0');
    await inNs(ce.namespace, 'ip', 'addr', 'flush', 'dev', 'lo');
    await inNs(ce.namespace, 'ip', 'addr', 'add', '127.0.0.1/8', 'dev', 'lo');
  }

  ce(node: string, port: string): CeHost | undefined {
    return this.ces.find((c) => c.node === node && c.port === port);
  }

  /** Stops the switch and removes every namespace and veth it made. */
  async stop(): Promise<void> {
    // Bridges first, while the switch runs: a netdev bridge's tap device outlives a stopped ovs-vswitchd.
    for (const b of this.bridges) await this.vsctl('--if-exists', 'del-br', b).catch(() => undefined);
    for (const d of [...this.daemons].reverse()) await d.stop(3000);
    for (const b of this.bridges) await runQuiet('ip', ['link', 'del', b]);
    for (const c of this.ces) await runQuiet('ip', ['netns', 'del', c.namespace]);
    // The agents' PE-CE BGP punt namespaces (they outlive an agent on purpose, to be adopted by the next one).
    const punts = this.bridges.map((b) => puntNamespacePrefix(b));
    const listed = await run('ip', ['netns', 'list']).catch(() => '');
    for (const line of listed.split('\n')) {
      const ns = line.split(' ')[0] ?? '';
      if (punts.some((p) => ns.startsWith(p))) await runQuiet('ip', ['netns', 'del', ns]);
    }
    for (const v of this.veths) await runQuiet('ip', ['link', 'del', v]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
