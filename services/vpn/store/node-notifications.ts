// Per-node notifications on any replica: one LISTEN connection per process
// on the channels whose NOTIFY payload is a node id, sent in the writing
// transaction — a new desired-state generation (DESIRED_STATE_CHANNEL) or a
// change of the node's agent credentials (AGENT_CREDENTIALS_CHANNEL). After a
// reconnect every subscriber of every channel is called, as notifications
// sent meanwhile are lost (subscribers re-read, so it is safe).
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../../common/logger.js';
import { poolConfigFromUrl } from '../../common/db/pg-config.js';

const EVERY_NODE = '*';

export class NodeNotifications {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private client: pg.Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly channels: readonly string[],
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client(poolConfigFromUrl(this.databaseUrl));
    client.on('notification', (m) => m.payload && this.emitter.emit(`${m.channel}:${m.payload}`));
    client.on('error', (err) => {
      this.log.warn({ err: err.message }, 'node notifications LISTEN connection lost; reconnecting');
      this.reconnect();
    });
    await client.connect();
    for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
    this.client = client;
    for (const channel of this.channels) this.emitter.emit(`${channel}:${EVERY_NODE}`);
  }

  private reconnect(): void {
    // The connection is already broken; ending it only frees the socket.
    this.client?.end().catch((err: Error) => this.log.debug({ err: err.message }, 'closing the lost LISTEN connection failed'));
    this.client = undefined;
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start().catch((err: Error) => {
        this.log.warn({ err: err.message }, 'node notifications could not LISTEN again; retrying in 1 s');
        this.reconnect();
      });
    }, 1000);
    this.retry.unref();
  }

  /** Calls `fn` whenever `channel` may have news of `node`; returns the unsubscribe. */
  subscribe(channel: string, node: string, fn: () => void): () => void {
    if (!this.channels.includes(channel)) throw new Error(`not listening on ${channel}`);
    const [one, every] = [`${channel}:${node}`, `${channel}:${EVERY_NODE}`];
    this.emitter.on(one, fn);
    this.emitter.on(every, fn);
    return () => {
      this.emitter.off(one, fn);
      this.emitter.off(every, fn);
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.client?.end().catch((err: Error) => this.log.debug({ err: err.message }, 'closing the LISTEN connection at stop failed'));
  }
}
