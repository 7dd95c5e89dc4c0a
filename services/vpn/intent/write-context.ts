// What one intent write carries through its transaction: the changes it made
// (rows created, updated, deleted) and the nodes whose desired state they touch.
import type { IntentStore } from '../store/intent-store.js';
import type { Change } from './types.js';

/** The labels service's node SID indexes, asked before a write stores an index it names. */
export interface SidIndexPool {
  /** Why `node` cannot take `index` now (held by another, in hold-down); undefined when it can. */
  sidIndexUnavailable(index: number, node: string): Promise<string | undefined>;
}

export class WriteContext {
  readonly changes: Change[] = [];
  readonly nodes = new Set<string>();
  constructor(
    readonly store: IntentStore,
    readonly sidIndexes?: SidIndexPool,
  ) {}

  changed(kind: Change['kind'], id: string, action: Change['action']): void {
    this.changes.push({ kind, id, action });
  }

  affect(...nodes: (string | undefined)[]): void {
    for (const n of nodes) if (n) this.nodes.add(n);
  }

  /** Every node's desired state depends on the whole topology (SR shortest paths, node SIDs). */
  async affectAllNodes(): Promise<void> {
    for (const id of await this.store.nodes.allIds()) this.nodes.add(id);
  }
}
