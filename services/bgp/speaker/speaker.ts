// The BGP speaker: the TCP listener, the configured peers, the local paths
// and the event stream. Local paths go to every Established peer that
// negotiated their family (issue 5 adds best path and reflection).
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../common/logger.js';
import { PathTable } from '../rib/table.js';
import { routeKey, type Path } from '../rib/path.js';
import type { PathAttributes } from '../wire/attributes.js';
import type { NextHop } from '../wire/next-hop.js';
import type { Family, Route } from '../wire/nlri.js';
import { type PeerConfig, type SpeakerConfig, canonicalFamily, needsReset, normaliseAddress } from './config.js';
import { Peer, type PeerEvent } from './peer.js';
import { unmapped } from './transport.js';
import { CeaseSubcode, ErrorCode } from '../wire/constants.js';
import { encodeNotification } from '../wire/notification.js';

export class SpeakerError extends Error {
  constructor(
    readonly kind: 'not-found' | 'exists' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'SpeakerError';
  }
}

export interface LocalPathSpec {
  readonly family: Family;
  readonly route: Route;
  /** Undefined: our session address (next-hop-self). */
  readonly nextHop?: NextHop;
  readonly attributes: PathAttributes;
}

export type SpeakerEvent = PeerEvent;

export class Speaker {
  readonly localPaths = new PathTable();
  private readonly peers = new Map<string, Peer>();
  private readonly listeners = new Set<(e: SpeakerEvent) => void>();
  private routeWatchers = 0;
  private server: Server | undefined;
  private boundPort = 0;

  constructor(
    readonly config: SpeakerConfig,
    private readonly log: Logger,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  async listen(): Promise<void> {
    const server = createServer((socket) => this.incoming(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.config.listenAddress, port: this.config.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error({ err }, 'BGP listener error'));
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.config.port;
    this.server = server;
    this.log.info({ address: this.config.listenAddress, port: this.boundPort, as: this.config.as, routerId: this.config.routerId }, 'BGP listening');
  }

  /** Sends Cease to every peer (RFC 4486 subcode 2), then closes the listener. */
  async stop(): Promise<void> {
    for (const p of this.peers.values()) {
      p.disable('speaker shutting down');
      p.dispose();
    }
    this.peers.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  // ---- peers ----

  addPeer(config: PeerConfig): Peer {
    if (this.peers.has(config.address)) throw new SpeakerError('exists', `peer ${config.address} exists`);
    const peer = new Peer(config, {
      speaker: this.config,
      log: this.log,
      localPaths: (f) => this.localPaths.paths(f),
      emit: (e) => this.emit(e),
      watchingRoutes: () => this.routeWatchers > 0,
    });
    this.peers.set(config.address, peer);
    peer.start();
    return peer;
  }

  updatePeer(config: PeerConfig): Peer {
    const peer = this.peer(config.address);
    const reset = needsReset(peer.config, config);
    peer.reconfigure(config, reset);
    if (config.adminDown && !peer.adminShutdown) peer.disable();
    if (!config.adminDown && peer.adminShutdown && !reset) peer.enable();
    return peer;
  }

  async deletePeer(address: string): Promise<void> {
    const peer = this.peer(address);
    this.peers.delete(peer.address);
    await peer.remove();
  }

  peer(address: string): Peer {
    const key = normaliseAddress(address);
    const peer = key ? this.peers.get(key) : undefined;
    if (!peer) throw new SpeakerError('not-found', `no peer ${address}`);
    return peer;
  }

  listPeers(): Peer[] {
    return [...this.peers.values()];
  }

  private incoming(socket: Socket): void {
    const remote = normaliseAddress(unmapped(socket.remoteAddress ?? ''));
    const peer = remote ? this.peers.get(remote) : undefined;
    if (!peer) {
      // Not a configured neighbour: Cease / Connection Rejected (RFC 4486 §4, a SHOULD), then close.
      this.log.info({ remote: socket.remoteAddress }, 'connection from an address that is not a neighbour refused');
      socket.on('error', () => socket.destroy());
      socket.setTimeout(5000, () => socket.destroy());
      socket.end(encodeNotification({ code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_REJECTED, data: new Uint8Array(0) }));
      return;
    }
    peer.accept(socket);
  }

  // ---- local paths ----

  /** Adds or replaces a local path and advertises it. Throws RouteEncodeError on a route that cannot be sent. */
  addPath(spec: LocalPathSpec): Path {
    const family = canonicalFamily(spec.family);
    if (!family) throw new SpeakerError('invalid', `family ${spec.family.afi}/${spec.family.safi} is not supported`);
    const path: Path = {
      family,
      key: routeKey(family, spec.route),
      route: spec.route,
      nextHop: spec.nextHop,
      attributes: spec.attributes,
      source: 'local',
      since: Date.now(),
      stale: false,
    };
    this.localPaths.set(path);
    for (const p of this.peers.values()) p.announce(family, [path]);
    if (this.routeWatchers) this.emit({ type: 'routes', peer: 'local', announced: [path], withdrawn: [] });
    return path;
  }

  /** Withdraws a local path; undefined when there was none. */
  deletePath(familyIn: Family, route: Route): Path | undefined {
    const family = canonicalFamily(familyIn);
    if (!family) throw new SpeakerError('invalid', `family ${familyIn.afi}/${familyIn.safi} is not supported`);
    const old = this.localPaths.delete(family, routeKey(family, route));
    if (!old) return undefined;
    for (const p of this.peers.values()) p.withdraw(family, [old]);
    if (this.routeWatchers) this.emit({ type: 'routes', peer: 'local', announced: [], withdrawn: [old] });
    return old;
  }

  // ---- events ----

  /** Every peer state change and, when routes is true, every route received, withdrawn, added or deleted. */
  subscribe(listener: (e: SpeakerEvent) => void, routes: boolean): () => void {
    this.listeners.add(listener);
    if (routes) this.routeWatchers++;
    return () => {
      if (this.listeners.delete(listener) && routes) this.routeWatchers--;
    };
  }

  private emit(e: SpeakerEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ err }, 'event listener failed');
      }
    }
  }
}
