import type pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../gen/prisma/client.js';
import { schemaFromUrl } from './pg-config.js';
import { createPgPool } from './sql.js';

export type { PrismaClient };

export interface Database {
  prisma: PrismaClient;
  /** The same connections, for plain SQL. */
  pool: pg.Pool;
  close(): Promise<void>;
}

/** A Prisma client (Prisma 7 reaches the database through a driver adapter) and its node-postgres pool. */
export function openDatabase(databaseUrl: string, poolSize = 10, onIdleError?: (err: Error) => void): Database {
  const pool = createPgPool(databaseUrl, poolSize, onIdleError);
  const adapter = new PrismaPg(pool, { schema: schemaFromUrl(databaseUrl) });
  const prisma = new PrismaClient({ adapter });
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
