import pg from 'pg';

/**
 * Splits a postgres:// URL into discrete pool settings. node-postgres lets a
 * connectionString win over `database`, so a URL must not be passed where
 * the database is later switched (the shadow database of a migration).
 */
export function poolConfigFromUrl(url: string): pg.PoolConfig {
  const u = new URL(url);
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`DATABASE_URL must start with postgres:// or postgresql:// (got ${u.protocol})`);
  }
  const config: pg.PoolConfig = {
    host: decodeURIComponent(u.hostname) || u.searchParams.get('host') || '127.0.0.1',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || 'postgres',
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
  };
  if (u.password) config.password = decodeURIComponent(u.password);
  // Prisma keeps DateTime columns as UTC wall-clock timestamps; the session
  // must agree, or now() and column defaults drift by the server's offset.
  const options = ['-c TimeZone=UTC'];
  const schema = u.searchParams.get('schema');
  if (schema) options.push(`-c search_path="${schema.replace(/"/g, '')}"`);
  config.options = options.join(' ');
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode && sslmode !== 'disable') config.ssl = { rejectUnauthorized: sslmode === 'verify-full' };
  return config;
}

/** The schema named by ?schema= in a database URL, or "public". */
export function schemaFromUrl(url: string): string {
  return new URL(url).searchParams.get('schema') ?? 'public';
}
