// gRPC edge of the bgp service: checks requests, calls the speaker, maps
// its views to the generated proto types.
import type { ServerWritableStream } from '@grpc/grpc-js';
import {
  BgpServiceService,
  MaxPrefixAction as ProtoMaxPrefixAction,
  SessionState as ProtoState,
  SoftResetDirection,
  TableType,
  type BgpServiceServer,
  type Capabilities as ProtoCapabilities,
  type ListPathRequest,
  type ListPathResponse,
  type MaxPrefix as ProtoMaxPrefix,
  type MessageCounters as ProtoCounters,
  type NotificationInfo,
  type Peer as ProtoPeer,
  type PeerConfig as ProtoPeerConfig,
  type WatchEventRequest,
  type WatchEventResponse,
} from '../common/gen/proto/l3vpn/v1/bgp.js';
import { ApiError, alreadyExists, invalidArgument, notFound } from '../common/grpc/errors.js';
import { unary, type GrpcService } from '../common/grpc/server.js';
import type { Logger } from '../common/logger.js';
import { checkAddress } from '../common/net/classify.js';
import { formatRd, parseRd } from '../common/vpn/rd.js';
import { familyFromProto, familyToProto, pathSpecFromProto, pathToProto, routeFromProto } from './api-path.js';
import { formatBgpId } from './fsm/negotiate.js';
import type { Capabilities, State } from './fsm/types.js';
import type { Path } from './rib/path.js';
import { PeerConfigError, needsReset, peerConfig, peerKey, splitPeerName, zonedName, type MaxPrefix, type MaxPrefixInput, type PeerConfig } from './speaker/config.js';
import { quoteId } from '../common/quote.js';
import { formatAdministeredValue } from '../common/vpn/administered-value.js';
import type { MessageCounters } from './speaker/counters.js';
import type { NotificationRecord, Peer } from './speaker/peer.js';
import { Speaker, SpeakerError } from './speaker/speaker.js';
import { formatAddress } from './wire/ip.js';
import { fail, vrfRpcs } from './grpc-vrf.js';
import { bgpAccessPolicy } from './access-policy.js';
import { relayPeerSession } from './relay-session.js';
import type { VrfService } from './vrf-service.js';
import { RouteEncodeError, parsePrefix, type Family } from './wire/nlri.js';

const BATCH = 1000;

const STATES: Record<State, ProtoState> = {
  Idle: ProtoState.SESSION_STATE_IDLE,
  Connect: ProtoState.SESSION_STATE_CONNECT,
  Active: ProtoState.SESSION_STATE_ACTIVE,
  OpenSent: ProtoState.SESSION_STATE_OPEN_SENT,
  OpenConfirm: ProtoState.SESSION_STATE_OPEN_CONFIRM,
  Established: ProtoState.SESSION_STATE_ESTABLISHED,
};

function translate(err: unknown): never {
  if (err instanceof ApiError) throw err;
  if (err instanceof PeerConfigError) throw invalidArgument(err.field, err.message.slice(err.field.length + 2));
  if (err instanceof SpeakerError) {
    if (err.kind === 'not-found') throw notFound(err.message);
    if (err.kind === 'exists') throw alreadyExists(err.message);
    throw invalidArgument('request', err.message);
  }
  if (err instanceof RouteEncodeError || err instanceof RangeError) throw invalidArgument('path', err.message);
  throw err;
}

/** Runs fn, translating what it throws, or (when it returns a promise) what that rejects with. */
function guard<T>(fn: () => T): T {
  try {
    const result = fn();
    return (result instanceof Promise ? result.catch(translate) : result) as T;
  } catch (err) {
    translate(err);
  }
}

