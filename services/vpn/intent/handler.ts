// The per-resource part of the write engine (intent-service.ts): how to
// read, check and store one kind of intent.
import type { IntentStore } from '../store/intent-store.js';
import type { WriteContext } from './write-context.js';
import type { ResourceKind, ResourceSpecs, ResourceViews } from './types.js';

export type Filter = Record<string, string | undefined>;

export interface ResourceHandler<K extends ResourceKind> {
  readonly kind: K;
  /** Query parameters a list may be filtered by. */
  readonly filters: readonly string[];
  read(store: IntentStore, id: string): Promise<ResourceViews[K] | undefined>;
  /** Ids > after, in id order, at most limit. */
  list(store: IntentStore, filter: Filter, after: string | undefined, limit: number): Promise<ResourceViews[K][]>;
  /** Checks `next` against the rest of the intent (throws IntentErrors) and writes it. */
  save(ctx: WriteContext, next: ResourceSpecs[K], current: ResourceViews[K] | undefined): Promise<void>;
  remove(ctx: WriteContext, current: ResourceViews[K]): Promise<void>;
  /** What a merge patch applies to, when not the view itself (without its server-owned fields). */
  patchBase?(current: ResourceViews[K]): ResourceSpecs[K];
}

