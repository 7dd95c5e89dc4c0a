// The PE-CE BGP punt of an attachment (VrfInterface.bgp_sessions) on the
// ovs driver: a network namespace per (VRF, interface, VLAN) holding the
// attachment's PE addresses of its sessions (full-length, IPv4 and IPv6)
// on a veth whose other end is a port of the bridge, with the PE's MAC on
// that attachment; a listener process inside (ce-bgp/listener.ts) accepts
// on port 179 and hands each connection to the agent's unix socket. The
// switch's flows (pipeline.ts) let only the listed sessions' TCP in and
// out of the port, so the namespace's kernel never resolves a neighbour:
// each CE has a static neighbour entry and a host route, and the switch
// puts the CE's learnt MAC on the way out.
//
// Names are derived from the attachment (and an owner tag per bridge), so
// a restarted agent finds the namespaces of the previous run: it adopts
// them (addresses, routes and the listener set again) or, when no entry
// wants them any more, removes them with their port.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface, type Interface } from 'node:readline';
import { promisify } from 'node:util';
import type { VrfInstance } from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { formatAddress, parseAddress } from '../../../common/desired-state/prefix.js';
import { CLOSE_WAIT_MS } from '../../ce-bgp/listener.js';

const run = promisify(execFile);

export interface BgpPuntOptions {
  /** The OVS bridge the punt ports are added to. */
  bridge: string;
  /** The agent's unix socket the listeners hand connections to (ce-bgp/relay.ts). */
  socketPath: string;
  /** The network namespace ovs-vswitchd's ports live in (a lab's private switch); undefined: the host's. */
  switchNetns?: string;
  /** ovs-vsctl and the arguments that reach this bridge's database (default: ["ovs-vsctl"]). */
  vsctl?: string[];
  /** Environment of ovs-vsctl (OVS_RUNDIR ...). */
  env?: NodeJS.ProcessEnv;
  /** Tells this driver's namespaces from other agents' on the host (default: derived from the bridge and switchNetns). */
  owner?: string;
  log?: { warn(obj: object, msg: string): void };
}

/** The attachment's interface inside a punt namespace. */
const INNER = 'bgp0';
/** The namespace's kernel never resolves CEs: this MAC stands in until the switch puts the learnt one. */
const PLACEHOLDER_MAC = '02:00:00:00:00:01';
const NETNS_DIR = '/run/netns';
const LISTENER = fileURLToPath(new URL('../../ce-bgp/listener.js', import.meta.url));
const READY_MS = 10_000;
/** How long a close waits for the listener's answer (its own wait for the CE, CLOSE_WAIT_MS, and some). */
const CLOSE_ACK_MS = CLOSE_WAIT_MS + 1000;

export const puntKey = (vrf: string, iface: string, vlan: number) => `${vrf}\u0000${iface}\u0000${vlan}`;

interface PuntSpec {
  vrf: string;
  iface: string;
  vlan: number;
  mac: string;
  pes: string[];
  ces: string[];
  /** The sessions, "<ce> <pe>", sorted. */
  pairs: string[];
}

interface Punt extends PuntSpec {
  ns: string;
  port: string;
  child?: ChildProcess;
}

const canonical = (a: string) => {
  const p = parseAddress(a);
  return p ? formatAddress(p) : a;
};
const macText = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
const hostLength = (a: string) => (a.includes(':') ? 128 : 32);
const alive = (c: ChildProcess | undefined) => !!c && c.exitCode === null && c.signalCode === null;
/** Each listener's stdout, line by line (its answers to "close"). */
const answers = new WeakMap<ChildProcess, Interface>();
/** Listeners the driver stopped itself: their exit is no news. */
const stopped = new WeakSet<ChildProcess>();
const stop = (c: ChildProcess | undefined) => {
  if (!c) return;
  stopped.add(c);
  c.kill('SIGTERM');
};

/** The name prefix of the punt namespaces the agent of `bridge` (on a switch in `switchNetns`) makes: what whoever tears the switch down removes. */
export function puntNamespacePrefix(bridge: string, switchNetns?: string): string {
  return `l3bgp-${createHash('sha256').update(`${bridge}\u0000${switchNetns ?? ''}`).digest('hex').slice(0, 6)}-`;
}

export class BgpPunts {
  private readonly punts = new Map<string, Punt>();
  private readonly owner: string;

  constructor(private readonly o: BgpPuntOptions) {
    this.owner = o.owner ?? puntNamespacePrefix(o.bridge, o.switchNetns).slice('l3bgp-'.length, -1);
  }