function maxPrefixFromProto(m: ProtoMaxPrefix | undefined): MaxPrefixInput | undefined {
  if (!m) return undefined;
  let action: MaxPrefixInput['action'];
  switch (m.action) {
    case ProtoMaxPrefixAction.MAX_PREFIX_ACTION_UNSPECIFIED:
    case ProtoMaxPrefixAction.MAX_PREFIX_ACTION_LIMIT:
      action = 'limit';
      break;
    case ProtoMaxPrefixAction.MAX_PREFIX_ACTION_WARNING_ONLY:
      action = 'warning-only';
      break;
    default:
      throw invalidArgument('max_prefix.action', `${m.action} is not an action`);
  }
  return { limit: m.limit, warningPercent: m.warningPercent || undefined, action, restartInterval: m.restartInterval };
}

function maxPrefixToProto(m: MaxPrefix | undefined): ProtoMaxPrefix | undefined {
  if (!m) return undefined;
  const action = m.action === 'warning-only' ? ProtoMaxPrefixAction.MAX_PREFIX_ACTION_WARNING_ONLY : ProtoMaxPrefixAction.MAX_PREFIX_ACTION_LIMIT;
  return { limit: m.limit, warningPercent: m.warningPercent, action, restartInterval: m.restartInterval };
}

export function peerConfigFromProto(p: ProtoPeerConfig | undefined): PeerConfig {
  if (!p) throw invalidArgument('peer', 'is required');
  return guard(() =>
    peerConfig({
      address: p.address,
      remoteAs: p.remoteAs,
      localAddress: p.localAddress || undefined,
      port: p.port || undefined,
      families: p.families.map((f, i) => familyFromProto(f, `families[${i}]`)),
      holdTime: p.timers && (p.timers.holdTime || p.timers.keepaliveInterval || p.timers.connectRetry) ? p.timers.holdTime : undefined,
      keepaliveTime: p.timers?.keepaliveInterval || undefined,
      connectRetryTime: p.timers?.connectRetry || undefined,
      passive: p.passive,
      routeReflectorClient: p.routeReflectorClient,
      nextHopSelf: p.nextHopSelf,
      vrf: p.vrf,
      description: p.description,
      adminDown: p.adminDown,
      asOverride: p.asOverride,
      allowAsIn: p.allowasIn,
      maxPrefix: maxPrefixFromProto(p.maxPrefix),
      siteOfOrigin: p.siteOfOrigin || undefined,
      relayed: p.relayed,
      routeLabel: p.routeLabel || undefined,
      ...(p.localPref !== undefined ? { localPref: p.localPref } : {}),
    }),
  );
}

function configToProto(c: PeerConfig): ProtoPeerConfig {
  return {
    address: c.address,
    remoteAs: c.remoteAs,
    localAddress: c.localAddress ?? '',
    port: c.port,
    families: c.families.map(familyToProto),
    timers: { holdTime: c.holdTime, keepaliveInterval: c.keepaliveTime, connectRetry: c.connectRetryTime },
    passive: c.passive,
    routeReflectorClient: c.routeReflectorClient,
    nextHopSelf: c.nextHopSelf,
    vrf: c.vrf ?? '',
    description: c.description ?? '',
    adminDown: c.adminDown,
    asOverride: c.asOverride,
    allowasIn: c.allowAsIn,
    maxPrefix: maxPrefixToProto(c.maxPrefix),
    siteOfOrigin: c.siteOfOrigin ? formatAdministeredValue(c.siteOfOrigin) : '',
    relayed: c.relayed,
    routeLabel: c.routeLabel ?? 0,
    ...(c.localPref !== undefined ? { localPref: c.localPref } : {}),
  };
}

function countersToProto(c: MessageCounters): ProtoCounters {
  return { open: c.open, update: c.update, notification: c.notification, keepalive: c.keepalive, routeRefresh: c.routeRefresh, total: c.total };
}

function capabilitiesToProto(c: Capabilities | undefined): ProtoCapabilities | undefined {
  if (!c) return undefined;
  return {
    families: c.multiprotocol.map(familyToProto),
    fourOctetAs: c.fourOctetAs,
    routeRefresh: c.routeRefresh,
    extendedMessage: !!c.extendedMessage,
    gracefulRestart: !!c.gracefulRestart,
    restartTime: c.gracefulRestart?.restartTime ?? 0,
  };
}

