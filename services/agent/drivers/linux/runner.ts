// How the linux driver runs iproute2 and sysctl: a small interface, so the
// agent spawns the commands on its own node while tests run the very same
// commands inside a virtual machine (test/support/qemu-vm.ts).
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Exit status; 127 when the program could not be started. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Runs argv (no shell) with `input` on its standard input. */
  run(argv: readonly string[], input?: string): Promise<CommandResult>;
}

/** Runs commands on this machine. */
export class LocalRunner implements CommandRunner {
  run(argv: readonly string[], input?: string): Promise<CommandResult> {
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => resolve({ code: 127, stdout: '', stderr: `${argv[0]}: ${e.message}` }));
      child.on('close', (code, signal) =>
        resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
      );
      child.stdin.on('error', () => undefined); // the program may exit before reading all of it
      child.stdin.end(input ?? '');
    });
  }
}

/** Runs commands of another runner inside a network namespace (`ip netns exec`). */
export class NetnsRunner implements CommandRunner {
  constructor(
    private readonly inner: CommandRunner,
    readonly namespace: string,
  ) {}

  run(argv: readonly string[], input?: string): Promise<CommandResult> {
    return this.inner.run(['ip', 'netns', 'exec', this.namespace, ...argv], input);
  }
}
