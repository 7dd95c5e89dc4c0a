// Wakes reconciles from the bgp service: one WatchVrfRoutes stream and one
// WatchEvent (peer states) stream per vpn replica. A change of what a node's
// VRF imported (a route from another managed PE or from an external PE) or
// learned from a CE over PE-CE eBGP queues that node, so the route reaches
// its desired state without any API write; so does a PE-CE session of the
// node entering or leaving Established, so the site's status says whether
// its CE is there (reconcile/ce-session-status.ts), even when the CE had no
// routes to withdraw.
// After every (re)connection of the route stream, once the snapshot is in,
// every node with VRFs is queued: the speaker may have restarted empty and
// needs its VRFs and routes defined again (reconciles are level-triggered,
// so a node that needed nothing changes nothing). Reconnects back off
// 0.5 s .. 15 s, each stream on its own.
import type { ClientReadableStream } from '@grpc/grpc-js';
import { SessionState, VrfPathOrigin, type WatchEventResponse, type WatchVrfRoutesResponse } from '../../common/gen/proto/l3vpn/v1/bgp.js';
import type { Logger } from '../../common/logger.js';
import { parseBgpVrfName, type BgpApi } from './bgp-client.js';

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 15_000;
/** Changes of one burst (an UPDATE's worth, a peer coming up) become one enqueue per node. */
const COALESCE_MS = 50;
const MAX_DOWN_REASONS = 10_000;

export interface VrfRouteWatchOptions {
  bgp: BgpApi;
  /** Queues a reconcile of each node. */
  enqueue(nodes: string[]): Promise<unknown>;
  /** Nodes that have VRFs in the intent. */
  nodesWithVrfs(): Promise<string[]>;
  /** After a snapshot, every node with VRFs was queued (speaker-refill.ts). */
  refillQueued?(nodes: string[]): void;
  log: Logger;
}

/** A server stream the watch keeps open: reopened after it ends, backing off while it keeps failing. */
class Reconnecting<T> {
  private stream: ClientReadableStream<T> | undefined;
  private retryMs = FIRST_RETRY_MS;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly what: string,
    private readonly open: () => ClientReadableStream<T>,
    /** Handles one message; `connected()` resets the back-off once the stream proved useful. */
    private readonly onData: (m: T, connected: () => void) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.stopped) return;
    const stream = this.open();
    this.stream = stream;
    stream.on('data', (m: T) => this.onData(m, () => (this.retryMs = FIRST_RETRY_MS)));
    stream.on('error', () => undefined);
    stream.on('status', () => {
      if (this.stream !== stream || this.stopped) return;
      this.stream = undefined;
      this.log.warn({ retryMs: this.retryMs }, `${this.what} of the bgp service closed; reconnecting`);
      this.retry = setTimeout(() => this.start(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.stream?.cancel();
  }
}

const ESTABLISHED = SessionState.SESSION_STATE_ESTABLISHED;

export class VrfRouteWatch {
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<string>();
  /** Per relayed peer, why it last went down (bounded by the peers: an entry per CE session). */
  private readonly downReasons = new Map<string, string>();
  private stopped = false;
  private readonly routes: Reconnecting<WatchVrfRoutesResponse>;
  private readonly peers: Reconnecting<WatchEventResponse>;

  constructor(private readonly o: VrfRouteWatchOptions) {
    let inSnapshot = true;
    this.routes = new Reconnecting(
      'VRF route stream',
      () => {
        inSnapshot = true;
        return o.bgp.raw.watchVrfRoutes({ vrf: '' });
      },
      (m, connected) => {
        if (m.event?.$case === 'snapshotDone') {
          inSnapshot = false;
          connected();
          this.afterSnapshot();
        } else if (!inSnapshot && m.event?.$case === 'routes') this.routesChanged(m.event.value.changes);
      },
      o.log,
    );
    this.peers = new Reconnecting(
      'peer state stream',
      () => o.bgp.raw.watchEvent({ peerState: true, routes: false, initialSnapshot: false }),
      (m, connected) => {
        connected();
        if (m.event?.$case === 'peer') this.peerChanged(m.event.value.address, m.event.value.previous, m.event.value.state, m.event.value.reason);
      },
      o.log,
    );
  }

  start(): void {
    this.routes.start();
    this.peers.start();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.flushTimer);
    this.routes.stop();
    this.peers.stop();
  }

  private afterSnapshot(): void {
    this.o.log.info('watching VRF routes of the bgp service');
    void this.o
      .nodesWithVrfs()
      .then(async (nodes) => {
        await this.o.enqueue(nodes);
        this.o.refillQueued?.(nodes);
      })
      .catch((err: Error) => this.o.log.warn({ err: err.message }, 'nodes to reconcile after the bgp snapshot not read'));
  }

  private routesChanged(changes: readonly { vrf: string; best?: { origin: VrfPathOrigin } | undefined }[]): void {
    for (const c of changes) {
      // Our own originations echo back as local paths: their node just did that. Routes a
      // CE announced (PE-CE eBGP) and imported ones change what the node forwards.
      if (c.best?.origin === VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL) continue;
      const owner = parseBgpVrfName(c.vrf);
      if (owner) this.pending.add(owner.node);
    }
    this.schedule();
  }

  /**
   * A relayed peer ("<ce>%<vrf>", bgp.proto PeerConfig.relayed) entering or
   * leaving Established, or down for another reason than last time (a
   * configuration reset, then the CE's OPEN refused): the site's status
   * says the latest. A CE retrying with the same fault wakes nobody.
   */
  private peerChanged(address: string, previous: SessionState, state: SessionState, reason: string): void {
    const zone = address.indexOf('%');
    const owner = zone < 0 ? undefined : parseBgpVrfName(address.slice(zone + 1));
    if (!owner) return;
    const newReason = reason !== '' && this.downReasons.get(address) !== reason;
    if (state === ESTABLISHED) this.downReasons.delete(address);
    else if (reason) {
      if (this.downReasons.size >= MAX_DOWN_REASONS) this.downReasons.clear(); // deleted peers' entries go in one sweep; at worst one extra wake each
      this.downReasons.set(address, reason);
    }
    if ((previous === ESTABLISHED) === (state === ESTABLISHED) && !newReason) return;
    this.pending.add(owner.node);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.flushTimer || !this.pending.size) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const nodes = [...this.pending].sort();
      this.pending.clear();
      this.o.enqueue(nodes).catch((err: Error) => {
        this.o.log.warn({ err: err.message, nodes: nodes.length }, 'reconciles from VRF route changes not queued; retrying');
        for (const n of nodes) this.pending.add(n);
        setTimeout(() => this.schedule(), FIRST_RETRY_MS).unref();
      });
    }, COALESCE_MS);
  }
}
