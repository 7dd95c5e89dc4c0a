// Shared types and plumbing for the real-BGP-peer harness (GoBGP, FRR, BIRD).
//
// Every peer runs as a child process in its own temp directory with a
// generated config, bound to its own 127.0.0.x address. Nothing here talks
// to the peers except through their own CLIs, so what a test reads back is
// what the peer itself believes.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { rmSync, mkdtempSync, openSync, closeSync, readFileSync, existsSync, statSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIPv4 } from 'node:net';
import { eventually } from '../support/eventually.js';
import { onPath, requireTools } from '../support/tools.js';

export type Family = 'ipv4-unicast' | 'vpnv4' | 'vpnv6';
export type VpnFamily = 'vpnv4' | 'vpnv6';
export type PeerKind = 'gobgp' | 'frr' | 'bird';

/** RFC 4271 FSM state names, as every peer's CLI is mapped onto them. */
export type SessionState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established' | 'Unknown';

export interface NeighborOptions {
  /** The neighbour's address (it must listen/connect there, e.g. its own 127.0.0.x). */
  address: string;
  remoteAs: number;
  /** Wait for the neighbour to connect; never open the connection ourselves. */
  passive?: boolean;
  /** The neighbour's BGP port when it isn't 179. */
  port?: number;
  /** Families to negotiate; default ['vpnv4', 'vpnv6']. */
  families?: Family[];
  /** Reflect routes to this neighbour (RFC 4456); iBGP only. */
  routeReflectorClient?: boolean;
  /** Start administratively down; enableNeighbor() brings it up (e.g. to time a full-table transfer). */
  disabled?: boolean;
  /** Also negotiate RT constraint (RFC 4684, AFI 1 / SAFI 132). GoBGP only. */
  rtc?: boolean;
  /** Advertise graceful restart with the session's families (RFC 4724), not only awareness. BIRD only. */
  gracefulRestart?: boolean;
}

/** A VPN route to originate. RD/RT syntax: "ASN:n" (type 0 when ASN <= 65535, else type 2) or "a.b.c.d:n" (type 1). */
export interface VpnRouteSpec {
  family: VpnFamily;
  rd: string;
  prefix: string;
  label: number;
  routeTargets: string[];
  /** VPN-IPv4: an IPv4 address outside 127/8 (FRR drops those as martian) and outside 192.0.2/24; VPN-IPv6: an IPv6 address. */
  nextHop: string;
  localPref?: number;
  med?: number;
}

export interface Ipv4RouteSpec {
  prefix: string;
  nextHop: string;
  localPref?: number;
  med?: number;
}

export interface PeerOptions {
  /** Used in file and protocol names; default the kind and address. */
  name?: string;
  routerId: string;
  /** Local address, its own 127.0.0.x. */
  address: string;
  /** Local listening port; default 179. */
  port?: number;
  localAs: number;
  neighbors: NeighborOptions[];
  /** Originated at start-up (from the config where the peer supports it, else through the CLI right after start). */
  vpnRoutes?: VpnRouteSpec[];
  ipv4Routes?: Ipv4RouteSpec[];
  /** Route-reflector cluster id (defaults to the router id). */
  clusterId?: string;
  /** Parent directory for the private temp dir; default os.tmpdir(). */
  baseDir?: string;
  /** Keep the temp dir after stop() (it is kept anyway when KEEP_PEER_DIRS=1). */
  keepDir?: boolean;
}

/** A VPN route as read back from a peer's CLI, normalised across GoBGP, FRR and BIRD. */
export interface VpnRoute {
  /** "65000:100", "4200000000:100" or "192.0.2.1:5" (plain ASN, never asdot). */
  rd: string;
  prefix: string;
  labels: number[];
  nextHop: string;
  /** Sorted, same syntax as rd. */
  routeTargets: string[];
  asPath: number[];
  localPref?: number;
  med?: number;
}

