// A small Linux virtual machine for tests that need kernel features this
// machine's kernel lacks (VRF devices, MPLS routing): Debian's installed
// kernel under qemu-system-x86_64 in software emulation, booting an
// initramfs built here from the installed packages — busybox-static, the
// real iproute2 `ip` with the shared libraries ldd lists, and the kernel's
// vrf/mpls/veth/8021q/virtio modules with their dependencies. The initramfs
// is cached under .l3vpn/qemu/, keyed by a hash of its inputs.
//
// Control channel: a virtio-serial port whose guest end runs a shell; each
// command's exit status, stdout and stderr come back length-framed, so a
// VmRunner runs the linux driver's commands exactly as LocalRunner would.
// The kernel console (serial) is kept for error messages.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { CommandResult, CommandRunner } from '../../services/agent/drivers/linux/runner.js';
import { eventually } from './eventually.js';
import { onPath } from './tools.js';

const QEMU = 'qemu-system-x86_64';
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'];
/** Modules the guest loads at boot, with their dependencies found by modinfo. */
const MODULES = ['virtio_pci', 'virtio_net', 'virtio_console', 'vrf', 'mpls_router', 'mpls_iptunnel', 'veth', '8021q'];
const CONTROL_PORT = 'l3lx.ctl';


/** The newest kernel that has both an image in /boot and its modules. */
function kernelVersion(): string | undefined {
  if (!existsSync('/lib/modules') || !existsSync('/boot')) return undefined;
  const versions = readdirSync('/lib/modules').filter((v) => existsSync(`/boot/vmlinuz-${v}`) && existsSync(`/lib/modules/${v}/modules.dep`));
  return versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop();
}

/** Why no VM can be booted here, or undefined when one can. */
export function vmMissing(): string | undefined {
  if (!onPath(QEMU)) return `${QEMU} is not installed (apt-get install --no-install-recommends qemu-system-x86)`;
  if (!kernelVersion()) return 'no kernel image with modules in /boot and /lib/modules (apt-get install linux-image-amd64)';
  if (!BUSYBOX.some((p) => existsSync(p))) return 'busybox is not installed (apt-get install busybox-static)';
  if (!onPath('ip')) return 'ip is not installed (apt-get install iproute2)';
  const v = kernelVersion()!;
  try {
    // Some distributions keep kernel images readable by root only.
    accessSync(`/boot/vmlinuz-${v}`, constants.R_OK);
  } catch (err) {
    return `cannot read /boot/vmlinuz-${v}: ${(err as Error).message}`;
  }
  return undefined;
}

// ---- initramfs (cpio "newc", gzip) ----

interface CpioEntry {
  path: string;
  mode: number;
  data?: Buffer;
  rdev?: [number, number];
}

function cpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  let ino = 1;
  const add = (e: CpioEntry) => {
    const name = Buffer.from(`${e.path}\0`);
    const size = e.data?.length ?? 0;
    const fields = [ino++, e.mode, 0, 0, 1, 0, size, 0, 0, e.rdev?.[0] ?? 0, e.rdev?.[1] ?? 0, name.length, 0];
    const header = Buffer.from(`070701${fields.map(hex).join('')}`);
    parts.push(header, name, pad(header.length + name.length));
    if (e.data) parts.push(e.data, pad(size));
  };
  for (const e of entries) add(e);
  add({ path: 'TRAILER!!!', mode: 0 });
  return Buffer.concat(parts);
}

const DIR = 0o040755;
const FILE = 0o100755;
const SYMLINK = 0o120777;
const CHARDEV = 0o020600;

/** Module files (relative to /lib/modules/VER) in load order: dependencies first. */
function moduleFiles(version: string): string[] {
  const ordered: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const info = (field: string) => execFileSync('modinfo', ['-k', version, '-F', field, name], { encoding: 'utf8' }).trim();
    const file = info('filename');
    if (file === '(builtin)' || file === '') return;
    for (const dep of info('depends').split(',').filter(Boolean)) visit(dep);
    ordered.push(file.slice(`/lib/modules/${version}/`.length));
  };
  for (const m of MODULES) visit(m);
  return ordered;
}

/** Shared libraries of a binary as ldd lists them (absolute paths), the loader included. */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

function initScript(modules: readonly string[], version: string): string {
  return `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /var /sbin /usr/bin /usr/sbin /etc/iproute2
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
ln -s /run /var/run
for m in ${modules.map((m) => `/lib/modules/${version}/${m}`).join(' ')}; do insmod "$m" || echo "l3lx: insmod $m failed"; done
ip link set lo up
port=""
while [ -z "$port" ]; do
  for p in /sys/class/virtio-ports/*; do [ "$(cat "$p/name" 2>/dev/null)" = ${CONTROL_PORT} ] && port=/dev/\${p##*/}; done
  [ -n "$port" ] || sleep 0.1
done
echo "l3lx: control on $port"
cd /tmp
# A port opens once (exclusively): one read-write descriptor serves as stdin, stdout and stderr.
# Until the host connects, a read of the port ends at once: start the shell again.
while :; do sh <>"$port" >&0 2>&0; sleep 0.1; done
`;
}

