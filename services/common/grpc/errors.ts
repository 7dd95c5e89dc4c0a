import { status, type ServiceError, Metadata } from '@grpc/grpc-js';

/** An error meant for the caller, with its gRPC status. Anything else is INTERNAL. */
export class ApiError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const invalidArgument = (field: string, problem: string) =>
  new ApiError(status.INVALID_ARGUMENT, `${field}: ${problem}`);
export const notFound = (message: string) => new ApiError(status.NOT_FOUND, message);
export const alreadyExists = (message: string) => new ApiError(status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string) => new ApiError(status.FAILED_PRECONDITION, message);
export const resourceExhausted = (message: string) => new ApiError(status.RESOURCE_EXHAUSTED, message);
export const unavailable = (message: string) => new ApiError(status.UNAVAILABLE, message);

export function toServiceError(err: unknown): ServiceError {
  const e = err instanceof ApiError ? err : new ApiError(status.INTERNAL, 'internal error');
  return Object.assign(new Error(e.message), { code: e.code, details: e.message, metadata: new Metadata() });
}

/** Whether `err` is a gRPC client call failing because the service it called did not answer (down, unreachable, too slow). */
export function isDependencyDown(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && 'metadata' in err && (code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED);
}
