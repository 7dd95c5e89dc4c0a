// PE-CE eBGP sessions as relayed peers of the bgp service (BGP-as-a-service,
// RFC 4364 §7): the CE peers with the PE's address on its access; the PE's
// agent relays the TCP stream to the controller, which passes it to the
// relayed peer "<ce>%<vpn>@<node>" (state/ce-session-relay.ts).
//
// Level-triggered like the VRFs (bgp-routing.ts): reconcile() makes the
// node's relayed peers on the speaker exactly the wanted ones, AddPeer for
// missing ones, UpdatePeer for changed ones, DeletePeer for the others. Only
// peers carrying this controller's marker (description "<owner>: ...", the
// owner of its VRFs) are ever touched, so peers of the bgp config file or of
// another controller stay. After the bgp service restarts empty, the node's
// next reconcile (queued by vrf-route-watch.ts) defines its VRFs, then these.
import { notificationName } from '../../common/vpn/notification-names.js';
import { status } from '@grpc/grpc-js';
import { Family, MaxPrefixAction, type MaxPrefix, type Peer, type PeerConfig, SessionState } from '../../common/gen/proto/l3vpn/v1/bgp.js';
import type { Logger } from '../../common/logger.js';
import type { CePeer } from '../reconcile/ce-peer-intent.js';
import { bgpVrfName, isGrpcStatus, parseBgpVrfName, type BgpApi } from './bgp-client.js';

/** What names a relayed peer in DeletePeer, ListPeers...: "<address>%<vrf>" (bgp.proto PeerConfig.relayed). */
export function relayedPeerName(ceAddress: string, vrf: string): string {
  return `${ceAddress}%${vrf}`;
}

/** Our marker: the owner, then what the peer is for (so an operator listing the speaker's peers sees it). */
function description(owner: string, p: CePeer): string {
  return `${owner}: site ${p.site} access ${p.access} of VPN ${p.vpn}`;
}

const ours = (owner: string, c: PeerConfig | undefined): c is PeerConfig => !!c && c.description.startsWith(`${owner}: `) && !!parseBgpVrfName(c.vrf);

/** The speaker's peer for a wanted session. */
export function peerConfigOf(p: CePeer, owner: string): PeerConfig {
  const m = p.maxPrefix;
  return {
    address: p.ceAddress,
    remoteAs: p.peerAs,
    // The session's local address: the next hop of the routes sent to the CE.
    localAddress: p.peAddress,
    port: 0,
    families: [p.family === 4 ? Family.FAMILY_IPV4_UNICAST : Family.FAMILY_IPV6_UNICAST],
    timers: undefined,
    // Implied by relayed; said too, so a speaker that does not know relayed never dials a CE.
    passive: true,
    routeReflectorClient: false,
    vrf: bgpVrfName(p.vpn, p.node),
    description: description(owner, p),
    adminDown: false,
    nextHopSelf: false,
    asOverride: p.asOverride,
    allowasIn: p.allowasIn,
    maxPrefix: m
      ? {
          limit: m.limit,
          warningPercent: m.warningPercent ?? 0,
          action: m.action === 'warning-only' ? MaxPrefixAction.MAX_PREFIX_ACTION_WARNING_ONLY : MaxPrefixAction.MAX_PREFIX_ACTION_LIMIT,
          restartInterval: m.restartInterval ?? 0,
        }
      : undefined,
    siteOfOrigin: p.siteOfOrigin ?? '',
    relayed: true,
    routeLabel: p.routeLabel,
    ...(p.localPref !== undefined ? { localPref: p.localPref } : {}),
  };
}

/** The key of a peer as configured or as listed (a listed one may show its address zoned already). */
function keyOf(c: PeerConfig): string {
  return c.address.includes('%') ? c.address : relayedPeerName(c.address, c.vrf);
}

/** How to name a listed peer in DeletePeer: zoned when it is relayed (a speaker without relayed peers knows it by its address alone). */
function nameOf(c: PeerConfig): string {
  return c.relayed || c.address.includes('%') ? keyOf(c) : c.address;
}

function maxPrefixKey(m: MaxPrefix | undefined): string {
  if (!m) return '';
  const action = m.action === MaxPrefixAction.MAX_PREFIX_ACTION_WARNING_ONLY ? 'warning-only' : 'limit';
  return `${m.limit}/${m.warningPercent || 75}/${action}/${m.restartInterval}`;
}

/** Whether the speaker's peer already is the wanted one (what the speaker fills in by default compared as such). */
export function samePeer(have: PeerConfig, want: PeerConfig): boolean {
  return (
    have.remoteAs === want.remoteAs &&
    have.localAddress === want.localAddress &&
    have.vrf === want.vrf &&
    have.description === want.description &&
    have.relayed === want.relayed &&
    have.routeLabel === want.routeLabel &&
    have.localPref === want.localPref &&
    have.asOverride === want.asOverride &&
    have.allowasIn === want.allowasIn &&
    have.siteOfOrigin === want.siteOfOrigin &&
    have.adminDown === want.adminDown &&
    maxPrefixKey(have.maxPrefix) === maxPrefixKey(want.maxPrefix) &&
    have.families.length === want.families.length &&
    have.families.every((f, i) => f === want.families[i])
  );
}

/** A relayed session as the speaker reports it (status). */
export interface CeSessionStatus {
  vpn: string;
  node: string;
  /** From our marker (description). */
  site: string;
  access: string;
  ceAddress: string;
  state: 'unknown' | 'idle' | 'connect' | 'active' | 'open-sent' | 'open-confirm' | 'established';
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesAdvertised: number;
  /** Routes kept from a session that went down, while graceful restart (RFC 4724 §4.2) waits for it. */
  prefixesStale: number;
  /** PeerStatus.max_prefix_exceeded / max_prefix_warning. */
  maxPrefix?: 'warning' | 'exceeded';
  /** Whether the session has been established since the speaker configured the peer (else the CE was never heard from). */
  everEstablished: boolean;
  lastError?: string;
}