/** Builds (or finds in the cache) the initramfs; returns the kernel and initramfs paths. */
export function buildInitramfs(cacheDir = join(process.cwd(), '.l3vpn', 'qemu')): { kernel: string; initramfs: string } {
  const version = kernelVersion();
  if (!version) throw new Error('no kernel with modules installed');
  const kernel = `/boot/vmlinuz-${version}`;
  const busybox = BUSYBOX.find((p) => existsSync(p))!;
  const ip = realpathSync(onPath('ip')!);
  const modules = moduleFiles(version);
  const libs = sharedLibraries(ip);
  const init = initScript(modules, version);
  const inputs = [kernel, busybox, ip, ...libs, ...modules.map((m) => `/lib/modules/${version}/${m}`)];
  const hash = createHash('sha256').update(init);
  for (const f of inputs) {
    const s = statSync(f);
    hash.update(`${f}\0${s.size}\0${s.mtimeMs}\0`);
  }
  const key = hash.digest('hex').slice(0, 16);
  const initramfs = join(cacheDir, `initramfs-${key}.cpio.gz`);
  if (existsSync(initramfs)) return { kernel, initramfs };

  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const mkdirs = (path: string) => {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ path: d, mode: DIR });
      }
    }
  };
  const file = (path: string, data: Buffer, mode = FILE) => {
    mkdirs(path);
    entries.push({ path: path.replace(/^\//, ''), mode, data });
  };
  for (const d of ['dev', 'proc', 'sys', 'run', 'tmp', 'bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc']) mkdirs(`${d}/x`);
  entries.push({ path: 'dev/console', mode: CHARDEV, rdev: [5, 1] });
  file('/bin/busybox', readFileSync(busybox));
  entries.push({ path: 'bin/sh', mode: SYMLINK, data: Buffer.from('busybox') });
  file('/usr/sbin/ip', readFileSync(ip));
  // Libraries at the paths ldd names (symlinks resolved to their contents).
  for (const lib of libs) file(lib, readFileSync(realpathSync(lib)));
  for (const m of modules) file(`/lib/modules/${version}/${m}`, readFileSync(`/lib/modules/${version}/${m}`), 0o100644);
  file('/init', Buffer.from(init));

  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${initramfs}.${process.pid}.tmp`;
  writeFileSync(tmp, gzipSync(cpio(entries), { level: 6 }));
  renameSync(tmp, initramfs);
  // Images built from older inputs are of no further use.
  for (const f of readdirSync(cacheDir)) if (/^initramfs-[0-9a-f]+\.cpio\.gz$/.test(f) && join(cacheDir, f) !== initramfs) rmSync(join(cacheDir, f), { force: true });
  return { kernel, initramfs };
}

// ---- the machine ----

export interface VmNic {
  /** QEMU -netdev backend options without the id ("socket,udp=127.0.26.1:4001,localaddr=127.0.26.1:4000"). */
  netdev: string;
  mac: string;
  /** Write every frame of this NIC to a pcap file (QEMU filter-dump). */
  pcap?: string;
}

export interface VmOptions {
  memoryMiB?: number;
  nics?: readonly VmNic[];
  bootTimeoutMs?: number;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/**
 * Debian's busybox shell runs its own applets before anything on PATH
 * (FEATURE_SH_STANDALONE): programs that must be the real ones go by path.
 */
const REAL_PROGRAMS: Record<string, string> = { ip: '/usr/sbin/ip' };
/** In guest scripts a function wins over an applet. */
const GUEST_SH_PRELUDE = `set -e; ${Object.entries(REAL_PROGRAMS).map(([name, path]) => `${name}() { ${path} "$@"; }`).join('; ')}`;

interface Pending {
  id: string;
  resolve: (r: CommandResult) => void;
  reject: (e: Error) => void;
}

/** A booted VM. Its runner runs commands as root in the guest (one at a time). */
export class QemuVm implements CommandRunner {
  private console = '';
  private buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private exited: Error | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: Socket,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (b: Buffer) => {
      this.console = (this.console + b.toString('utf8')).slice(-20_000);
    });
    socket.on('data', (b: Buffer) => this.receive(b));
    socket.on('error', () => undefined); // qemu going away is reported by its exit
    child.on('exit', (code, signal) => {
      this.exited = new Error(`qemu exited (${code ?? signal}); console:\n${this.consoleTail()}`);
      this.pending?.reject(this.exited);
      this.pending = undefined;
    });
  }

  static async boot(options: VmOptions = {}): Promise<QemuVm> {
    const { kernel, initramfs } = buildInitramfs();
    const dir = mkdtempSync(join(tmpdir(), 'l3lx-vm-'));
    const sock = join(dir, 'control.sock');
    const args = [
      '-accel', 'tcg',
      '-m', `${options.memoryMiB ?? 512}M`,
      '-nographic', '-monitor', 'none', '-serial', 'stdio', '-no-reboot', '-nodefaults',
      '-kernel', kernel,
      '-initrd', initramfs,
      '-append', 'console=ttyS0 panic=-1 quiet loglevel=3',
      '-device', 'virtio-serial-pci',
      '-chardev', `socket,id=ctl,path=${sock},server=on,wait=off`,
      '-device', `virtserialport,chardev=ctl,name=${CONTROL_PORT}`,
    ];
    (options.nics ?? []).forEach((n, i) => {
      args.push('-netdev', `${n.netdev},id=n${i}`, '-device', `virtio-net-pci,netdev=n${i},mac=${n.mac}`);
      if (n.pcap) args.push('-object', `filter-dump,id=d${i},netdev=n${i},file=${n.pcap}`);
    });
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const deadline = Date.now() + (options.bootTimeoutMs ?? 120_000);
    const giveUp = (err: Error): never => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw err;
    };
    const opened = await eventually(
      'qemu to open its control socket',
      async (): Promise<{ socket: Socket } | { failed: Error } | undefined> => {
        if (child.exitCode !== null) return { failed: new Error(`qemu failed: ${stderr.trim()}`) };
        if (!existsSync(sock)) return undefined;
        const socket = await new Promise<Socket | undefined>((resolve) => {
          const c = connect(sock);
          c.once('connect', () => resolve(c));
          c.once('error', () => resolve(undefined));
        });
        return socket && { socket };
      },
      { timeoutMs: deadline - Date.now(), intervalMs: 50 },
    ).catch((err: Error) => ({ failed: err }));
    if ('failed' in opened) giveUp(opened.failed);
    const socket = (opened as { socket: Socket }).socket;
    const vm = new QemuVm(child, socket, dir);
    let timer: NodeJS.Timeout | undefined;
    try {
      const r = await Promise.race([
        vm.run(['true']),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the VM did not answer within the boot timeout; console:\n${vm.consoleTail()}`)), deadline - Date.now());
        }),
      ]);
      if (r.code !== 0) throw new Error(`the guest shell fails: ${r.stderr}`);
    } catch (err) {
      await vm.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return vm;
  }

  consoleTail(): string {
    return this.console.slice(-4000);
  }

  private receive(b: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, b]);
    const p = this.pending;
    if (!p) return;
    const marker = Buffer.from(`@@L3LX ${p.id} `);
    const at = this.buffer.indexOf(marker);
    if (at < 0) return;
    const eol = this.buffer.indexOf(10, at);
    if (eol < 0) return;
    const [code, outLen, errLen] = this.buffer.subarray(at + marker.length, eol).toString().trim().split(/\s+/).map(Number) as [number, number, number];
    const end = eol + 1 + outLen + errLen;
    if (this.buffer.length < end) return;
    const stdout = this.buffer.subarray(eol + 1, eol + 1 + outLen).toString('utf8');
    const stderr = this.buffer.subarray(eol + 1 + outLen, end).toString('utf8');
    this.buffer = this.buffer.subarray(end);
    this.pending = undefined;
    p.resolve({ code, stdout, stderr });
  }

  run(argv: readonly string[], input?: string): Promise<CommandResult> {
    const go = () =>
      new Promise<CommandResult>((resolve, reject) => {
        if (this.exited) return reject(this.exited);
        const id = `${++this.seq}-${randomBytes(4).toString('hex')}`;
        this.pending = { id, resolve, reject };
        const eof = `L3LX_EOF_${id.replace('-', '_')}`;
        const stdin = input === undefined || input === '' ? ': >/tmp/l3lx.in\n' : `cat >/tmp/l3lx.in <<'${eof}'\n${input}${input.endsWith('\n') ? '' : '\n'}${eof}\n`;
        const program = [REAL_PROGRAMS[argv[0]!] ?? argv[0]!, ...argv.slice(1)];
        const cmd = `${program.map(shellQuote).join(' ')} </tmp/l3lx.in >/tmp/l3lx.out 2>/tmp/l3lx.err; rc=$?; printf '@@L3LX %s %s %s %s\\n' ${id} $rc $(wc -c </tmp/l3lx.out) $(wc -c </tmp/l3lx.err); cat /tmp/l3lx.out /tmp/l3lx.err\n`;
        this.socket.write(stdin + cmd);
      });
    const run = this.queue.then(go, go);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs a shell script in the guest (in network namespace `ns` if given) and
   * throws with its stderr unless it succeeds; returns stdout. `ip` in the
   * script is the real iproute2.
   */
  async sh(script: string, ns?: string): Promise<string> {
    const body = `${GUEST_SH_PRELUDE}\n${script}`;
    const r = await this.run(ns ? ['ip', 'netns', 'exec', ns, 'sh', '-c', body] : ['sh', '-c', body]);
    if (r.code !== 0) throw new Error(`guest${ns ? ` (${ns})` : ''}: ${script}: exit ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  async stop(): Promise<void> {
    this.socket.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

