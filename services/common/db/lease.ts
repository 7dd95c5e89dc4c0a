// A lease on work that must run in one replica at a time (the outbox
// relay's rounds, sweeps, purges, resync scheduling): a PostgreSQL
// session-level advisory lock held on a connection of its own.
//
// Why a lock held by a session: a replica that dies (SIGKILL, OOM, node
// lost) loses its connection and the server frees the lock with the
// session, so the next replica to try takes it within `retryMs` — no
// expiry to wait out, no clock to trust. A peer that vanishes without
// closing its socket is found by the server's TCP keepalives (set on the
// session below). The holder checks its connection every `heartbeatMs`
// and gives the work up at the first failed check or connection error,
// long before the server can have handed the lock to anyone else (its
// keepalives take more than 10 s), so two replicas never run the work at
// once on this lease's account. The key is per database and schema:
// deployments sharing a server do not share leases.
import pg from 'pg';
import type { Logger } from '../logger.js';
import { poolConfigFromUrl } from './pg-config.js';

export interface LeaseOptions {
  databaseUrl: string;
  /** What is leased ("vpn-background"): the lock's key, with the database's schema. */
  name: string;
  log: Logger;
  /** Called once the lease is ours: start the work. */
  onAcquired(): void | Promise<void>;
  /** Called when the lease is no longer ours (lost, or stop()): stop the work. */
  onLost(): void | Promise<void>;
  /** How often a replica without the lease tries to take it (default 1000 ms). */
  retryMs?: number;
  /** How often the holder checks its connection (default 1000 ms). */
  heartbeatMs?: number;
}

/** A check of the holder's connection that takes longer than this counts as failed. */
const CHECK_TIMEOUT_MS = 3000;

export class Lease {
  private client: pg.Client | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private heldSince: number | undefined;
  /** Times this replica took the lease (a new owner's work starts afresh each time). */
  acquisitions = 0;

  constructor(private readonly o: LeaseOptions) {}

  /** Whether this replica owns the work now. */
  get held(): boolean {
    return this.heldSince !== undefined;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Gives the lease up (its work stopped first) and closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    const client = this.client;
    this.client = undefined;
    if (this.held) {
      await this.lose('the process is stopping', false);
      // Ending the session frees the lock too; unlocking first only hands it over without waiting for the server.
      await client?.query('SELECT pg_advisory_unlock_all()').catch((err: Error) => this.o.log.debug({ lease: this.o.name, err: err.message }, 'lease not unlocked before closing'));
    }
    await client?.end().catch((err: Error) => this.o.log.debug({ lease: this.o.name, err: err.message }, 'lease connection not closed cleanly'));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.held) await this.check();
        else await this.tryAcquire();
      } catch (err) {
        if (this.stopped) break;
        if (this.held) await this.lose(`its database connection failed: ${(err as Error).message}`, true);
        else this.o.log.debug({ lease: this.o.name, err: (err as Error).message }, 'lease not tried: no database connection');
        this.drop();
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.held ? (this.o.heartbeatMs ?? 1000) : (this.o.retryMs ?? 1000));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ ...poolConfigFromUrl(this.o.databaseUrl), keepAlive: true, keepAliveInitialDelayMillis: 5000, query_timeout: CHECK_TIMEOUT_MS, connectionTimeoutMillis: CHECK_TIMEOUT_MS });
    // Errors of an idle connection surface here (the server restarted): the next check or try finds it gone.
    client.on('error', (err) => {
      if (this.client !== client) return;
      this.drop();
      if (this.held) void this.lose(`its database connection failed: ${err.message}`, true);
    });
    await client.connect();
    // The server's keepalives on this session: a holder that vanished without a FIN frees the lock in ~11 s.
    await client
      .query('SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3')
      .catch((err: Error) => this.o.log.warn({ lease: this.o.name, err: err.message }, "server keepalives not set on the lease's session: a holder that vanishes without closing frees it only when the server's own keepalives notice"));
    this.client = client;
    return client;
  }

  private async tryAcquire(): Promise<void> {
    const client = await this.connection();
    const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext('l3vpn:' || current_schema() || ':' || $1)) AS ok`, [this.o.name]);
    if (!rows[0]?.ok || this.stopped) {
      if (rows[0]?.ok) await client.query('SELECT pg_advisory_unlock_all()');
      return;
    }
    this.heldSince = Date.now();
    this.acquisitions++;
    this.o.log.info({ lease: this.o.name, pid: process.pid }, 'this replica now owns the lease and runs its work');
    await this.o.onAcquired();
  }

  private async check(): Promise<void> {
    await (await this.connection()).query('SELECT 1');
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    // Ending a broken connection may never answer: nothing waits for it, and its failure is the one already reported.
    void client?.end().catch((err: Error) => this.o.log.debug({ lease: this.o.name, err: err.message }, 'broken lease connection not closed cleanly'));
  }

  private async lose(reason: string, unexpected: boolean): Promise<void> {
    if (!this.held) return;
    const heldMs = Date.now() - this.heldSince!;
    this.heldSince = undefined;
    const entry = { lease: this.o.name, reason, heldSeconds: Math.round(heldMs / 1000) };
    if (unexpected) this.o.log.warn(entry, 'lease lost: this replica stops its work; another takes it over');
    else this.o.log.info(entry, 'lease given up');
    try {
      await this.o.onLost();
    } catch (err) {
      this.o.log.warn({ lease: this.o.name, err: (err as Error).message }, 'work of a lost lease did not stop cleanly');
    }
  }
}
