// What the client can fail with, each with its exit code:
// 0 ok, 1 the API answered with an error, 2 bad usage, 3 server unreachable.
export const EXIT = { ok: 0, api: 1, usage: 2, unreachable: 3 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

export class UnreachableError extends CliError {
  constructor(message: string) {
    super(message, EXIT.unreachable);
  }
}

/** The server answered, but not with what was asked (a problem, or a failed wait). */
export class ApiFailure extends CliError {
  constructor(message: string) {
    super(message, EXIT.api);
  }
}