function notificationToProto(n: NotificationRecord | undefined): NotificationInfo | undefined {
  if (!n) return undefined;
  return { code: n.code, subcode: n.subcode, data: Buffer.from(n.data), communication: n.communication ?? '', time: new Date(n.at) };
}

export function peerToProto(peer: Peer): ProtoPeer {
  const s = peer.session;
  const since = peer.establishedSince;
  const families: readonly Family[] = s?.families ?? peer.config.families;
  return {
    config: configToProto(peer.config),
    status: {
      sessionState: STATES[peer.state],
      adminDown: !!peer.adminShutdown,
      adminShutdownCommunication: peer.adminShutdown?.communication ?? '',
      establishedSince: since !== undefined ? new Date(since) : undefined,
      uptimeSeconds: since !== undefined ? Math.floor((Date.now() - since) / 1000) : 0,
      remoteRouterId: s ? formatBgpId(s.remoteBgpId) : '',
      localAddress: peer.localAddressInUse ?? '',
      negotiatedHoldTime: s?.holdTime ?? 0,
      keepaliveInterval: s?.keepaliveTime ?? 0,
      negotiatedFamilies: (s?.families ?? []).map(familyToProto),
      localCapabilities: capabilitiesToProto(peer.localCapabilities()),
      remoteCapabilities: capabilitiesToProto(peer.remoteOpen()?.capabilities),
      sent: countersToProto(peer.sent),
      received: countersToProto(peer.received),
      prefixes: families.map((f) => ({
        family: familyToProto(f),
        received: peer.receivedCount(f),
        stale: peer.adjRibIn.staleCount(f),
        advertised: peer.advertisedCount(f),
        accepted: peer.acceptedCount(f),
      })),
      lastNotificationSent: notificationToProto(peer.lastNotificationSent),
      lastNotificationReceived: notificationToProto(peer.lastNotificationReceived),
      lastError: peer.lastError ?? '',
      flaps: peer.flaps,
      maxPrefixWarning: peer.maxPrefix.warning,
      maxPrefixExceeded: peer.maxPrefix.exceeded || peer.maxPrefixHeld !== undefined,
      maxPrefixHoldReason: peer.maxPrefixHeld?.reason ?? '',
      maxPrefixHoldUntil: peer.maxPrefixHeld?.until !== undefined ? new Date(peer.maxPrefixHeld.until) : undefined,
      maxPrefixWarnings: peer.maxPrefix.counters.warnings,
      maxPrefixExceededCount: peer.maxPrefix.counters.exceeded,
      maxPrefixTeardowns: peer.maxPrefix.counters.teardowns,
    },
  };
}

/**
 * A peer's name in a request: its address, or "<address>%<vrf>" for a
 * relayed peer (RFC 4007 §11 zone notation, the zone a VRF name).
 * INVALID_ARGUMENT when the address part is not an address (a NUL byte...)
 * or the zone is empty or holds a control character.
 */
function address(text: string, field = 'address'): string {
  if (!text) throw invalidArgument(field, 'is required');
  const { address: a, zone } = splitPeerName(text);
  const checked = checkAddress(a);
  if (!checked.ok) throw invalidArgument(field, checked.problem);
  if (zone === undefined) return checked.text;
  if (!zone.trim()) throw invalidArgument(field, `'${quoteId(text)}' has an empty zone (a relayed peer is "<address>%<vrf>")`);
  if (/[\u0000-\u001f\u007f]/.test(zone)) throw invalidArgument(field, `'${quoteId(text)}' contains a control character`);
  return zonedName(checked.text, zone);
}

/** Writes a batch and resolves once the stream can take more (backpressure). */
function write<T>(call: ServerWritableStream<unknown, T>, message: T): Promise<void> {
  return call.write(message) ? Promise.resolve() : new Promise((resolve) => call.once('drain', resolve));
}

