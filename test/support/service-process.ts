// One process of the l3vpn binary (`node dist/services/main.js <command>`),
// restartable with the same settings, its output kept for the failure
// message: what the multi-process tests start, kill and restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { projectRoot } from '../../services/common/project-root.js';
import { eventually } from './eventually.js';

/** One process of the l3vpn binary, restartable with the same settings. */
export class ServiceProcess {
  private child?: ChildProcess;
  readonly logs: string[] = [];
  starts = 0;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly env: Record<string, string>,
    /** Its operations listener: /healthz and /readyz. */
    private readonly ops: string,
  ) {}

  async start(): Promise<void> {
    this.starts++;
    const child = spawn(process.execPath, [join(projectRoot(), 'dist/services/main.js'), this.command], {
      env: { ...process.env, LOG_LEVEL: 'info', SHUTDOWN_GRACE_SECONDS: '5', OPS_ADDRESS: this.ops, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line) this.logs.push(`[${this.name}#${this.starts}] ${line}`);
        if (this.logs.length > 3000) this.logs.splice(0, this.logs.length - 3000);
      });
    }
    await eventually(
      `${this.name} to be ready`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${this.name} exited with ${child.exitCode}:\n${this.logs.slice(-20).join('\n')}`);
        return (await fetch(`http://${this.ops}/readyz`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.logs.slice(-20).join('\n')}`);
    });
  }

  /** Sends the signal and waits for the exit; its exit code. */
  async stop(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill(signal);
    const [code] = await exited;
    return code;
  }
}