export interface NeighborInfo {
  state: SessionState;
  /** Families negotiated (advertised by both sides); empty unless Established. */
  families: Family[];
}

export interface PeerHandle {
  readonly kind: PeerKind;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly localAs: number;
  /** The private temp dir holding config, sockets and logs. */
  readonly dir: string;
  /** PID of the BGP daemon itself (for /proc/PID/status). */
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
  neighborState(neighbor: string): Promise<SessionState>;
  neighborInfo(neighbor: string): Promise<NeighborInfo>;
  waitEstablished(neighbor: string, timeoutMs?: number): Promise<void>;
  /** Best path per (RD, prefix) in the peer's VPN table. */
  vpnRoutes(family: VpnFamily): Promise<VpnRoute[]>;
  /** Polls vpnRoutes() until `until` holds. */
  waitVpnRoutes(family: VpnFamily, until: (routes: VpnRoute[]) => boolean, timeoutMs?: number): Promise<VpnRoute[]>;
  /** Routes of a family accepted from one neighbour, from the peer's summary counters (cheap at any table size). */
  receivedCount(neighbor: string, family: Family): Promise<number>;
  addVpnRoute(route: VpnRouteSpec): Promise<void>;
  /** Withdraws the route originated with this family, RD and prefix. */
  deleteVpnRoute(route: Pick<VpnRouteSpec, 'family' | 'rd' | 'prefix'>): Promise<void>;
  /** Administrative shutdown: the peer sends a Cease NOTIFICATION and stays down until enableNeighbor(). */
  shutdownNeighbor(neighbor: string): Promise<void>;
  enableNeighbor(neighbor: string): Promise<void>;
  /** VmHWM of the daemon in KiB (0 once it has exited). */
  peakRssKiB(): number;
  /** VmRSS of the daemon in KiB. */
  rssKiB(): number;
  logTail(lines?: number): string;
}

// ---------------------------------------------------------------- binaries

export const BIN = {
  gobgpd: 'gobgpd',
  gobgp: 'gobgp',
  bgpd: '/usr/lib/frr/bgpd',
  vtysh: 'vtysh',
  bird: 'bird',
  birdc: 'birdc',
  exabgp: 'exabgp',
} as const;

/** The apt package that has each binary. */
const PACKAGE: Record<string, string> = {
  [BIN.gobgpd]: 'gobgpd',
  [BIN.gobgp]: 'gobgpd',
  [BIN.bgpd]: 'frr',
  [BIN.vtysh]: 'frr',
  [BIN.bird]: 'bird2',
  [BIN.birdc]: 'bird2',
  [BIN.exabgp]: 'exabgp',
};

const NEED: Record<PeerKind | 'exabgp', string[]> = {
  gobgp: [BIN.gobgpd, BIN.gobgp],
  frr: [BIN.bgpd, BIN.vtysh],
  bird: [BIN.bird, BIN.birdc],
  exabgp: [BIN.exabgp],
};

/** The binaries a kind needs that are missing (empty when it can run). */
export function missingBinaries(kind: PeerKind | 'exabgp'): string[] {
  return NEED[kind].filter((b) => onPath(b) === undefined);
}

/**
 * For a test's `skip`: false when every kind can run; otherwise the skip
 * reason naming the packages (.ci/install-peers installs them), or, in CI,
 * a failure (test/support/tools.ts).
 */
export function requirePeers(...kinds: Array<PeerKind | 'exabgp'>): string | false {
  return requireTools(Object.fromEntries(kinds.flatMap((k) => NEED[k]).map((b) => [b, PACKAGE[b]!])));
}

// ---------------------------------------------------------------- processes

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test must not leave daemons holding 127.0.0.x:179.
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
}

export interface Daemon {
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
  hasExited(): boolean;
  stop(graceMs?: number): Promise<void>;
}

