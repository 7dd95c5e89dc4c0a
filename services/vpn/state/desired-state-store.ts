// The node desired states the agents watch: a new generation is stored only
// when the state changed, with a NOTIFY in the same transaction so every
// replica's watchers wake up once it is committed. The last few generations
// are kept, so an agent reconnecting with one of them gets a delta, and so
// is the one its agent last reported applied.
import type { DesiredStateDelta, NodeDesiredState } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { diffDesiredState, type DesiredStateWarning } from '../../common/desired-state/index.js';
import { currentRequestIds } from '../../common/ops/request-context.js';
import type { Tx } from '../store/db.js';
import type { DesiredStateRecords, StoredState } from '../store/desired-state-store.js';

export { DESIRED_STATE_CHANNEL, type StoredState } from '../store/desired-state-store.js';

export const KEEP_GENERATIONS = 10;

export interface SaveResult {
  changed: boolean;
  generation: number;
  /** From the previous generation (absent when there was none) to this one; empty when unchanged. */
  delta: DesiredStateDelta;
  previous: NodeDesiredState | undefined;
}

/** Nothing an agent would install differs. */
export function isEmptyDelta(d: DesiredStateDelta): boolean {
  return d.changes.length === 0 && d.transport === undefined && !d.role;
}

export class DesiredStateStore {
  constructor(private readonly records: DesiredStateRecords) {}

  /** The node's newest generation; read in `tx` when given (a caller's transaction). */
  latest(node: string, tx?: Tx): Promise<StoredState | undefined> {
    return this.records.latest(node, tx);
  }

  at(node: string, generation: number): Promise<StoredState | undefined> {
    return this.records.at(node, generation);
  }

  /**
   * Stores `state` as the node's next generation unless it equals the latest.
   * `onChange` runs in the same transaction (the caller's outbox row).
   */
  async save(
    node: string,
    state: NodeDesiredState,
    warnings: readonly DesiredStateWarning[],
    onChange: (tx: Tx, result: SaveResult) => Promise<void> = async () => {},
  ): Promise<SaveResult> {
    return this.records.locked(node, async (records, tx) => {
      const latest = await records.latest(node);
      const generation = (latest?.generation ?? 0) + 1;
      const next = { ...state, generation };
      const delta = diffDesiredState(latest?.state, next);
      if (latest && isEmptyDelta(delta)) return { changed: false, generation: latest.generation, delta, previous: latest.state };
      // The changes this generation is the first to contain: those of the job storing it.
      await records.add(node, generation, next, warnings, [...currentRequestIds()]);
      // The generation the agent last applied stays too: what it holds is then always known (install-before-advertise).
      await records.prune(node, generation - KEEP_GENERATIONS, await records.appliedGeneration(node));
      await records.notifyChanged(node);
      const result = { changed: true, generation, delta, previous: latest?.state };
      await onChange(tx, result);
      return result;
    });
  }

  /** Request ids of the generations after `from` up to `to`, oldest first (those still kept). */
  async requestIdsBetween(node: string, from: number, to: number): Promise<string[]> {
    return [...new Set((await this.records.requestIds(node, from, to)).flat())];
  }

  /** The node left the intent: its agent has nothing to watch. */
  forget(node: string): Promise<void> {
    return this.records.forget(node);
  }
}
