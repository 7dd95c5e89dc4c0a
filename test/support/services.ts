// Where tests find PostgreSQL and Redis: containers from testcontainers when a
// Docker engine is reachable, otherwise the servers named by DATABASE_URL and
// REDIS_URL (default: the local ones on 127.0.0.1). Either way every test run
// gets a database of its own, so runs never collide.
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { applyMigrations } from '../../services/common/db/migrations.js';
import { poolConfigFromUrl } from '../../services/common/db/pg-config.js';

let dockerChecked: Promise<boolean> | undefined;

/** True when a Docker engine answers (a socket or DOCKER_HOST alone is not enough). */
export function dockerAvailable(): Promise<boolean> {
  dockerChecked ??= (async () => {
    if (process.env.L3VPN_TEST_NO_CONTAINERS) return false;
    if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      return true;
    } catch {
      return false;
    }
  })();
  return dockerChecked;
}

let serverUrl: Promise<string> | undefined;

async function postgresServerUrl(): Promise<string> {
  serverUrl ??= (async () => {
    if (await dockerAvailable()) {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const c = await new PostgreSqlContainer('postgres:15-alpine').start();
      return c.getConnectionUri();
    }
    return process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  })();
  return serverUrl;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, migrated database on the test server; drop() removes it. `prismaDir`: migrate from another migrations folder (a migration's own test). */
export async function createTestDatabase(label = 'test', options: { prismaDir?: string } = {}): Promise<TestDatabase> {
  const server = new URL(await postgresServerUrl());
  const name = `l3vpn_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  server.pathname = `/${name}`;
  server.search = '';
  const url = server.toString();
  await applyMigrations({ databaseUrl: url, ...(options.prismaDir ? { prismaDir: options.prismaDir } : {}) });
  return {
    url,
    async drop() {
      const admin = new pg.Client({ ...poolConfigFromUrl(url), database: 'postgres', options: undefined });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

let redisUrl: Promise<string> | undefined;

/** A Redis URL and a key prefix of this run's own. */
export async function testRedis(): Promise<{ url: string; prefix: string }> {
  redisUrl ??= (async () => {
    if (await dockerAvailable()) {
      const { RedisContainer } = await import('@testcontainers/redis');
      const c = await new RedisContainer('redis:7-alpine').start();
      return c.getConnectionUrl();
    }
    return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  })();
  return { url: await redisUrl, prefix: `l3vpn-test-${process.pid}-${randomBytes(4).toString('hex')}` };
}
