// The request ids of the work in progress: set where a change enters (a REST
// or gRPC call, a reconcile job, an outbox relay pass) and read wherever it
// goes next in the same async flow (log lines, outbox rows, job data, stored
// desired-state generations), so one id follows a change to the agent.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

interface RequestContext {
  /** Usually one; a reconcile job merged from several changes carries each of them. */
  readonly requestIds: readonly string[];
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Most ids one piece of work carries along (a burst of changes merged into one job). */
export const MAX_REQUEST_IDS = 32;

/** Runs fn with these request ids as the current ones. */
export function withRequestIds<T>(requestIds: readonly string[], fn: () => T): T {
  return storage.run({ requestIds: boundedIds(requestIds) }, fn);
}

export function currentRequestIds(): readonly string[] {
  return storage.getStore()?.requestIds ?? [];
}

/** Distinct, in first-seen order, at most MAX_REQUEST_IDS (the newest). */
export function boundedIds(ids: Iterable<string>): string[] {
  const distinct = [...new Set(ids)];
  return distinct.slice(Math.max(0, distinct.length - MAX_REQUEST_IDS));
}

const ACCEPTED = /^[\x21-\x7e]{1,128}$/;

/** The caller's id when it is a sane token (visible ASCII, at most 128 characters), else a new one. */
export function requestIdOf(offered: string | undefined): string {
  return offered && ACCEPTED.test(offered) ? offered : randomUUID();
}

export const REQUEST_ID_HEADER = 'x-request-id';
