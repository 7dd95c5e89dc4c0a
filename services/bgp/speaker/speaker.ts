// The BGP speaker: the TCP listener, the configured peers, the local paths,
// the Loc-RIB (best path per destination over every Adj-RIB-In and the local
// paths) and the event stream. Each best change marks the destination in
// every Established peer's Adj-RIB-Out; route reflection (RFC 4456) decides
// there who gets what.
//
// RT constraint (RFC 4684): we advertise, to a peer that negotiated it, one
// membership per route target our VRFs import (origin AS: ours). As a route
// reflector (some peer is a client) we advertise the default membership to
// every iBGP peer instead, so each sends us all its VPN routes and the
// per-peer filters decide who gets them: received memberships are not
// reflected (the "advertise-default" design, cheaper than a route
// distribution graph and right for a reflector that must see every route).
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../common/logger.js';
import { PathTable } from '../rib/table.js';
import { LocRib } from '../rib/loc-rib.js';
import type { RibChange } from '../rib/adj-rib-in.js';
import { routeKey, type Path } from '../rib/path.js';
import { PeerRegistry, type DecisionOptions, type NextHopResolver } from '../decision/decision.js';
import { REACHABLE } from '../decision/resolver.js';
import { formatBgpId } from '../fsm/negotiate.js';
import type { NegotiatedSession } from '../fsm/types.js';
import type { OutboundSource } from './adj-rib-out.js';
import type { SourceSession } from './reflection.js';
import type { PathAttributes } from '../wire/attributes.js';
import type { NextHop } from '../wire/next-hop.js';
import type { Family, Route } from '../wire/nlri.js';
import { PeerConfigError, type PeerConfig, type SpeakerConfig, canonicalFamily, isRtc, needsReset, normaliseAddress, normalisePeerName, peerKey, zonedName } from './config.js';
import type { RouteTarget } from '../../common/vpn/route-target.js';
import { DEFAULT_RT_MEMBERSHIP, rtMemberships, type RtMembership } from '../vrf/rt-membership.js';
import { Peer, type PeerEvent } from './peer.js';
import { unmapped, type Conduit } from './transport.js';
import { CeaseSubcode, ErrorCode } from '../wire/constants.js';
import { encodeNotification } from '../wire/notification.js';

