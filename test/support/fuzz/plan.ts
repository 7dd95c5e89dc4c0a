// How much a fuzz test runs: a fixed seed unless FUZZ_SEED names another (the
// seed is printed, so a failure in CI replays locally), a number of cases per
// operation (FUZZ_RUNS) and a wall-clock budget for the whole test
// (FUZZ_BUDGET_MS) shared out over the operations still to run, so CI stays
// bounded however slow the machine.
import fc, { type Parameters } from 'fast-check';

export const DEFAULT_SEED = 1313;

export interface FuzzPlan {
  name: string;
  seed: number;
  runsPerOperation: number;
  /** fast-check parameters for the next of `operationsLeft` operations: its share of the time left. */
  parameters(operationsLeft: number): Parameters<never>;
  /** Milliseconds used so far. */
  elapsedMs(): number;
}

function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${text} is not an integer`);
  return n;
}

/**
 * Runs a fast-check async property so that the time budget cannot hide a
 * failure: fast-check's interruptAfterTimeLimit abandons the case in flight
 * (a call that hangs is exactly what it would abandon), so the case is
 * awaited and judged after the run anyway.
 */
export async function assertBounded<T>(arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>, parameters: Parameters<never>): Promise<void> {
  let inFlight: Promise<void> | undefined;
  let failure: unknown;
  await fc.assert(
    fc.asyncProperty(arbitrary, (value) => {
      inFlight = check(value).catch((err: unknown) => {
        failure ??= err;
        throw err;
      });
      return inFlight;
    }),
    parameters as unknown as Parameters<[T]>,
  );
  await inFlight?.catch(() => undefined);
  if (failure) throw failure;
}

export function fuzzPlan(name: string, defaults: { runsPerOperation: number; budgetMs: number }): FuzzPlan {
  const seed = envInteger('FUZZ_SEED', DEFAULT_SEED);
  const runsPerOperation = envInteger('FUZZ_RUNS', defaults.runsPerOperation);
  const budgetMs = envInteger('FUZZ_BUDGET_MS', defaults.budgetMs);
  const started = Date.now();
  console.log(`[fuzz] ${name}: seed ${seed} (FUZZ_SEED), ${runsPerOperation} runs per operation (FUZZ_RUNS), budget ${budgetMs} ms (FUZZ_BUDGET_MS)`);
  return {
    name,
    seed,
    runsPerOperation,
    elapsedMs: () => Date.now() - started,
    parameters(operationsLeft) {
      const left = Math.max(0, budgetMs - (Date.now() - started));
      return {
        seed,
        numRuns: runsPerOperation,
        // Each case talks to a server that keeps state: shrinking would replay
        // against a different state, so the first failure is reported as it was.
        endOnFailure: true,
        interruptAfterTimeLimit: Math.max(200, Math.floor(left / Math.max(1, operationsLeft))),
        markInterruptAsFailure: false,
      };
    },
  };
}