function selectedPaths(speaker: Speaker, req: ListPathRequest): Iterable<Path> {
  const family = familyFromProto(req.family);
  let rdKey: string | undefined;
  if (req.rd) {
    try {
      rdKey = formatRd(parseRd(req.rd));
    } catch (err) {
      throw invalidArgument('rd', (err as Error).message);
    }
  }
  let prefix: string | undefined;
  if (req.prefix) {
    try {
      const p = parsePrefix(req.prefix);
      prefix = `${formatAddress(p.prefix)}/${p.length}`;
    } catch (err) {
      throw invalidArgument('prefix', (err as Error).message);
    }
  }
  const match = (p: Path) =>
    (rdKey === undefined || (p.route.rd !== undefined && formatRd(p.route.rd) === rdKey)) &&
    (prefix === undefined || `${formatAddress(p.route.prefix)}/${p.route.length}` === prefix);
  switch (req.table) {
    case TableType.TABLE_TYPE_LOCAL:
      return [...speaker.localPaths.paths(family)].filter(match);
    case TableType.TABLE_TYPE_ADJ_IN: {
      const peers = req.peer ? [guard(() => speaker.peer(address(req.peer, 'peer')))] : speaker.listPeers();
      return peers.flatMap((p) => [...p.adjRibIn.table.paths(family)].filter(match));
    }
    default:
      throw invalidArgument('table', 'must be LOCAL or ADJ_IN');
  }
}

async function listPath(speaker: Speaker, call: ServerWritableStream<ListPathRequest, ListPathResponse>): Promise<void> {
  const paths = selectedPaths(speaker, call.request);
  let batch: ListPathResponse['paths'] = [];
  for (const p of paths) {
    batch.push(pathToProto(p));
    if (batch.length === BATCH) {
      await write(call, { paths: batch });
      batch = [];
    }
  }
  if (batch.length) await write(call, { paths: batch });
}

function watch(speaker: Speaker, call: ServerWritableStream<WatchEventRequest, WatchEventResponse>, log: Logger): void {
  const req = call.request;
  const peerState = req.peerState || !req.routes;
  const unsubscribe = speaker.subscribe((e) => {
    if (e.type === 'state' && peerState) {
      call.write({
        event: { $case: 'peer', value: { address: e.peer, previous: STATES[e.from], state: STATES[e.to], time: new Date(e.at), reason: e.reason ?? '' } },
      });
    } else if (e.type === 'routes' && req.routes) {
      for (let i = 0; i < Math.max(e.announced.length, e.withdrawn.length); i += BATCH) {
        call.write({
          event: {
            $case: 'route',
            value: { source: e.peer, announced: e.announced.slice(i, i + BATCH).map(pathToProto), withdrawn: e.withdrawn.slice(i, i + BATCH).map(pathToProto) },
          },
        });
      }
    }
  }, req.routes);
  const done = () => unsubscribe();
  call.on('cancelled', done);
  call.on('close', done);
  call.on('error', done);
  if (!req.initialSnapshot) return;
  for (const p of speaker.listPeers()) {
    if (peerState) {
      call.write({ event: { $case: 'peer', value: { address: p.address, previous: STATES[p.state], state: STATES[p.state], time: new Date(), reason: '' } } });
    }
  }
  if (req.routes) {
    const sources: [string, Path[]][] = [['local', [...speaker.localPaths.all()]], ...speaker.listPeers().map((p): [string, Path[]] => [p.address, [...p.adjRibIn.table.all()]])];
    for (const [source, paths] of sources) {
      for (let i = 0; i < paths.length; i += BATCH) {
        call.write({ event: { $case: 'route', value: { source, announced: paths.slice(i, i + BATCH).map(pathToProto), withdrawn: [] } } });
      }
    }
  }
  call.write({ event: { $case: 'snapshotDone', value: true } });
  log.debug('watch snapshot sent');
}

