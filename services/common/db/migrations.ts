// Applies and creates Prisma migrations with Prisma's WebAssembly schema
// engine driven through the node-postgres driver adapter, so that nothing
// beyond `npm ci` is needed: Prisma's CLI would download a native engine.
import { readFile, readdir, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import { poolConfigFromUrl, schemaFromUrl } from './pg-config.js';
import { projectRoot } from '../project-root.js';

const CATALOG_CHAR_OID = 18;
const TEXT_OID = 25;

/**
 * The adapter has no column type for Postgres' one-byte catalog type "char"
 * (pg_class.relkind and friends), which the engine reads when it inspects a
 * database. Its text form is a one-character string, so report it as text.
 */
class CatalogCharAsTextClient extends pg.Client {
  override query(...args: unknown[]): any {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = (err: Error | null, res: pg.QueryResult) => callback(err, err ? res : charAsText(res));
      return (super.query as (...a: unknown[]) => unknown)(...args);
    }
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    return result instanceof Promise ? result.then(charAsText) : result;
  }
}

function charAsText(res: pg.QueryResult): pg.QueryResult {
  for (const field of res?.fields ?? []) if (field.dataTypeID === CATALOG_CHAR_OID) field.dataTypeID = TEXT_OID;
  return res;
}

function newPool(config: pg.PoolConfig, opened: pg.Pool[]): pg.Pool {
  const pool = new pg.Pool({ ...config, max: 2, Client: CatalogCharAsTextClient });
  // An idle connection that the server ends (a dropped test database) must not crash the process.
  pool.on('error', () => {});
  opened.push(pool);
  return pool;
}

/**
 * A migration-aware adapter factory whose shadow database really is a
 * separate database, and is dropped only after its pool has closed (Postgres
 * refuses to drop a database with open connections).
 */
class MigrationAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres' as const;
  readonly adapterName = '@prisma/adapter-pg';
  /** Every pool handed to the engine, closed when the engine is done (freeing it does not). */
  readonly opened: pg.Pool[] = [];
  constructor(private readonly config: pg.PoolConfig) {}

  connect(): Promise<SqlDriverAdapter> {
    return new PrismaPg(newPool(this.config, this.opened), { disposeExternalPool: true }).connect();
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const name = `l3vpn_shadow_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ ...this.config, options: undefined });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
    const shadowConfig = { ...this.config, database: name, options: undefined };
    const adapter = await new PrismaPg(newPool(shadowConfig, this.opened), { disposeExternalPool: true }).connect();
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      const dropper = new pg.Client({ ...this.config, options: undefined });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS "${name}"`);
      } finally {
        await dropper.end();
      }
    };
    return adapter;
  }
}

type EngineModule = typeof import('@prisma/schema-engine-wasm');

let engineModule: Promise<EngineModule> | undefined;

// The WebAssembly global exists in Node; TypeScript only types it in the DOM library.
const wasmRuntime = (globalThis as unknown as {
  WebAssembly: { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: object } }> };
}).WebAssembly;

/** Node 20 cannot import a .wasm module directly; instantiate it by hand. */
function loadEngineModule(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const require = createRequire(import.meta.url);
    const dir = resolve(require.resolve('@prisma/schema-engine-wasm'), '..');
    const bg = await import(join(dir, 'schema_engine_bg.js'));
    const bytes = await readFile(join(dir, 'schema_engine_bg.wasm'));
    // The engine arms 10 s timers it never clears; unref them so a finished
    // migration does not hold the process open for 10 s.
    const imports: Record<string, unknown> = { ...bg };
    for (const [name, fn] of Object.entries(bg)) {
      if (name.startsWith('__wbg_setTimeout_') && typeof fn === 'function') {
        imports[name] = (...args: unknown[]) => {
          const timer = (fn as (...a: unknown[]) => unknown)(...args) as { unref?: () => void } | undefined;
          timer?.unref?.();
          return timer;
        };
      }
    }
    const { instance } = await wasmRuntime.instantiate(bytes, { './schema_engine_bg.js': imports });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start: () => void }).__wbindgen_start();
    return bg as EngineModule;
  })();
  return engineModule;
}

