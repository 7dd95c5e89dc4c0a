// A node-postgres pool for the hot paths that want plain SQL (one round trip
// per statement, no query compiler), shared with the Prisma client so a
// process keeps one set of connections.
import pg from 'pg';
import { poolConfigFromUrl } from './pg-config.js';

const INT8_OID = 20;
const TIMESTAMP_OID = 1114;

// Prisma stores DateTime as UTC wall-clock `timestamp`; read it back as UTC,
// not in the process's local zone (node-postgres' default). int8 values here
// are labels and counters, far below 2^53.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMP_OID) return (v: string) => new Date(v.replace(' ', 'T') + 'Z');
    if (oid === INT8_OID) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export function createPgPool(databaseUrl: string, size: number, onIdleError: (err: Error) => void = () => {}): pg.Pool {
  const pool = new pg.Pool({ ...poolConfigFromUrl(databaseUrl), max: size, types: types as pg.CustomTypesConfig });
  // A server restart ends idle connections; the pool replaces them, the process must not crash.
  pool.on('error', onIdleError);
  return pool;
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

/** Runs fn in a transaction on one connection; rolls back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
