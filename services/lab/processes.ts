// Child processes and host commands of the lab: every daemon it starts is
// its child, stopped by its own pid; nothing is looked up by name.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** A recorder of started daemons (resources.ts): told each pid as soon as it exists. */
export interface ProcessRecorder {
  process(name: string, pid: number, stopSignal?: NodeJS.Signals): void;
}

/** The state letter and start time (clock ticks since boot) of a process, from /proc/PID/stat; undefined when there is none. */
function procStat(pid: number): { state: string; startTime: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "PID (comm) S ..." — comm may hold spaces and parentheses: fields count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, startTime] = [fields[0], fields[19]];
  return state && startTime ? { state, startTime } : undefined;
}

/** When a process started (field 22 of /proc/PID/stat); with its pid it names one process for good. */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

/**
 * Whether the process `pid` that started at `startTime` still runs. A zombie
 * counts as gone: this machine's init may never reap a detached daemon's exit.
 */
export function processAlive(pid: number, startTime: string): boolean {
  const s = procStat(pid);
  return s !== undefined && s.startTime === startTime && s.state !== 'Z' && s.state !== 'X';
}

/** Sends a signal, ignoring a process that is gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

export class CommandError extends Error {}

/** Runs a command and returns its stdout; the error carries its stderr. */
export async function run(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { env: options.env ?? process.env, timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new CommandError(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/** Runs a command whose failure is expected when there is nothing to do (deleting what is already gone). */
export async function runQuiet(cmd: string, args: readonly string[]): Promise<void> {
  await run(cmd, args).catch(() => undefined);
}

/** Where `name` is on PATH, or undefined. */
export async function which(name: string): Promise<string | undefined> {
  try {
    return (await run('sh', ['-c', `command -v "$1"`, 'sh', name])).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const isRoot = (): boolean => process.getuid?.() === 0;

export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** A TCP port free on `host` right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function waitUntil(what: string, ready: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await ready()) return;
    if (Date.now() > end) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A daemon run in the foreground as our child, its output appended to a log file. */
export class Daemon {
  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly logFile: string,
    private readonly stopSignal: NodeJS.Signals = 'SIGTERM',
  ) {}

  /**
   * Starts the daemon; `record` learns its pid at once (with `stopSignal`, the
   * signal that stops it cleanly), so that it is stopped even if the lab is not.
   */
  static start(
    name: string,
    cmd: string,
    args: readonly string[],
    logFile: string,
    env: NodeJS.ProcessEnv = process.env,
    record?: ProcessRecorder,
    stopSignal: NodeJS.Signals = 'SIGTERM',
  ): Daemon {
    const fd = openSync(logFile, 'a');
    try {
      // Its own process group: a Ctrl-C on the terminal reaches the lab alone, which stops its daemons in order.
      const child = spawn(cmd, args, { env, stdio: ['ignore', fd, fd], detached: true });
      child.on('error', () => undefined);
      if (child.pid !== undefined) record?.process(name, child.pid, stopSignal);
      return new Daemon(name, child, logFile, stopSignal);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Its stop signal (or `signal`), then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000, signal: NodeJS.Signals = this.stopSignal): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
    if (this.running) {
      this.child.kill('SIGKILL');
      await exited;
    }
  }
}
