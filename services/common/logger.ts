import { pino, type Logger } from 'pino';
import { currentRequestIds } from './ops/request-context.js';

export type { Logger };

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Fields that may hold a credential wherever they appear in a log object. */
const REDACTED = ['authorization', 'token', 'password', 'secret', '*.authorization', '*.token', '*.password', '*.secret', 'headers.authorization', '*.headers.authorization'];

/**
 * JSON logs on stdout, one line per event, with the service name on every
 * line. Without a name (several services in one process) each service's
 * child logger adds its own. A line logged while a change is being handled
 * carries its request id(s) (ops/request-context.ts).
 */
export function createLogger(service: string | undefined, level = 'info'): Logger {
  if (!LEVELS.has(level)) throw new Error(`log.level must be one of ${[...LEVELS].join(', ')}, got '${level}'`);
  return pino({
    level,
    base: service ? { service } : { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED, censor: '<hidden>' },
    mixin: () => {
      const ids = currentRequestIds();
      if (!ids.length) return {};
      return ids.length === 1 ? { requestId: ids[0] } : { requestIds: ids };
    },
  });
}