  private names(key: string): { ns: string; port: string } {
    const h = createHash('sha256').update(`${this.owner}\u0000${key}`).digest('hex').slice(0, 11);
    return { ns: `l3bgp-${this.owner}-${h}`, port: `l3b${h}` };
  }

  /** The bridge port of an attachment's punt once it is set up. */
  portName(vrf: string, iface: string, vlan: number): string | undefined {
    return this.punts.get(puntKey(vrf, iface, vlan))?.port;
  }

  /** The punt port names of a VRF (to wait for the switch to number them). */
  portsOf(vrf: string): string[] {
    return [...this.punts.values()].filter((p) => p.vrf === vrf).map((p) => p.port);
  }

  private specs(v: VrfInstance, mac: (iface: string) => Uint8Array | undefined): { spec?: PuntSpec; iface: string; vlan: number; reason?: string }[] {
    return v.interfaces
      .filter((i) => i.bgpSessions.length)
      .map((i) => {
        const m = mac(i.name);
        if (!m) return { iface: i.name, vlan: i.vlan, reason: `no port ${i.name} on the bridge` };
        const pes = [...new Set(i.bgpSessions.map((s) => canonical(s.peAddress)))].sort();
        const ces = [...new Set(i.bgpSessions.map((s) => canonical(s.ceAddress)))].sort();
        const pairs = [...new Set(i.bgpSessions.map((s) => `${canonical(s.ceAddress)} ${canonical(s.peAddress)}`))].sort();
        return { iface: i.name, vlan: i.vlan, spec: { vrf: v.name, iface: i.name, vlan: i.vlan, mac: macText(m), pes, ces, pairs } };
      });
  }

  /** Whether every attachment of `v` with sessions has its punt as `v` wants it, namespace there and listener running. */
  healthy(v: VrfInstance, mac: (iface: string) => Uint8Array | undefined): boolean {
    return this.specs(v, mac).every(({ spec }) => {
      const p = spec && this.punts.get(puntKey(spec.vrf, spec.iface, spec.vlan));
      return !!p && sameSpec(p, spec!) && alive(p.child) && existsSync(`${NETNS_DIR}/${p.ns}`);
    });
  }

  /** Makes the punts `v` lists what it lists (prune() removes its others); returns the reason of each attachment that failed. */
  async ensure(v: VrfInstance, mac: (iface: string) => Uint8Array | undefined): Promise<string[]> {
    const reasons: string[] = [];
    for (const { spec, iface, vlan, reason } of this.specs(v, mac)) {
      const key = puntKey(v.name, iface, vlan);
      try {
        if (reason) throw new Error(reason);
        await this.ensureOne(key, spec!);
      } catch (err) {
        reasons.push(`PE-CE BGP punt of ${iface}${vlan ? `.${vlan}` : ''}: ${(err as Error).message}`);
      }
    }
    return reasons;
  }

