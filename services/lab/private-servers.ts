// PostgreSQL and Redis for the lab when DATABASE_URL / REDIS_URL are not
// given: started from the locally installed servers on free ports, with
// their data under the project's .l3vpn/ folder, as children of the lab
// and stopped with it. The database outlives the lab, so that the intent
// survives a restart, unless the lab starts fresh.
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { CommandError, Daemon, freePort, isRoot, processAlive, processStartTime, run, waitUntil, which, type ProcessRecorder } from './processes.js';

export class MissingServerError extends Error {}

const POSTGRES_MISSING =
  'PostgreSQL server binaries (initdb, postgres) were not found. Install them — Debian/Ubuntu: `sudo apt-get install postgresql`; ' +
  'macOS: `brew install postgresql@16` — or point DATABASE_URL at a running server.';
const REDIS_MISSING =
  'redis-server was not found. Install it — Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis` — or point REDIS_URL at a running server.';

/** The folder holding initdb and postgres: Debian's newest /usr/lib/postgresql/N/bin, else the one on PATH (Homebrew). */
async function postgresBinDir(): Promise<string> {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'initdb')) && existsSync(join(debian, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debian, versions[0], 'bin');
  }
  const initdb = await which('initdb');
  if (initdb && (await which('postgres'))) return initdb.slice(0, initdb.lastIndexOf('/'));
  throw new MissingServerError(POSTGRES_MISSING);
}

/** initdb and postgres refuse to run as root: as root they run as the `postgres` user, on a folder it owns. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  if (!isRoot()) return [cmd, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', cmd, ...args]];
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(path, uid, gid);
    else chownSync(path, uid, gid);
  }
}

export interface PrivateServer {
  url: string;
  logFile: string;
  stop(): Promise<void>;
}

export interface PrivateServerOptions {
  /** Told the server's pid, so that a lab killed with -9 has it stopped by the next start. */
  record?: ProcessRecorder;
  /** Drop the lab's database and start empty (default: keep the intent of the last run). */
  fresh?: boolean;
}

/**
 * Removes postmaster.pid when the postmaster it names is gone. A postgres
 * killed while its lab was (kill -9) may stay a zombie nobody reaps; postgres
 * would take the zombie's pid for a running server and refuse to start.
 */
function removeStaleLockFile(dataDir: string): void {
  const lock = join(dataDir, 'postmaster.pid');
  if (!existsSync(lock)) return;
  const pid = Number(readFileSync(lock, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  const startTime = processStartTime(pid);
  if (startTime === undefined || !processAlive(pid, startTime)) rmSync(lock, { force: true });
}

export async function startPostgres(stateDir: string, logDir: string, database: string, o: PrivateServerOptions = {}): Promise<PrivateServer> {
  const bin = await postgresBinDir();
  const dataDir = join(stateDir, 'postgres');
  const logFile = join(logDir, 'postgres.log');
  if (isRoot()) {
    const ids = (await run('id', ['-u', 'postgres']).catch(() => '')).trim();
    if (!ids) throw new MissingServerError('running as root, PostgreSQL needs the `postgres` user to run as; install the postgresql package (it creates the user) or run the lab as a normal user');
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (isRoot()) {
    const uid = Number((await run('id', ['-u', 'postgres'])).trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).trim());
    chownTree(dataDir, uid, gid);
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const [cmd, args] = asServerUser(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    try {
      await run(cmd, args, { timeoutMs: 120_000 });
    } catch (err) {
      throw new CommandError(`initdb failed (${dataDir}): ${(err as Error).message}`);
    }
  }
  removeStaleLockFile(dataDir);
  const port = await freePort();
  const [cmd, args] = asServerUser(join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dataDir}`, '-c', 'fsync=off']);
  const daemon = Daemon.start('postgres', cmd, args, logFile, process.env, o.record, 'SIGINT'); // SIGINT: fast shutdown
  const server = `postgresql://postgres@127.0.0.1:${port}`;
  const stop = () => daemon.stop(10_000);
  try {
    await waitUntil('PostgreSQL accepting connections', async () => {
      if (!daemon.running) throw new CommandError(`postgres exited; see ${logFile}`);
      const c = new pg.Client({ connectionString: `${server}/postgres` });
      try {
        await c.connect();
        return true;
      } catch {
        return false;
      } finally {
        await c.end().catch(() => undefined);
      }
    }, 60_000, 200);
    if (o.fresh) {
      const admin = new pg.Client({ connectionString: `${server}/postgres` });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `${server}/${database}`, logFile, stop };
}

export async function startRedis(stateDir: string, logDir: string, o: PrivateServerOptions = {}): Promise<PrivateServer> {
  const bin = await which('redis-server');
  if (!bin) throw new MissingServerError(REDIS_MISSING);
  const dir = join(stateDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const logFile = join(logDir, 'redis.log');
  const daemon = Daemon.start('redis', bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], logFile, process.env, o.record);
  const url = `redis://127.0.0.1:${port}`;
  const stop = () => daemon.stop(5000);
  try {
    await waitUntil('Redis answering PING', async () => {
      if (!daemon.running) throw new CommandError(`redis-server exited; see ${logFile}`);
      const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        r.disconnect();
      }
    }, 20_000, 100);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, logFile, stop };
}
