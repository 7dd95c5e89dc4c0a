import { pino, type Logger } from 'pino';

export type { Logger };

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * JSON logs on stdout, one line per event, with the service name on every
 * line. Without a name (several services in one process) each service's
 * child logger adds its own.
 */
export function createLogger(service: string | undefined, level = 'info'): Logger {
  if (!LEVELS.has(level)) throw new Error(`log.level must be one of ${[...LEVELS].join(', ')}, got '${level}'`);
  return pino({ level, base: service ? { service } : { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
