// Wakes reconciles from the bgp service's VRF route changes: one
// WatchVrfRoutes stream per vpn replica. A change of what a node's VRF
// imported (a route from another managed PE or from an external PE) or
// learnt from one of its CEs queues that node, so the route reaches its desired state without any API write.
// After every (re)connection, once the snapshot is in, every node with VRFs
// is queued: the speaker may have restarted empty and needs its VRFs and
// routes defined again (reconciles are level-triggered, so a node that
// needed nothing changes nothing). Reconnects back off 0.5 s .. 15 s.
import type { ClientReadableStream } from '@grpc/grpc-js';
import { VrfPathOrigin, type WatchVrfRoutesResponse } from '../../common/gen/proto/l3vpn/v1/bgp.js';
import type { Logger } from '../../common/logger.js';
import { parseBgpVrfName, type BgpApi } from './bgp-client.js';

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 15_000;
/** Changes of one burst (an UPDATE's worth, a peer coming up) become one enqueue per node. */
const COALESCE_MS = 50;

export interface VrfRouteWatchOptions {
  bgp: BgpApi;
  /** Queues a reconcile of each node. */
  enqueue(nodes: string[]): Promise<unknown>;
  /** Nodes that have VRFs in the intent. */
  nodesWithVrfs(): Promise<string[]>;
  log: Logger;
}

export class VrfRouteWatch {
  private stream: ClientReadableStream<WatchVrfRoutesResponse> | undefined;
  private retryMs = FIRST_RETRY_MS;
  private retry: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<string>();
  private stopped = false;

  constructor(private readonly o: VrfRouteWatchOptions) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.flushTimer);
    this.stream?.cancel();
  }

  private connect(): void {
    if (this.stopped) return;
    let inSnapshot = true;
    const stream = this.o.bgp.raw.watchVrfRoutes({ vrf: '' });
    this.stream = stream;
    stream.on('data', (m: WatchVrfRoutesResponse) => {
      const e = m.event;
      if (e?.$case === 'snapshotDone') {
        inSnapshot = false;
        this.retryMs = FIRST_RETRY_MS;
        this.o.log.info('watching VRF routes of the bgp service');
        void this.o
          .nodesWithVrfs()
          .then((nodes) => nodes.forEach((n) => this.pending.add(n)))
          .then(() => this.schedule())
          .catch((err: Error) => this.o.log.warn({ err: err.message }, 'nodes to reconcile after the bgp snapshot not read'));
        return;
      }
      if (inSnapshot || e?.$case !== 'routes') return;
      for (const c of e.value.changes) {
        // Our own originations echo back as local paths: their node just did that. A best learnt from a CE
        // (PE-CE eBGP) is not ours: its node forwards to that CE now (or stops to), so it is queued.
        if (c.best && c.best.origin === VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL) continue;
        const owner = parseBgpVrfName(c.vrf);
        if (owner) this.pending.add(owner.node);
      }
      this.schedule();
    });
    stream.on('error', () => undefined);
    stream.on('status', () => {
      if (this.stream !== stream || this.stopped) return;
      this.stream = undefined;
      this.o.log.warn({ retryMs: this.retryMs }, 'VRF route stream of the bgp service closed; reconnecting');
      this.retry = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    });
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
        setTimeout(() => this.schedule(), this.retryMs).unref();
      });
    }, COALESCE_MS);
  }
}
