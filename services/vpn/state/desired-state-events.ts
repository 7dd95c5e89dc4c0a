// Wakes watchers when a node's desired state gets a new generation, on any
// replica: one LISTEN connection per process on the channel the store
// NOTIFYs in its transaction. After a reconnect every watcher is woken, as
// notifications sent meanwhile are lost (watchers re-read, so it is safe).
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../../common/logger.js';
import { poolConfigFromUrl } from '../../common/db/pg-config.js';
import { DESIRED_STATE_CHANNEL } from './desired-state-store.js';

const EVERY_NODE = '*';

export class DesiredStateEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private client: pg.Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client(poolConfigFromUrl(this.databaseUrl));
    client.on('notification', (m) => m.payload && this.emitter.emit(m.payload));
    client.on('error', (err) => {
      this.log.warn({ err: err.message }, 'desired-state LISTEN connection lost; reconnecting');
      this.reconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${DESIRED_STATE_CHANNEL}`);
    this.client = client;
    this.emitter.emit(EVERY_NODE);
  }

  private reconnect(): void {
    this.client?.end().catch(() => {});
    this.client = undefined;
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start().catch(() => this.reconnect());
    }, 1000);
    this.retry.unref();
  }

  /** Calls `wake` whenever the node may have a new generation; returns the unsubscribe. */
  subscribe(node: string, wake: () => void): () => void {
    this.emitter.on(node, wake);
    this.emitter.on(EVERY_NODE, wake);
    return () => {
      this.emitter.off(node, wake);
      this.emitter.off(EVERY_NODE, wake);
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.client?.end().catch(() => {});
  }
}