/** Starts a foreground daemon with stdout and stderr appended to logFile. */
export function startDaemon(cmd: string, args: string[], logFile: string, cwd: string): Daemon {
  installExitHook();
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', fd, fd], env: { ...process.env, LC_ALL: 'C' } });
  closeSync(fd);
  live.add(child);
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      live.delete(child);
      resolve(code ?? (signal ? -1 : null));
    });
    child.once('error', () => {
      done = true;
      live.delete(child);
      resolve(-1);
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  return {
    child,
    pid: child.pid,
    logFile,
    exited,
    hasExited: () => done,
    async stop(graceMs = 3000) {
      if (done) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!done) child.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

export function makeDir(prefix: string, baseDir?: string): string {
  return mkdtempSync(join(baseDir ?? tmpdir(), `l3vpn-${prefix}-`));
}

export function tailFile(file: string, lines = 40): string {
  if (!existsSync(file)) return '(no log)';
  const size = statSync(file).size;
  const want = Math.min(size, 64 * 1024);
  const buf = Buffer.alloc(want);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, want, size - want);
  } finally {
    closeSync(fd);
  }
  return buf.toString('utf8').split('\n').slice(-lines - 1).join('\n');
}

export function procStatusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a CLI; resolves with its output whatever the exit code (check `code`). */
export function run(cmd: string, args: string[], timeoutMs = 15000, input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: timeoutMs, maxBuffer: 1024 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
        resolve({ stdout: String(stdout), stderr: String(stderr) + (err && code === -1 ? String(err.message) : ''), code });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs a CLI and throws (with its output) unless it exits 0. */
export async function runOk(cmd: string, args: string[], timeoutMs = 15000): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()} ${r.stdout.trim()}`.slice(0, 4000));
  return r.stdout;
}

/** For benchmarks that pace themselves; a test waits with eventually() (test/support/eventually.ts), never a sleep. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- RD / RT

export interface AdminValue {
  /** 0: 2-octet AS, 1: IPv4 address, 2: 4-octet AS. */
  type: 0 | 1 | 2;
  admin: number | string;
  assigned: number;
}

/** Parses "ASN:n", "a.b.c.d:n", asdot "X.Y:n", or a GoBGP "L" suffix. */
export function parseAdminValue(s: string): AdminValue {
  const i = s.lastIndexOf(':');
  if (i <= 0) throw new Error(`bad RD/RT ${s}`);
  const a = s.slice(0, i).replace(/L$/, '');
  const assigned = Number(s.slice(i + 1));
  if (!Number.isInteger(assigned) || assigned < 0) throw new Error(`bad RD/RT ${s}`);
  if (isIPv4(a)) return { type: 1, admin: a, assigned };
  const dot = /^(\d+)\.(\d+)$/.exec(a);
  const asn = dot ? Number(dot[1]) * 65536 + Number(dot[2]) : Number(a);
  if (!Number.isInteger(asn) || asn < 0 || asn > 0xffffffff) throw new Error(`bad RD/RT ${s}`);
  return { type: asn > 0xffff ? 2 : 0, admin: asn, assigned };
}

/** Canonical text: plain ASN (never asdot), "a.b.c.d:n" for type 1. */
export function canonAdminValue(s: string): string {
  const v = parseAdminValue(s);
  return `${v.admin}:${v.assigned}`;
}

/** GoBGP's CLI reads "4200000000:7" as a 2-octet AS saturated to 65535; asdot gives the 4-octet form. */
export function gobgpAdminValue(s: string): string {
  const v = parseAdminValue(s);
  if (v.type === 2) {
    const asn = v.admin as number;
    return `${Math.floor(asn / 65536)}.${asn % 65536}:${v.assigned}`;
  }
  return `${v.admin}:${v.assigned}`;
}

export function sortRts(rts: string[]): string[] {
  return [...new Set(rts.map(canonAdminValue))].sort();
}

export function familyOfPrefix(prefix: string): 'ipv4' | 'ipv6' {
  return prefix.includes(':') ? 'ipv6' : 'ipv4';
}

/** A name safe for config identifiers. */
export function ident(s: string): string {
  return s.replace(/[^A-Za-z0-9]/g, '_');
}

export function routeKey(r: { rd: string; prefix: string }): string {
  return `${canonAdminValue(r.rd)} ${r.prefix}`;
}

export function defaultFamilies(n: NeighborOptions): Family[] {
  return n.families ?? ['vpnv4', 'vpnv6'];
}

export function findNeighbor(opts: PeerOptions, address: string): NeighborOptions {
  const n = opts.neighbors.find((x) => x.address === address);
  if (!n) throw new Error(`${address} is not a configured neighbour of ${opts.address}`);
  return n;
}

/** What every peer implementation shares: process, logs, waits. */
export abstract class BasePeer implements PeerHandle {
  abstract readonly kind: PeerKind;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly localAs: number;
  readonly dir: string;
  protected daemon!: Daemon;
  protected stopped = false;

  constructor(
    protected readonly opts: PeerOptions,
    kind: PeerKind,
  ) {
    this.name = opts.name ?? `${kind}-${opts.address}`;
    this.address = opts.address;
    this.port = opts.port ?? 179;
    this.localAs = opts.localAs;
    this.dir = makeDir(ident(this.name), opts.baseDir);
  }

  get pid(): number {
    return this.daemon.pid;
  }
  get logFile(): string {
    return this.daemon.logFile;
  }

  abstract neighborInfo(neighbor: string): Promise<NeighborInfo>;
  abstract vpnRoutes(family: VpnFamily): Promise<VpnRoute[]>;
  abstract receivedCount(neighbor: string, family: Family): Promise<number>;
  abstract addVpnRoute(route: VpnRouteSpec): Promise<void>;
  abstract deleteVpnRoute(route: Pick<VpnRouteSpec, 'family' | 'rd' | 'prefix'>): Promise<void>;
  abstract shutdownNeighbor(neighbor: string): Promise<void>;
  abstract enableNeighbor(neighbor: string): Promise<void>;

  async neighborState(neighbor: string): Promise<SessionState> {
    return (await this.neighborInfo(neighbor)).state;
  }

  /** Throws with the log tail if the daemon died. */
  protected checkAlive(): void {
    if (this.daemon?.hasExited()) throw new Error(`${this.name} (${this.kind}) exited; log tail ${this.logFile}:\n${this.logTail(40)}`);
  }

  async waitEstablished(neighbor: string, timeoutMs = 30000): Promise<void> {
    let last: SessionState = 'Unknown';
    await eventually(
      () => `${this.name} (${this.kind} on ${this.address}) -> ${neighbor} not Established (last state ${last}); log tail ${this.logFile}:\n${this.logTail(30)}`,
      async () => {
        this.checkAlive();
        last = await this.neighborState(neighbor);
        return last === 'Established' ? true : undefined;
      },
      { timeoutMs: timeoutMs, intervalMs: 100 },
    );
  }

  async waitVpnRoutes(family: VpnFamily, until: (routes: VpnRoute[]) => boolean, timeoutMs = 15000): Promise<VpnRoute[]> {
    let last: VpnRoute[] = [];
    return eventually(
      () =>
        `${this.name} (${this.kind}) ${family} table never matched; last read ${JSON.stringify(last).slice(0, 2000)}; log tail ${this.logFile}:\n${this.logTail(30)}`,
      async () => {
        this.checkAlive();
        last = await this.vpnRoutes(family);
        return until(last) ? last : undefined;
      },
      { timeoutMs: timeoutMs, intervalMs: 150 },
    );
  }

  peakRssKiB(): number {
    return procStatusKiB(this.daemon.pid, 'VmHWM');
  }
  rssKiB(): number {
    return procStatusKiB(this.daemon.pid, 'VmRSS');
  }
  logTail(lines = 40): string {
    return tailFile(this.daemon.logFile, lines);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.daemon) await this.daemon.stop();
    if (!this.opts.keepDir && process.env.KEEP_PEER_DIRS !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}