export function bgpGrpcService(speaker: Speaker, log: Logger, vrfs: VrfService): GrpcService {
  const implementation: BgpServiceServer = {
    getGlobal: unary(log, 'GetGlobal', async () => ({
      as: speaker.config.as,
      routerId: speaker.config.routerId,
      listenAddress: speaker.config.listenAddress,
      listenPort: speaker.port,
      gracefulRestartTime: speaker.config.gracefulRestartTime,
      clusterId: speaker.clusterId,
      restarting: speaker.restarting,
    })),
    completeRestart: unary(log, 'CompleteRestart', async () => ({ wasRestarting: speaker.completeRestart('the controller has defined every VRF and route again') })),
    addPeer: unary(log, 'AddPeer', async (req) => {
      const config = peerConfigFromProto(req.peer);
      return { peer: peerToProto(guard(() => speaker.addPeer(config))) };
    }),
    updatePeer: unary(log, 'UpdatePeer', async (req) => {
      const config = peerConfigFromProto(req.peer);
      const before = guard(() => speaker.peer(peerKey(config))).config;
      const peer = guard(() => speaker.updatePeer(config));
      return { peer: peerToProto(peer), reset: needsReset(before, config) };
    }),
    deletePeer: unary(log, 'DeletePeer', async (req) => {
      await guard(() => speaker.deletePeer(address(req.address)));
      return {};
    }),
    disablePeer: unary(log, 'DisablePeer', async (req) => {
      guard(() => speaker.peer(address(req.address))).disable(req.communication || undefined);
      return {};
    }),
    enablePeer: unary(log, 'EnablePeer', async (req) => {
      guard(() => speaker.peer(address(req.address))).enable();
      return {};
    }),
    resetPeer: unary(log, 'ResetPeer', async (req) => {
      guard(() => speaker.peer(address(req.address))).reset(req.communication || undefined);
      return {};
    }),
    softResetPeer: unary(log, 'SoftResetPeer', async (req) => {
      const peer = guard(() => speaker.peer(address(req.address)));
      const families = req.family ? [familyFromProto(req.family)] : [];
      const d = req.direction;
      if (d === SoftResetDirection.SOFT_RESET_DIRECTION_IN || d === SoftResetDirection.SOFT_RESET_DIRECTION_BOTH || d === SoftResetDirection.SOFT_RESET_DIRECTION_UNSPECIFIED) {
        peer.requestRefresh(families);
      }
      if (d === SoftResetDirection.SOFT_RESET_DIRECTION_OUT || d === SoftResetDirection.SOFT_RESET_DIRECTION_BOTH || d === SoftResetDirection.SOFT_RESET_DIRECTION_UNSPECIFIED) {
        peer.resend(families);
      }
      return {};
    }),
    listPeers: unary(log, 'ListPeers', async (req) => ({
      peers: (req.address ? [guard(() => speaker.peer(address(req.address)))] : speaker.listPeers()).map(peerToProto),
    })),
    addPath: unary(log, 'AddPath', async (req) => {
      const spec = pathSpecFromProto(req.path);
      return { path: pathToProto(guard(() => speaker.addPath(spec))) };
    }),
    deletePath: unary(log, 'DeletePath', async (req) => {
      const { family, route } = routeFromProto(req.family, req.rd, req.prefix, [], true);
      return { deleted: guard(() => speaker.deletePath(family, route)) !== undefined };
    }),
    listPath: (call) => {
      listPath(speaker, call).then(
        () => call.end(),
        (err: unknown) => fail(call as ServerWritableStream<unknown, unknown>, log, 'ListPath', err),
      );
    },
    watchEvent: (call) => watch(speaker, call, log),
    relayPeerSession: relayPeerSession(speaker, log),
    ...vrfRpcs(vrfs, log),
  };
  return { name: 'l3vpn.v1.BgpService', definition: BgpServiceService, implementation, access: bgpAccessPolicy };
}
