// The one way tests wait: for a condition the system makes true (a state
// read back, a log line, a counter, a generation), checked again and again
// until a deadline. Never a fixed sleep followed by an assertion: on a loaded
// machine the sleep is too short, on an idle one it only wastes time.

export interface EventuallyOptions {
  /** Give up after this long (default 30 s). A generous bound: it only matters when the test fails. */
  timeoutMs?: number;
  /** Pause between probes (default 50 ms). */
  intervalMs?: number;
  /** What the failure message adds: what the system showed last. */
  describe?: () => string | Promise<string>;
}

/** A probe's answers that mean "not yet" (any falsy value does: 0 and '' too). */
type NotYet = undefined | null | false;

/**
 * Probes until `probe` returns a truthy value, and returns it. A probe that
 * throws counts as "not yet"; when time runs out the error names `what` (a
 * function: asked then, so it can tell what was seen last), the last thrown
 * error and what `describe` says.
 */
export async function eventually<T>(
  what: string | (() => string),
  probe: () => T | NotYet | Promise<T | NotYet>,
  options: EventuallyOptions | number = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 50, describe } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const parts = [`timed out after ${timeoutMs / 1000} s waiting for ${typeof what === 'function' ? what() : what}`];
      if (lastError !== undefined) parts.push(`last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
      if (describe) parts.push(await Promise.resolve(describe()).catch((err: Error) => `(describe failed: ${err.message})`));
      throw new Error(parts.join('\n'));
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits for a line matching `pattern` among `lines` (a process's collected output, still growing), and returns it. */
export function lineSeen(lines: readonly string[], pattern: RegExp | string, what?: string, timeoutMs = 20_000): Promise<string> {
  const matches = (l: string) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l));
  return eventually(what ?? `a line matching ${String(pattern)}`, () => lines.find(matches), {
    timeoutMs,
    intervalMs: 10,
    describe: () => `last lines:\n${lines.slice(-20).join('\n')}`,
  });
}