  /**
   * Closes the connections of sessions `v` no longer lists (`v` undefined:
   * the VRF is going) while the flows that carry their FIN to the CE are
   * still there, and returns once each CE has answered with its own (or the
   * listener gave up on it): the CE sees its session end, not a silent peer
   * it would hold until its hold timer expires.
   */
  async closeUnlisted(vrf: string, v: VrfInstance | undefined): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const p of this.punts.values()) {
      if (p.vrf !== vrf || !alive(p.child)) continue;
      const i = v?.interfaces.find((x) => x.name === p.iface && x.vlan === p.vlan);
      const keep = new Set((i?.bgpSessions ?? []).map((s) => `${canonical(s.ceAddress)} ${canonical(s.peAddress)}`));
      for (const pair of p.pairs) if (!keep.has(pair)) closing.push(closeSession(p.child!, pair));
    }
    await Promise.all(closing);
  }

  /** Removes the punts of `v`'s attachments that have no sessions (any more). */
  async prune(v: VrfInstance): Promise<void> {
    const wanted = new Set(v.interfaces.filter((i) => i.bgpSessions.length).map((i) => puntKey(v.name, i.name, i.vlan)));
    for (const [key, p] of this.punts) if (p.vrf === v.name && !wanted.has(key)) await this.remove(key);
  }

  /** Removes every punt of a VRF. */
  async removeVrf(vrf: string): Promise<void> {
    for (const [key, p] of this.punts) if (p.vrf === vrf) await this.remove(key);
  }

  /** Removes this owner's namespaces (and their ports) that no attachment of `vrfs` wants: a previous run's, or an entry's the agent no longer holds. */
  async sweep(vrfs: readonly VrfInstance[]): Promise<void> {
    const wanted = new Set(vrfs.flatMap((v) => v.interfaces.filter((i) => i.bgpSessions.length).map((i) => puntKey(v.name, i.name, i.vlan))));
    for (const key of this.punts.keys()) if (!wanted.has(key)) await this.remove(key);
    const keep = new Set([...wanted].map((k) => this.names(k).ns));
    for (const ns of await this.listNamespaces()) {
      if (keep.has(ns)) continue;
      await this.destroy({ ns, port: `l3b${ns.slice(ns.lastIndexOf('-') + 1)}` });
    }
  }

  /** Stops the listeners (the namespaces and flows stay, like the rest of the installed state). */
  close(): void {
    for (const p of this.punts.values()) stop(p.child);
  }

  /** Every punt of this owner: removed (tests). */
  async removeAll(): Promise<void> {
    await this.sweep([]);
  }

  private async listNamespaces(): Promise<string[]> {
    const { stdout } = await run('ip', ['netns', 'list']);
    const prefix = `l3bgp-${this.owner}-`;
    return stdout
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((n) => n.startsWith(prefix));
  }

  private ipSwitch(...args: string[]) {
    return run('ip', this.o.switchNetns ? ['-n', this.o.switchNetns, ...args] : args);
  }

  private vsctl(...args: string[]) {
    const [cmd, ...pre] = this.o.vsctl ?? ['ovs-vsctl'];
    return run(cmd!, [...pre, '--timeout=10', ...args], { env: this.o.env ?? process.env });
  }

  private async ensureOne(key: string, spec: PuntSpec): Promise<void> {
    const held = this.punts.get(key);
    if (held && sameSpec(held, spec) && alive(held.child) && existsSync(`${NETNS_DIR}/${held.ns}`)) return;
    const { ns, port } = this.names(key);
    const ipNs = (...args: string[]) => run('ip', ['-n', ns, ...args]);
    // Adopted (a previous run's, or ours that lost something): everything below is set again.
    if (!existsSync(`${NETNS_DIR}/${ns}`)) await run('ip', ['netns', 'add', ns]);
    const outer = await this.ipSwitch('link', 'show', port).then(() => true, () => false);
    const inner = await ipNs('link', 'show', INNER).then(() => true, () => false);
    if (!outer || !inner) {
      if (outer) await this.ipSwitch('link', 'del', port);
      if (inner) await ipNs('link', 'del', INNER);
      await this.ipSwitch('link', 'add', port, 'type', 'veth', 'peer', 'name', INNER, 'netns', ns);
    }
    // The switch's end carries no IP of its own: no IPv6 link-local chatter from the host's side.
    const swSysctl = ['sysctl', '-qw', `net.ipv6.conf.${port}.disable_ipv6=1`];
    await run(this.o.switchNetns ? 'ip' : swSysctl[0]!, this.o.switchNetns ? ['netns', 'exec', this.o.switchNetns, ...swSysctl] : swSysctl.slice(1)).catch((err: Error) => this.o.log?.warn({ port, err: err.message }, 'IPv6 not disabled on the punt port (the host side may send link-local chatter)'));
    await this.ipSwitch('link', 'set', port, 'up');
    await this.vsctl('--may-exist', 'add-port', this.o.bridge, port);
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=0', `net.ipv6.conf.${INNER}.disable_ipv6=0`, `net.ipv6.conf.${INNER}.accept_dad=0`, `net.ipv6.conf.${INNER}.accept_ra=0`]).catch((err: Error) => this.o.log?.warn({ ns, err: err.message }, 'IPv6 settings of the punt namespace not applied: its IPv6 PE-CE sessions may not be accepted'));
    await ipNs('link', 'set', 'lo', 'up');
    await ipNs('link', 'set', INNER, 'address', spec.mac);
    // No NIC computes checksums behind a veth into a userspace switch (DATAPLANE.md): TCP would be dropped.
    await run('ip', ['netns', 'exec', ns, 'ethtool', '-K', INNER, 'tx', 'off']);
    await ipNs('link', 'set', INNER, 'up');
    await this.setAddresses(ns, spec, held);
    const p: Punt = { ...spec, ns, port, child: held?.child };
    this.punts.set(key, p);
    const listening = held && alive(held.child) && held.pes.join() === spec.pes.join();
    if (!listening) {
      stop(held?.child);
      p.child = undefined;
      await this.killInside(ns);
      p.child = await this.startListener(ns, spec);
    }
  }

  /** The PE addresses on the inner interface, and a host route and static neighbour per CE. */
  private async setAddresses(ns: string, spec: PuntSpec, held: Punt | undefined): Promise<void> {
    const ipNs = (...args: string[]) => run('ip', ['-n', ns, ...args]);
    const { stdout } = await ipNs('-j', 'addr', 'show', 'dev', INNER);
    const have = (JSON.parse(stdout || '[]') as { addr_info?: { local: string; scope: string }[] }[])
      .flatMap((l) => l.addr_info ?? [])
      .filter((a) => a.scope === 'global')
      .map((a) => canonical(a.local));
    for (const a of have) if (!spec.pes.includes(a)) await ipNs('addr', 'del', `${a}/${hostLength(a)}`, 'dev', INNER);
    for (const a of spec.pes) if (!have.includes(a)) await ipNs('addr', 'add', `${a}/${hostLength(a)}`, 'dev', INNER, ...(a.includes(':') ? ['nodad'] : []));
    if (!held) {
      // Adopted: what a previous run left is not known; start from nothing.
      await ipNs('-4', 'route', 'flush', 'dev', INNER).catch(() => undefined);
      await ipNs('-6', 'route', 'flush', 'dev', INNER).catch(() => undefined);
      await ipNs('neigh', 'flush', 'dev', INNER, 'nud', 'all').catch(() => undefined);
    } else {
      for (const ce of held.ces) {
        if (spec.ces.includes(ce)) continue;
        await ipNs('route', 'del', `${ce}/${hostLength(ce)}`, 'dev', INNER).catch(() => undefined);
        await ipNs('neigh', 'del', ce, 'dev', INNER).catch(() => undefined);
      }
    }
    for (const ce of spec.ces) {
      await ipNs('route', 'replace', `${ce}/${hostLength(ce)}`, 'dev', INNER);
      await ipNs('neigh', 'replace', ce, 'lladdr', PLACEHOLDER_MAC, 'dev', INNER, 'nud', 'permanent');
    }
  }

  /** Processes left in the namespace (a previous run's listener): ended. */
  private async killInside(ns: string): Promise<void> {
    const { stdout } = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
    for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  private startListener(ns: string, spec: PuntSpec): Promise<ChildProcess> {
    const args = ['netns', 'exec', ns, process.execPath, LISTENER, '--socket', this.o.socketPath, '--vrf', spec.vrf, '--interface', spec.iface, '--vlan', String(spec.vlan), ...spec.pes.flatMap((a) => ['--listen', a])];
    const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`listener not listening after ${READY_MS} ms: ${err.trim()}`));
      }, READY_MS);
      child.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        if (err.length > 4096) err = err.slice(-4096);
      });
      const lines = createInterface({ input: child.stdout! });
      answers.set(child, lines);
      lines.on('line', (line) => {
        if (line !== 'listening') return;
        clearTimeout(timer);
        resolve(child);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`listener exited (${code ?? signal}): ${err.trim()}`));
        if (!stopped.has(child)) this.o.log?.warn({ ns, vrf: spec.vrf, interface: spec.iface, vlan: spec.vlan, code, signal, stderr: err.trim() }, 'PE-CE BGP listener exited');
      });
      child.stdin!.on('error', () => undefined);
    });
  }

  private async remove(key: string): Promise<void> {
    const p = this.punts.get(key);
    if (!p) return;
    this.punts.delete(key);
    stop(p.child);
    await this.destroy(p);
  }

  /** A namespace, its processes and its port: gone. */
  private async destroy({ ns, port }: { ns: string; port: string }): Promise<void> {
    await this.killInside(ns);
    await this.vsctl('--if-exists', 'del-port', this.o.bridge, port).catch((err: Error) => this.o.log?.warn({ port, err: err.message }, 'PE-CE BGP punt port not removed from the bridge'));
    await this.ipSwitch('link', 'del', port).catch(() => undefined);
    await run('ip', ['netns', 'del', ns]).catch((err: Error) => this.o.log?.warn({ ns, err: err.message }, 'PE-CE BGP punt namespace not removed'));
  }
}

/** Asks `listener` to close the connections of `pair` ("<ce> <pe>"); resolves on its answer, its exit, or after CLOSE_ACK_MS. */
function closeSession(listener: ChildProcess, pair: string): Promise<void> {
  const lines = answers.get(listener);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      lines?.off('line', onLine);
      listener.off('exit', done);
      resolve();
    };
    const onLine = (line: string) => {
      if (line === `closed ${pair}`) done();
    };
    const timer = setTimeout(done, CLOSE_ACK_MS);
    lines?.on('line', onLine);
    listener.once('exit', done);
    listener.stdin!.write(`close ${pair}\n`);
  });
}

function sameSpec(a: PuntSpec, b: PuntSpec): boolean {
  return a.mac === b.mac && a.pes.join() === b.pes.join() && a.pairs.join() === b.pairs.join();
}
