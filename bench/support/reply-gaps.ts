// What the failover benches measure an outage with: echo requests every few
// milliseconds from a namespace, each reply's arrival time (ping -D), and
// the longest gap between two consecutive replies; and how they report it.
export { timedPing, type TimedPingRun } from '../../test/support/ping.js';

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