export class SpeakerError extends Error {
  constructor(
    readonly kind: 'not-found' | 'exists' | 'invalid' | 'precondition' | 'unavailable',
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

/** A Loc-RIB best change: `best` undefined when the destination has none left. */
export type BestChangeListener = (family: Family, best: Path | undefined, previous: Path | undefined) => void;

export interface SpeakerOptions {
  /** IGP cost / reachability of next hops; default: every next hop reachable at cost 0 (a route reflector). */
  readonly resolver?: NextHopResolver;
}

export class Speaker {
  readonly localPaths = new PathTable();
  /** Peer facts (eBGP or not, BGP Identifier) for the decision process, by address. */
  readonly peerRegistry = new PeerRegistry();
  /** The rules the Loc-RIB selects with; a VRF table built with them selects the same way. */
  readonly decision: DecisionOptions;
  readonly locRib: LocRib;
  /** RFC 4456 §7 CLUSTER_ID. */
  readonly clusterId: string;
  private readonly bestListeners = new Set<BestChangeListener>();
  private readonly sessions = new Map<string, SourceSession>();
  private readonly outbound: OutboundSource;
  private readonly peers = new Map<string, Peer>();
  private readonly listeners = new Set<(e: SpeakerEvent) => void>();
  private routeWatchers = 0;
  private server: Server | undefined;
  private boundPort = 0;
  /** Relayed connections (RelayPeerSession): open now, accepted and refused since start. */
  readonly relayStats = { open: 0, accepted: 0, refused: 0 };
  /** RFC 4684 memberships for our VRFs' import route targets. */
  private ownMemberships: readonly RtMembership[] = [];
  /** RFC 4724 §4.1: End-of-RIB held back until the controller refilled us (completeRestart) or the deferral timer ends. */
  private restartingState: boolean;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly config: SpeakerConfig,
    private readonly log: Logger,
    options: SpeakerOptions = {},
  ) {
    this.clusterId = config.clusterId ?? config.routerId;
    const deferral = config.gracefulRestartTime > 0 ? (config.restartDeferralTime ?? 0) : 0;
    this.restartingState = deferral > 0;
    if (deferral > 0) {
      this.restartTimer = setTimeout(() => this.completeRestart(`no word from the controller within ${deferral} s (bgp.restart-deferral-seconds)`), deferral * 1000);
      this.restartTimer.unref();
    }
    this.decision = { peers: this.peerRegistry.get, resolver: options.resolver ?? REACHABLE };
    this.locRib = new LocRib(this.decision, (family, key, best, previous) => this.bestChanged(family, key, best, previous));
    this.outbound = {
      best: (f, k) => this.locRib.best(f, k),
      bests: (f) => this.locRib.bests(f),
      session: (source) => this.sessions.get(source),
      clusterId: this.clusterId,
    };
  }

  // ---- restart (RFC 4724 §4.1) ----

  /** Whether End-of-RIB is held back and our OPENs set the Restart State bit. */
  get restarting(): boolean {
    return this.restartingState;
  }

  /** Ends the restart: every peer's held End-of-RIB goes out. False when it had ended already. */
  completeRestart(reason: string): boolean {
    if (!this.restartingState) return false;
    this.restartingState = false;
    clearTimeout(this.restartTimer);
    this.log.info({ reason, peers: this.peers.size }, 'restart complete: End-of-RIB to every peer');
    for (const p of this.peers.values()) p.restartComplete();
    return true;
  }

  // ---- Loc-RIB ----

  /** Every Loc-RIB best change of every family; returns the unsubscribe function. Called synchronously, in order. */
  onBestChange(listener: BestChangeListener): () => void {
    this.bestListeners.add(listener);
    return () => {
      this.bestListeners.delete(listener);
    };
  }

  /** The current Loc-RIB bests of a family. */
  bests(family: Family): Iterable<Path> {
    const f = canonicalFamily(family);
    return f ? this.locRib.bests(f) : [];
  }

  /** Re-runs best path where a next hop's cost or reachability changed (after the resolver changed). */
  nextHopsChanged(addresses: ReadonlySet<string>): void {
    this.locRib.nextHopsChanged(addresses);
  }

  private bestChanged(familyIn: Family, key: string, best: Path | undefined, previous: Path | undefined): void {
    const family = canonicalFamily(familyIn) ?? familyIn;
    for (const p of this.peers.values()) {
      if (p.config.vrf) continue;
      // Nothing is ever sent back to a path's own peer: skip it when neither path concerns anyone else there.
      const ownOnly = (best === undefined || best.source === p.address) && (previous === undefined || previous.source === p.address);
      if (!ownOnly) p.mark(family, key);
    }
    for (const l of this.bestListeners) {
      try {
        l(family, best, previous);
      } catch (err) {
        this.log.error({ err }, 'best-path listener failed');
      }
    }
  }

  private received(change: RibChange): void {
    for (const p of change.withdrawn) this.locRib.remove(p);
    for (const p of change.announced) this.locRib.upsert(p);
  }

  private sessionChanged(peer: Peer, session: NegotiatedSession | undefined): void {
    if (!session) return; // its routes leave through received(); the facts stay for stale paths
    const routerId = formatBgpId(session.remoteBgpId);
    this.peerRegistry.set(peer.address, { external: peer.external, routerId: session.remoteBgpId });
    this.sessions.set(peer.address, { address: peer.address, external: peer.external, client: peer.config.routeReflectorClient, routerId });
  }

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

  /**
   * Ends every session, then closes the listener. A stop is a restart to the
   * peers that keep our routes over one (graceful restart negotiated with our
   * families listed): their sessions end without a NOTIFICATION, which would
   * end their graceful restart (RFC 4724 §4, RFC 8538 §1), so they keep our
   * routes until our End-of-RIB after the restart. The others get Cease /
   * Administrative Shutdown (RFC 4486).
   */
  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    for (const p of this.peers.values()) {
      if (!p.keepsRoutesOverRestart) p.disable('speaker shutting down');
      p.dispose();
    }
    this.peers.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  // ---- RT constraint (RFC 4684) ----

  /** The route targets our VRFs import changed: every RT-constraint peer is told the difference. */
  importRouteTargetsChanged(rts: readonly RouteTarget[]): void {
    this.ownMemberships = rtMemberships(this.config.as, rts);
    this.advertiseMemberships();
  }

  /** What we advertise to a peer (see the header). */
  membershipsFor(peer: Peer): readonly RtMembership[] {
    if (!peer.external && this.reflecting()) return [DEFAULT_RT_MEMBERSHIP];
    return this.ownMemberships;
  }

  private reflecting(): boolean {
    for (const p of this.peers.values()) if (p.config.routeReflectorClient) return true;
    return false;
  }

  private advertiseMemberships(): void {
    for (const p of this.peers.values()) p.advertiseMemberships();
  }

  // ---- peers ----

  /** as-override and allowas-in rewrite or tolerate our AS in eBGP AS_PATHs: meaningless on iBGP. */
  private checkPolicies(config: PeerConfig): void {
    if (config.remoteAs !== this.config.as) return;
    if (config.asOverride) throw new PeerConfigError('as_override', `applies to an eBGP CE; remote_as ${config.remoteAs} is our own AS`);
    if (config.allowAsIn) throw new PeerConfigError('allowas_in', `applies to an eBGP CE; remote_as ${config.remoteAs} is our own AS`);
  }

  addPeer(config: PeerConfig): Peer {
    const key = peerKey(config);
    if (this.peers.has(key)) throw new SpeakerError('exists', `peer ${key} exists`);
    this.checkPolicies(config);
    const peer = new Peer(config, {
      speaker: this.config,
      clusterId: this.clusterId,
      log: this.log,
      outbound: this.outbound,
      // A PE-CE peer's routes belong to its VRF (the VRF layer takes them from the route events).
      routes: (p, change) => {
        if (!p.config.vrf) this.received(change);
      },
      sessionChanged: (p, session) => this.sessionChanged(p, session),
      emit: (e) => this.emit(e),
      watchingRoutes: () => this.routeWatchers > 0,
      memberships: (p) => this.membershipsFor(p),
      restarting: () => this.restartingState,
    });
    this.peers.set(key, peer);
    peer.start();
    // A first route-reflector client turns every iBGP peer's memberships to the default.
    if (config.routeReflectorClient) this.advertiseMemberships();
    return peer;
  }

  updatePeer(config: PeerConfig): Peer {
    const peer = this.peer(peerKey(config));
    this.checkPolicies(config);
    const reset = needsReset(peer.config, config);
    const wasClient = peer.config.routeReflectorClient;
    peer.reconfigure(config, reset);
    if (config.adminDown && !peer.adminShutdown) peer.disable();
    if (!config.adminDown && peer.adminShutdown && !reset) peer.enable();
    if (wasClient !== config.routeReflectorClient) this.advertiseMemberships();
    return peer;
  }

  async deletePeer(address: string): Promise<void> {
    const peer = this.peer(address);
    this.peers.delete(peer.address);
    await peer.remove();
    // Stale paths of a restarting peer outlive the session: they go now.
    const left = peer.adjRibIn.clear();
    if (!peer.config.vrf) this.received({ announced: [], withdrawn: left, endOfRib: [], ignored: 0 });
    // A PE-CE peer's stale paths leave its VRF through the route events, like any of its withdrawals.
    else if (left.length) this.emit({ type: 'routes', peer: peer.address, announced: [], withdrawn: left });
    this.sessions.delete(peer.address);
    this.peerRegistry.delete(peer.address);
    if (peer.config.routeReflectorClient) this.advertiseMemberships();
  }

  /** A peer by name: its address, or "<address>%<vrf>" for a relayed one. */
  peer(name: string): Peer {
    const key = normalisePeerName(name);
    const peer = key ? this.peers.get(key) : undefined;
    if (!peer) throw new SpeakerError('not-found', `no peer ${name}`);
    return peer;
  }

  /**
   * A relayed PE-CE session's connection arrived (BgpService.RelayPeerSession).
   * Throws not-found for no such peer, precondition for a VRF peer that is
   * not relayed, unavailable when the peer refuses connections (Idle:
   * administratively down, held down by max-prefix) as it would a TCP one.
   */
  relay(vrf: string, address: string, conduit: Conduit): Peer {
    let peer: Peer;
    try {
      peer = this.relayedPeer(vrf, address, conduit);
    } catch (err) {
      this.relayStats.refused++;
      throw err;
    }
    this.relayStats.accepted++;
    this.relayStats.open++;
    conduit.once('close', () => this.relayStats.open--);
    return peer;
  }

  private relayedPeer(vrf: string, address: string, conduit: Conduit): Peer {
    const a = normaliseAddress(address);
    if (!a) throw new SpeakerError('invalid', `${address} is not an address`);
    const peer = this.peers.get(zonedName(a, vrf));
    if (!peer) {
      const direct = this.peers.get(a);
      if (direct && direct.config.vrf === vrf) throw new SpeakerError('precondition', `peer ${a} of VRF ${vrf} is not relayed: it connects over TCP`);
      throw new SpeakerError('not-found', `no relayed peer ${a} in VRF ${vrf}`);
    }
    if (!peer.accept(conduit)) {
      const why = peer.adminShutdown ? 'is administratively down' : peer.maxPrefixHeld ? `is held down (${peer.maxPrefixHeld.reason})` : 'refuses connections (Idle)';
      throw new SpeakerError('unavailable', `peer ${peer.address} ${why}`);
    }
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
    socket.setNoDelay(true);
    if (!peer.accept(socket)) socket.destroy();
  }

  // ---- local paths ----

  /** Adds or replaces a local path and advertises it. Throws RouteEncodeError on a route that cannot be sent. */
  addPath(spec: LocalPathSpec): Path {
    const family = canonicalFamily(spec.family);
    if (!family || isRtc(family)) throw new SpeakerError('invalid', `family ${spec.family.afi}/${spec.family.safi} is not supported`);
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
    this.locRib.upsert(path);
    if (this.routeWatchers) this.emit({ type: 'routes', peer: 'local', announced: [path], withdrawn: [] });
    return path;
  }

  /** Withdraws a local path; undefined when there was none. */
  deletePath(familyIn: Family, route: Route): Path | undefined {
    const family = canonicalFamily(familyIn);
    if (!family) throw new SpeakerError('invalid', `family ${familyIn.afi}/${familyIn.safi} is not supported`);
    const old = this.localPaths.delete(family, routeKey(family, route));
    if (!old) return undefined;
    this.locRib.remove(old);
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
