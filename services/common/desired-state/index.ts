// Desired forwarding state of managed nodes: pure computation and diff.
export * from './types.js';
export { screenInventory, type RejectedRecord, type ScreenedInventory } from './inventory-screen.js';
export { buildTopology, type Topology, type TopologyNode, type Adjacency, type NextHop } from './topology.js';
export {
  prepareNetwork,
  computeNodeDesiredState,
  computeDesiredStates,
  type Network,
  type ComputeOptions,
  type NodeDesiredStateResult,
} from './compute.js';
export {
  diffDesiredState,
  applyDelta,
  applyChange,
  summarizeDelta,
  danglingReferences,
  stateTables,
  entryKey,
  messageEquals,
  vrfRouteEquals,
  vrfRouteKey,
  type DeltaSummary,
  type StateTables,
} from './diff.js';
export { PrefixError, canonicalPrefix, canonicalAddress, parsePrefix, prefixTextSortKey } from './prefix.js';
export { alternate, protectsInterface, type Alternate } from './alternates.js';