export interface MigrationOptions {
  databaseUrl: string;
  /** prisma/ folder holding schema.prisma and migrations/. */
  prismaDir?: string;
  log?: (message: string) => void;
}

function prismaDirOf(options: MigrationOptions): string {
  return options.prismaDir ?? join(projectRoot(), 'prisma');
}

async function readMigrations(migrationsDir: string): Promise<MigrationList> {
  const lockPath = 'migration_lock.toml';
  const lockContent = await readFile(join(migrationsDir, lockPath), 'utf8').catch(() => null);
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const migrationDirectories = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const content = await readFile(join(migrationsDir, entry.name, 'migration.sql'), 'utf8')
      .then((value) => ({ tag: 'ok' as const, value }))
      .catch((err: Error) => ({ tag: 'error' as const, value: err.message }));
    migrationDirectories.push({ path: entry.name, migrationFile: { path: 'migration.sql', content } });
  }
  return {
    baseDir: migrationsDir,
    lockfile: { path: lockPath, content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

async function withEngine<T>(options: MigrationOptions, datamodel: string | undefined, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const mod = await loadEngineModule();
  const config = poolConfigFromUrl(options.databaseUrl);
  await ensureDatabaseAndSchema(config, schemaFromUrl(options.databaseUrl));
  const adapters = new MigrationAdapterFactory(config);
  const factory = bindMigrationAwareSqlAdapterFactory(adapters);
  const log = options.log ?? (() => {});
  const engine = await mod.SchemaEngine.new(
    { datamodels: datamodel === undefined ? undefined : [['schema.prisma', datamodel]] },
    (message: string) => log(message),
    factory,
  );
  try {
    return await fn(engine);
  } finally {
    engine.free();
    await Promise.all(adapters.opened.map((p) => (p.ended ? undefined : p.end().catch(() => {}))));
  }
}

/** Creates the target database and schema when missing (a fresh machine has neither). */
async function ensureDatabaseAndSchema(config: pg.PoolConfig, schema: string): Promise<void> {
  const admin = new pg.Client({ ...config, database: 'postgres', options: undefined });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [config.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${String(config.database).replace(/"/g, '')}"`);
  } catch (err) {
    // Another process may have created it at the same moment.
    if ((err as { code?: string }).code !== '42P04') throw err;
  } finally {
    await admin.end();
  }
  const client = new pg.Client({ ...config, options: undefined });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '')}"`);
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;
  } finally {
    await client.end();
  }
}

/** Applies every migration not yet applied; returns their names. Like `prisma migrate deploy`. */
export async function applyMigrations(options: MigrationOptions): Promise<string[]> {
  const migrationsDir = join(prismaDirOf(options), 'migrations');
  const migrationsList = await readMigrations(migrationsDir);
  return withEngine(options, undefined, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList, filters: { externalTables: [], externalEnums: [] } });
    return out.appliedMigrationNames;
  });
}

/**
 * Writes a new migration for the difference between the migrations folder
 * (replayed on a shadow database) and schema.prisma, like `prisma migrate dev
 * --create-only`. The engine's own createMigration wants a shadow database
 * factory this adapter path does not give it, so this goes through diff.
 * Returns the new migration's folder name, or undefined when nothing changed.
 */
export async function createMigration(options: MigrationOptions & { name: string }): Promise<string | undefined> {
  const prismaDir = prismaDirOf(options);
  const migrationsDir = join(prismaDir, 'migrations');
  const datamodel = await readFile(join(prismaDir, 'schema.prisma'), 'utf8');
  const migrationsList = await readMigrations(migrationsDir);
  return withEngine(options, datamodel, async (engine) => {
    const out = await engine.diff({
      from: { tag: 'migrations', ...migrationsList },
      to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: datamodel }] },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    const script = out.stdout ?? '';
    if (!/^\s*[A-Z]/m.test(script.replace(/^--.*$/gm, ''))) return undefined;
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const folder = `${stamp}_${options.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
    await mkdir(join(migrationsDir, folder), { recursive: true });
    await writeFile(join(migrationsDir, folder, 'migration.sql'), script);
    return folder;
  });
}
