// What can go wrong with an intent request, independent of the protocol it
// came in on. The REST adapter turns these into RFC 9457 problem details,
// the gRPC adapter into status codes.

import { quoteId } from '../../common/quote.js';

export type IntentErrorKind =
  /** The request does not match the schema (REST 400). */
  | 'invalid'
  /** Well-formed, but it does not make sense (REST 422). */
  | 'semantic'
  /** Clashes with another resource (REST 409). */
  | 'conflict'
  /** The id is taken (REST 409, gRPC ALREADY_EXISTS). */
  | 'exists'
  | 'not-found'
  /** If-Match did not match (REST 412, gRPC ABORTED). */
  | 'precondition-failed'
  /** If-Match is required and was not sent (REST 428). */
  | 'precondition-required'
  | 'unauthenticated'
  | 'forbidden';

/** One bad field. `pointer` is a JSON pointer (RFC 6901) into the request body. */
export interface FieldProblem {
  pointer: string;
  detail: string;
}

export class IntentError extends Error {
  constructor(
    readonly kind: IntentErrorKind,
    message: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(message);
    this.name = 'IntentError';
  }
}

export const invalid = (fields: FieldProblem[]) =>
  new IntentError('invalid', fields.map((f) => `${f.pointer || '/'}: ${f.detail}`).join('; '), fields);

export const semantic = (pointer: string, detail: string) => new IntentError('semantic', `${pointer}: ${detail}`, [{ pointer, detail }]);

export const conflict = (pointer: string, detail: string) => new IntentError('conflict', detail, pointer ? [{ pointer, detail }] : []);

export { quoteId };

export const notFound = (kind: string, id: string) => new IntentError('not-found', `${kind} '${quoteId(id)}' does not exist`);

/** Collects several semantic problems so the caller hears about all of them at once. */
export class Problems {
  readonly list: FieldProblem[] = [];
  add(pointer: string, detail: string): void {
    this.list.push({ pointer, detail });
  }
  throwIfAny(): void {
    if (this.list.length) throw new IntentError('semantic', this.list.map((f) => `${f.pointer}: ${f.detail}`).join('; '), this.list);
  }
}
