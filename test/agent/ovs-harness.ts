// A private Open vSwitch for tests: its own ovsdb-server and ovs-vswitchd
// (userspace datapath, --disable-system: no kernel module) in a temp run
// directory, as child processes of the test that are killed by their pid.
// Ports are "dummy" netdevs (--enable-dummy), so nothing appears on the host.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

async function waitFor(path: string, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${what} did not create ${path}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export class PrivateOvs {
  readonly env: NodeJS.ProcessEnv;
  private readonly children: ChildProcess[] = [];

  private constructor(readonly dir: string) {
    this.env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
  }

  static async start(): Promise<PrivateOvs> {
    const ovs = new PrivateOvs(mkdtempSync(join(tmpdir(), 'l3vpn-ovs-')));
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
    const child = spawn(bin, args, { env: this.env, stdio: 'ignore' });
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
  }
}
