// What the failover benches measure an outage with: echo requests every few
// milliseconds from a namespace, each reply's arrival time (ping -D), and
// the longest gap between two consecutive replies; and how they report it.
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

/** The longest time between two consecutive replies: the outage a stream saw. */
export function longestGap(replies: readonly number[]): number {
  let gap = 0;
  for (let i = 1; i < replies.length; i++) gap = Math.max(gap, replies[i]! - replies[i - 1]!);
  return Math.round(gap);
}

/** The q-quantile (nearest rank) of some figures. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

/** "<what>: median …, p99 …, max … over N rounds". */
export function summary(what: string, xs: readonly number[], unit = 'ms'): string {
  return `${what}: median ${quantile(xs, 0.5)} ${unit}, p99 ${quantile(xs, 0.99)} ${unit}, max ${Math.max(...xs)} ${unit} over ${xs.length} rounds`;
}
