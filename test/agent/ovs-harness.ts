// A private Open vSwitch for tests: its own ovsdb-server and ovs-vswitchd
// (userspace datapath, --disable-system: no kernel module) in a temp run
// directory, as child processes of the test that are killed by their pid.
// As root it runs in a network namespace of its own: every userspace
// datapath creates a tap device "ovs-netdev" and one per bridge, which
// would clash with any other OVS on the host (and outlive a killed test);
// deleting the namespace takes them all. Ports are "dummy" netdevs
// (--enable-dummy), or veths the packet lab creates in that namespace.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../support/eventually.js';
import { toolMissing } from '../support/tools.js';

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export function ovsMissing(): string | undefined {
  for (const bin of ['ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl', 'ovsdb-tool']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed (apt-get install -y openvswitch-switch)`;
    }
  }
  if (!existsSync(SCHEMA)) return `${SCHEMA} is missing`;
  return undefined;
}

function waitFor(path: string, what: string): Promise<boolean> {
  return eventually(`${what} to create ${path}`, () => existsSync(path), { intervalMs: 20 });
}

let namespaces = 0;

export class PrivateOvs {
  readonly env: NodeJS.ProcessEnv;
  private readonly children: ChildProcess[] = [];

  private constructor(
    readonly dir: string,
    /** The network namespace ovs-vswitchd runs in (its ports live there), or undefined: the host's. */
    readonly netns: string | undefined,
  ) {
    this.env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
  }

  static async start(): Promise<PrivateOvs> {
    const netns = process.getuid?.() === 0 ? `l3ov-sw${process.pid}-${namespaces++}` : undefined;
    if (netns) execFileSync('ip', ['netns', 'add', netns]);
    const ovs = new PrivateOvs(mkdtempSync(join(tmpdir(), 'l3vpn-ovs-')), netns);
    const d = ovs.dir;
    execFileSync('ovsdb-tool', ['create', join(d, 'conf.db'), SCHEMA], { env: ovs.env });
    ovs.spawn('ovsdb-server', [join(d, 'conf.db'), `--remote=punix:${join(d, 'db.sock')}`, `--unixctl=${join(d, 'ovsdb-server.ctl')}`, `--log-file=${join(d, 'ovsdb-server.log')}`]);
    await waitFor(join(d, 'db.sock'), 'ovsdb-server');
    ovs.vsctl('--no-wait', 'init');
    ovs.spawn('ovs-vswitchd', [`unix:${join(d, 'db.sock')}`, '--disable-system', '--enable-dummy', `--unixctl=${join(d, 'ovs-vswitchd.ctl')}`, `--log-file=${join(d, 'ovs-vswitchd.log')}`]);
    await waitFor(join(d, 'ovs-vswitchd.ctl'), 'ovs-vswitchd');
    return ovs;
  }

  private spawn(bin: string, args: string[]): void {
    // `ip netns exec` execs the daemon: the child's pid is the daemon's.
    const child = this.netns ? spawn('ip', ['netns', 'exec', this.netns, bin, ...args], { env: this.env, stdio: 'ignore' }) : spawn(bin, args, { env: this.env, stdio: 'ignore' });
    this.children.push(child);
  }

  /** Resident memory of ovs-vswitchd, in bytes (from /proc, see DATAPLANE.md on zombies). */
  vswitchdRss(): number {
    const pid = this.children[1]?.pid;
    if (!pid) return 0;
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  }

  vsctl(...args: string[]): string {
    return execFileSync('ovs-vsctl', [`--db=unix:${join(this.dir, 'db.sock')}`, '--timeout=10', ...args], { env: this.env, encoding: 'utf8' });
  }

  ofctl(...args: string[]): string {
    return execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', ...args], { env: this.env, encoding: 'utf8' });
  }

  /** A netdev bridge with fail_mode=secure (a table miss drops) and dummy ports numbered from 1. */
  async addBridge(name: string, ports: readonly string[]): Promise<string> {
    const args = ['add-br', name, '--', 'set', 'bridge', name, 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow13'];
    ports.forEach((p, i) => args.push('--', 'add-port', name, p, '--', 'set', 'interface', p, 'type=dummy', `ofport_request=${i + 1}`));
    this.vsctl(...args);
    const mgmt = join(this.dir, `${name}.mgmt`);
    await waitFor(mgmt, `bridge ${name}`);
    return `unix:${mgmt}`;
  }

  deleteBridge(name: string): void {
    this.vsctl('--if-exists', 'del-br', name);
  }

  /** Flows as ovs-ofctl prints them, without counters. */
  dumpFlows(bridge: string, ...filter: string[]): string[] {
    return this.ofctl('--no-stats', 'dump-flows', bridge, ...filter)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('OFPST_FLOW') && !l.startsWith('NXST_FLOW'));
  }

  async stop(): Promise<void> {
    for (const c of this.children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (this.netns) tryRun('ip', ['netns', 'del', this.netns]);
  }
}

// ---- A packet lab: CE namespaces and core veths around netdev bridges ----

const run = (cmd: string, args: readonly string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const tryRun = (cmd: string, args: readonly string[]) => {
  try {
    run(cmd, args);
  } catch {
    /* already gone */
  }
};

export interface LabNode {
  id: string;
  bridge: string;
  /** Prefix of the node's OVS ports (the agent's agent.ovs-port-prefix): port = prefix + interface. */
  portPrefix: string;
  interfaces: string[];
}

export interface LabCe {
  ns: string;
  /** The OVS port (a veth end) the CE hangs off: portPrefix + interface of its PE. */
  port: string;
  /** The CE's address with its length on the attachment, and its gateway (the PE). */
  address: string;
  gateway: string;
  /** An address behind the CE (on its loopback), a customer prefix of the site. */
  loopback: string;
  /** The same in IPv6, for a dual-stack site: IPv6 is enabled on the CE's link and loopback only. */
  ipv6?: { address: string; gateway: string; loopback: string };
}

export interface LabSpec {
  nodes: LabNode[];
  /** Core links as pairs of OVS ports (veth ends). */
  core: [string, string][];
  ces: LabCe[];
}

/** What the packet lab needs besides Open vSwitch; undefined when all is there. */
export function labMissing(extra: readonly string[] = []): string | undefined {
  const ovs = ovsMissing();
  if (ovs) return ovs;
  if (process.getuid?.() !== 0) return 'needs root for network namespaces and veths';
  const packages: Record<string, string> = { ip: 'iproute2', ping: 'iputils-ping', ethtool: 'ethtool', tshark: 'tshark' };
  for (const bin of ['ip', 'ping', 'ethtool', ...extra]) {
    const missing = toolMissing(bin, packages[bin] ?? bin);
    if (missing) return missing;
  }
  return undefined;
}

function noIpv6(dev: string, ns?: string): void {
  const path = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  const cmd = ['sh', '-c', `[ -e ${path} ] && echo 1 > ${path} || true`];
  run(ns ? 'ip' : cmd[0]!, ns ? ['netns', 'exec', ns, ...cmd] : cmd.slice(1));
}

/**
 * CE hosts in their own namespaces and PE/P nodes as netdev bridges of one
 * private OVS, joined by veths in the switch's namespace (MTU 1508: two
 * labels on 1,500-byte packets, DATAPLANE.md). CEs have no static
 * neighbours: they resolve their gateway with ARP like any host. Only the
 * names in the spec are touched.
 */
export class PacketLab {
  private constructor(
    readonly ovs: PrivateOvs,
    readonly spec: LabSpec,
    /** The switch's namespace: core veths and the PE ends of CE links. */
    readonly netns: string,
  ) {}

  static async start(spec: LabSpec): Promise<PacketLab> {
    const ovs = await PrivateOvs.start();
    if (!ovs.netns) {
      await ovs.stop();
      throw new Error('the packet lab needs root (network namespaces)');
    }
    const lab = new PacketLab(ovs, spec, ovs.netns);
    try {
      lab.build();
    } catch (err) {
      await lab.stop();
      throw err;
    }
    return lab;
  }

  /** The CE namespaces (the switch's goes with the switch; its veths with it). */
  static cleanup(spec: LabSpec): void {
    for (const c of spec.ces) tryRun('ip', ['netns', 'del', c.ns]);
  }

  private build(): void {
    PacketLab.cleanup(this.spec);
    const sw = this.netns;
    noIpv6('all', sw);
    noIpv6('default', sw);
    for (const [a, b] of this.spec.core) {
      run('ip', ['-n', sw, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      for (const d of [a, b]) {
        noIpv6(d, sw);
        run('ip', ['-n', sw, 'link', 'set', d, 'mtu', '1508', 'up']);
      }
    }
    for (const c of this.spec.ces) {
      run('ip', ['netns', 'add', c.ns]);
      noIpv6('all', c.ns);
      noIpv6('default', c.ns);
      run('ip', ['-n', sw, 'link', 'add', c.port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c.ns]);
      noIpv6(c.port, sw);
      this.inNs(c.ns, 'ip', 'link', 'set', 'lo', 'up');
      this.inNs(c.ns, 'ip', 'link', 'set', 'eth0', 'up');
      // Checksums are left to the (absent) NIC otherwise, and TCP would fail (DATAPLANE.md).
      this.inNs(c.ns, 'ethtool', '-K', 'eth0', 'tx', 'off');
      this.inNs(c.ns, 'ip', 'addr', 'add', c.address, 'dev', 'eth0');
      this.inNs(c.ns, 'ip', 'addr', 'add', `${c.loopback}/32`, 'dev', 'lo');
      this.inNs(c.ns, 'ip', 'route', 'add', 'default', 'via', c.gateway, 'src', c.address.split('/')[0]!);
      if (c.ipv6) {
        for (const d of ['lo', 'eth0']) this.inNs(c.ns, 'sysctl', '-qw', `net.ipv6.conf.${d}.disable_ipv6=0`);
        // No duplicate address detection: the addresses are usable at once.
        this.inNs(c.ns, 'ip', '-6', 'addr', 'add', c.ipv6.address, 'dev', 'eth0', 'nodad');
        this.inNs(c.ns, 'ip', '-6', 'addr', 'add', `${c.ipv6.loopback}/128`, 'dev', 'lo', 'nodad');
        this.inNs(c.ns, 'ip', '-6', 'route', 'add', 'default', 'via', c.ipv6.gateway, 'src', c.ipv6.address.split('/')[0]!);
      }
      run('ip', ['-n', sw, 'link', 'set', c.port, 'up']);
    }
    for (const n of this.spec.nodes) {
      this.ovs.vsctl('add-br', n.bridge, '--', 'set', 'bridge', n.bridge, 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow13');
      for (const i of n.interfaces) this.ovs.vsctl('add-port', n.bridge, `${n.portPrefix}${i}`);
    }
  }

  target(node: LabNode): string {
    return `unix:${this.ovs.dir}/${node.bridge}.mgmt`;
  }

  /** The settings (as environment variables) of an ovs agent for `node` on this lab, against the controller at `controller`. */
  agentEnv(node: LabNode, o: { controller: string; token: string; stateDir: string }): Record<string, string> {
    return {
      AGENT_NODE: node.id,
      AGENT_CONTROLLER: o.controller,
      AGENT_TOKEN: o.token,
      AGENT_DRIVER: 'ovs',
      AGENT_OVS_TARGET: this.target(node),
      AGENT_OVS_PORT_PREFIX: node.portPrefix,
      AGENT_STATE_DIR: o.stateDir,
      AGENT_RECONNECT_MAX_SECONDS: '1',
      // PE-CE BGP punt ports: made in the private switch's database and namespace.
      AGENT_OVS_DB: `unix:${this.ovs.dir}/db.sock`,
      AGENT_OVS_NETNS: this.netns,
    };
  }

  inNs(ns: string, ...args: string[]): string {
    return run('ip', ['netns', 'exec', ns, ...args]);
  }

  /** Whether any of `count` echo requests from the namespace to `to` is answered (ping's exit status). */
  ping(ns: string, to: string, count = 3): boolean {
    try {
      this.inNs(ns, 'ping', to.includes(':') ? '-6' : '-4', '-c', String(count), '-i', '0.2', '-W', '1', to);
      return true;
    } catch {
      return false;
    }
  }

  /** Packets counted by the first flow of a bridge that matches `filter`. */
  packets(bridge: string, filter: string): number {
    const line = this.ovs.ofctl('dump-flows', bridge, filter).split('\n').find((l) => l.includes('n_packets='));
    return Number(/n_packets=(\d+)/.exec(line ?? '')?.[1] ?? 0);
  }

  async stop(): Promise<void> {
    await this.ovs.stop();
    PacketLab.cleanup(this.spec);
  }
}

// ---- Captures (tshark) ----

export interface CapturedFrame {
  src: string;
  dst: string;
  /** ICMP type (8 echo request, 0 echo reply); NaN when not ICMP. */
  icmpType: number;
  /** The MPLS label stack, outermost first, with each label's bottom-of-stack bit and TTL. */
  labels: { label: number; bos: number; ttl: number }[];
  ipTtl: number;
}

const FIELDS = ['ip.src', 'ip.dst', 'icmp.type', 'mpls.label', 'mpls.bottom', 'mpls.ttl', 'ip.ttl'];

/** Decodes the IPv4 frames of a capture file with tshark. */
export function decodeCapture(file: string): CapturedFrame[] {
  const out = run('tshark', ['-r', file, '-Y', 'ip', '-T', 'fields', ...FIELDS.flatMap((f) => ['-e', f]), '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,']);
  const nums = (s: string | undefined) => (s ? s.split(',').map((x) => Number(x.startsWith('0x') ? parseInt(x, 16) : x)) : []);
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [src, dst, icmp, label, bos, ttl, ipTtl] = l.split('\t');
      const ls = nums(label);
      const bs = nums(bos);
      const ts = nums(ttl);
      return {
        src: src!.split(',')[0]!,
        dst: dst!.split(',')[0]!,
        icmpType: icmp ? Number(icmp.split(',')[0]) : NaN,
        labels: ls.map((x, i) => ({ label: x, bos: bs[i] ?? -1, ttl: ts[i] ?? -1 })),
        ipTtl: Number(ipTtl?.split(',')[0]),
      };
    });
}

/** Captures on each interface while `during` runs; returns the decoded frames per interface. */
export async function capture(netns: string, interfaces: readonly string[], dir: string, during: () => void | Promise<void>): Promise<Map<string, CapturedFrame[]>> {
  const procs = interfaces.map((i) => {
    const file = join(dir, `${i}.pcapng`);
    const p = spawn('ip', ['netns', 'exec', netns, 'tshark', '-i', i, '-w', file, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const started = new Promise<void>((resolve, reject) => {
      let err = '';
      p.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        if (err.includes('Capturing on')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`tshark on ${i} exited (${code}): ${err}`)));
    });
    const exited = new Promise((r) => p.once('exit', r));
    return { i, p, file, started, exited };
  });
  try {
    await Promise.all(procs.map((x) => x.started));
    // dumpcap announces the interface a moment before its first packet is kept.
    await new Promise((r) => setTimeout(r, 500));
    await during();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    for (const x of procs) if (x.p.exitCode === null) x.p.kill('SIGINT');
    await Promise.all(procs.map((x) => Promise.race([x.exited, new Promise((r) => setTimeout(r, 5000))])));
    for (const x of procs) if (x.p.exitCode === null && x.p.signalCode === null) x.p.kill('SIGKILL');
  }
  return new Map(procs.map((x) => [x.i, decodeCapture(x.file)]));
}