const STATE_NAMES: Record<number, CeSessionStatus['state']> = {
  [SessionState.SESSION_STATE_IDLE]: 'idle',
  [SessionState.SESSION_STATE_CONNECT]: 'connect',
  [SessionState.SESSION_STATE_ACTIVE]: 'active',
  [SessionState.SESSION_STATE_OPEN_SENT]: 'open-sent',
  [SessionState.SESSION_STATE_OPEN_CONFIRM]: 'open-confirm',
  [SessionState.SESSION_STATE_ESTABLISHED]: 'established',
};

/** A NOTIFICATION as text: "code 6 subcode 1" (RFC 4271 §4.5), with its shutdown communication (RFC 8203). */
function notificationText(n: { code: number; subcode: number; communication: string; time?: Date | undefined } | undefined, dir: string): string | undefined {
  if (!n || !n.code) return undefined;
  return `NOTIFICATION ${dir}: ${notificationName(n.code, n.subcode)}${n.communication ? `: ${n.communication}` : ''}`;
}

const MARKER = /: site (\S+) access (\S+) of VPN \S+$/;

export function sessionStatusOf(peer: Peer): CeSessionStatus | undefined {
  const c = peer.config;
  const vrf = c ? parseBgpVrfName(c.vrf) : undefined;
  const marked = c ? MARKER.exec(c.description) : null;
  if (!c || !vrf || !marked) return undefined;
  const s = peer.status;
  const sum = (k: 'received' | 'accepted' | 'advertised' | 'stale') => (s?.prefixes ?? []).reduce((n, p) => n + Number(p[k]), 0);
  // The newer of the two NOTIFICATIONs says why the session is (or was last) down.
  const [rx, tx] = [s?.lastNotificationReceived, s?.lastNotificationSent];
  const sentLast = (tx?.time?.getTime() ?? 0) > (rx?.time?.getTime() ?? 0);
  const lastError = s?.lastError || (sentLast ? notificationText(tx, 'sent') : notificationText(rx, 'received') || notificationText(tx, 'sent'));
  return {
    vpn: vrf.vpn,
    node: vrf.node,
    site: marked[1]!,
    access: marked[2]!,
    ceAddress: c.address.split('%')[0]!,
    state: STATE_NAMES[s?.sessionState ?? 0] ?? 'unknown',
    prefixesReceived: sum('received'),
    prefixesAccepted: sum('accepted'),
    prefixesAdvertised: sum('advertised'),
    prefixesStale: sum('stale'),
    everEstablished: s?.sessionState === SessionState.SESSION_STATE_ESTABLISHED || (s?.flaps ?? 0) > 0,
    ...(s?.maxPrefixExceeded ? { maxPrefix: 'exceeded' as const } : s?.maxPrefixWarning ? { maxPrefix: 'warning' as const } : {}),
    ...(lastError ? { lastError } : {}),
  };
}

export class BgpCePeers {
  constructor(
    private readonly bgp: BgpApi,
    /** The owner marker of this controller (vpn.bgp-vrf-owner). */
    private readonly owner: string,
    private readonly log: Logger,
  ) {}

  /** This controller's relayed peers on the speaker, every node's or one node's. */
  async held(node?: string): Promise<Peer[]> {
    const { peers } = await this.bgp.listPeers({ address: '' });
    return peers.filter((p) => ours(this.owner, p.config) && (node === undefined || parseBgpVrfName(p.config!.vrf)!.node === node));
  }

  /** Makes `wanted` the node's complete set of relayed peers. Throws while the speaker cannot answer (the job retries). */
  async reconcile(node: string, wanted: readonly CePeer[]): Promise<void> {
    const have = new Map((await this.held(node)).map((p) => [keyOf(p.config!), p.config!]));
    const want = new Map(wanted.map((p) => [relayedPeerName(p.ceAddress, bgpVrfName(p.vpn, p.node)), peerConfigOf(p, this.owner)]));
    // Removals first: a site's peers leave before another's arrive.
    for (const [key, config] of have) {
      if (want.has(key)) continue;
      try {
        await this.bgp.deletePeer({ address: nameOf(config) });
        this.log.info({ node, peer: key }, 'relayed PE-CE peer removed from the bgp speaker');
      } catch (err) {
        if (!isGrpcStatus(err, status.NOT_FOUND)) throw err;
      }
    }
    for (const [key, config] of want) {
      const current = have.get(key);
      if (current && samePeer(current, config)) continue;
      if (current) {
        try {
          await this.bgp.updatePeer({ peer: config });
          this.log.info({ node, peer: key }, 'relayed PE-CE peer updated on the bgp speaker');
          continue;
        } catch (err) {
          if (!isGrpcStatus(err, status.NOT_FOUND)) throw err;
        }
      }
      try {
        await this.bgp.addPeer({ peer: config });
        this.log.info({ node, peer: key, remoteAs: config.remoteAs }, 'relayed PE-CE peer added to the bgp speaker');
      } catch (err) {
        // Someone else's peer of that name (no marker of ours): ours never replaces it; the job fails and says so.
        if (isGrpcStatus(err, status.ALREADY_EXISTS)) throw new Error(`the bgp speaker already has a peer ${key} that is not this controller's`);
        throw err;
      }
    }
  }

  /** Every relayed session of this controller (or of one node) as the speaker reports it: one ListPeers. */
  async sessions(node?: string): Promise<CeSessionStatus[]> {
    return (await this.held(node)).flatMap((p) => sessionStatusOf(p) ?? []);
  }
}
