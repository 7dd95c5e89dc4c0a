// Echo requests every few milliseconds from a network namespace, each
// reply's arrival time kept (ping -D): what the packet tests count losses
// with and the failover benches measure outages with (bench/support/reply-gaps.ts).
import { spawn } from 'node:child_process';

export interface TimedPingRun {
  /** Arrival times of the replies, ms since the epoch. */
  replies: number[];
  transmitted: number;
  received: number;
}

/** Pings `to` from namespace `ns` every `intervalMs` until stopped (or `deadlineS`). */
export function timedPing(ns: string, to: string, intervalMs: number, deadlineS: number): { stop(): Promise<TimedPingRun> } {
  const p = spawn('ip', ['netns', 'exec', ns, 'ping', '-D', '-n', '-i', String(intervalMs / 1000), '-W', '1', '-w', String(deadlineS), to], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  // 'close', not 'exit': the statistics ping prints on SIGINT may still be in the pipe when it exits.
  const exited = new Promise<void>((r) => p.once('close', () => r()));
  return {
    async stop() {
      // SIGINT: ping prints its statistics (a reply still in flight counts as lost).
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGINT');
      await exited;
      const replies = [...out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000);
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!m) throw new Error(`no ping statistics: ${out.slice(-500)}`);
      return { replies, transmitted: Number(m[1]), received: Number(m[2]) };
    },
  };
}
