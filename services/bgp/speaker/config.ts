// The speaker's and its peers' settings, with defaults and checks (pure).
import { canonicalIp, ipv4Bytes, parseIpv4, quoteText } from '../../common/net/address.js';
import { checkAddress, classifyAddress, describeAddressClass, type AddressClass } from '../../common/net/classify.js';
import { Afi, Safi } from '../wire/constants.js';
import type { Family } from '../wire/nlri.js';
import { RT_CONSTRAINT_FAMILY } from '../wire/rt-membership-nlri.js';
import { quoteId } from '../../common/quote.js';
import { parseAdministeredValue, validateAdministeredValue, type AdministeredValue } from '../../common/vpn/administered-value.js';

export interface SpeakerConfig {
  readonly as: number;
  readonly routerId: string;
  /** Address the BGP listener binds ('0.0.0.0' or '::' for all); also our source address by default. */
  readonly listenAddress: string;
  /** 179; 0 picks a free port (tests). */
  readonly port: number;
  /** Restart Time in our graceful restart capability (RFC 4724 §3); 0: no capability. */
  readonly gracefulRestartTime: number;
  /**
   * How long after the start End-of-RIB waits for the controller to refill
   * the speaker (CompleteRestart), seconds; 0: no wait, and the Restart
   * State bit is never set (RFC 4724 §4.1).
   */
  readonly restartDeferralTime?: number;
  /** First automatic-restart delay after a session failure, doubling up to idleHoldMaxTime (seconds). */
  readonly idleHoldTime: number;
  readonly idleHoldMaxTime: number;
  /** RFC 4456 §7 CLUSTER_ID; the router id when undefined. */
  readonly clusterId?: string;
  /**
   * RFC 4684 §6: how long VPN routes to a peer that negotiated RT constraint
   * wait for its RT membership End-of-RIB (seconds; default 60, 0: no wait).
   */
  readonly rtcWaitTime?: number;
}

export const DEFAULT_RTC_WAIT_TIME = 60;

export interface PeerConfig {
  readonly address: string;
  readonly remoteAs: number;
  /** Source address of our connections; default the listen address when it is a specific one. */
  readonly localAddress?: string;
  readonly port: number;
  readonly families: readonly Family[];
  readonly holdTime: number;
  /** 0: a third of the negotiated hold time. */
  readonly keepaliveTime: number;
  readonly connectRetryTime: number;
  readonly passive: boolean;
  readonly routeReflectorClient: boolean;
  /** Toward an iBGP peer, send our session address as the next hop of every route. */
  readonly nextHopSelf: boolean;
  /** VRF of a PE-CE session (used from issue 5 on). */
  readonly vrf?: string;
  readonly description?: string;
  /** Configured administratively down: no session until enabled. */
  readonly adminDown: boolean;
  /** PE-CE: in AS_PATHs sent to this CE, its AS becomes ours (after ours is prepended). */
  readonly asOverride: boolean;
  /** PE-CE: occurrences of our AS tolerated in AS_PATHs from this CE (0: any is a loop, RFC 4271 §9.1.2). */
  readonly allowAsIn: number;
  /** Routes accepted per address family before the configured action (RFC 4486 §4). */
  readonly maxPrefix?: MaxPrefix;
  /** PE-CE: the site's route origin (RFC 4360 §5), stamped on its routes and kept from being sent back to it (RFC 4364 §7). */
  readonly siteOfOrigin?: AdministeredValue;
  /**
   * PE-CE: the session arrives relayed (BgpService.RelayPeerSession), never
   * on the TCP listener, and is never dialled (passive). Keyed "<address>%<vrf>".
   */
  readonly relayed: boolean;
  /** PE-CE: the VPN label the VRF exports this CE's routes with (16..1048575); undefined: the VRF's label mode decides. */
  readonly routeLabel?: number;
  /** PE-CE: the LOCAL_PREF stamped on this CE's routes (a multi-homed site's access preference); undefined: the default. */
  readonly localPref?: number;
}

export type MaxPrefixAction = 'limit' | 'warning-only';

export interface MaxPrefix {
  /** Accepted routes per address family (each negotiated family is limited on its own). */
  readonly limit: number;
  /** Warning at this percentage of the limit (1..100). */
  readonly warningPercent: number;
  /** limit: Cease / Maximum Number of Prefixes Reached; warning-only: log, count and flag it. */
  readonly action: MaxPrefixAction;
  /** Seconds before a session torn down by the limit may come back; 0: only a reset, enable or config change brings it back. */
  readonly restartInterval: number;
}

export const MAX_ALLOWAS_IN = 10;

export const IPV4_UNICAST: Family = Object.freeze({ afi: Afi.IPV4, safi: Safi.UNICAST });
export const IPV6_UNICAST: Family = Object.freeze({ afi: Afi.IPV6, safi: Safi.UNICAST });
export const VPNV4: Family = Object.freeze({ afi: Afi.IPV4, safi: Safi.MPLS_VPN });
export const VPNV6: Family = Object.freeze({ afi: Afi.IPV6, safi: Safi.MPLS_VPN });
/** RFC 4684 route target constraint (AFI 1 / SAFI 132); never a default: it changes what a peer is sent. */
export const RTC: Family = RT_CONSTRAINT_FAMILY;
export const SUPPORTED_FAMILIES: readonly Family[] = [IPV4_UNICAST, IPV6_UNICAST, VPNV4, VPNV6, RTC];

const FAMILY_NAMES: Record<string, Family> = {
  'ipv4-unicast': IPV4_UNICAST,
  'ipv6-unicast': IPV6_UNICAST,
  'vpn-ipv4': VPNV4,
  'vpn-ipv6': VPNV6,
  vpnv4: VPNV4,
  vpnv6: VPNV6,
  'l3vpn-ipv4-unicast': VPNV4,
  'l3vpn-ipv6-unicast': VPNV6,
  rtc: RTC,
  'route-target': RTC,
  'ipv4-rtc': RTC,
};

export function isRtc(f: Family): boolean {
  return f.afi === RTC.afi && f.safi === RTC.safi;
}

/** One canonical object per supported family, so families compare by identity too. */
export function canonicalFamily(f: Family): Family | undefined {
  for (const s of SUPPORTED_FAMILIES) if (s.afi === f.afi && s.safi === f.safi) return s;
  return undefined;
}

export function familyName(f: Family): string {
  if (f.afi === RTC.afi && f.safi === RTC.safi) return 'rtc';
  if (f.safi === Safi.MPLS_VPN) return f.afi === Afi.IPV4 ? 'vpn-ipv4' : 'vpn-ipv6';
  if (f.safi === Safi.UNICAST) return f.afi === Afi.IPV4 ? 'ipv4-unicast' : 'ipv6-unicast';
  return `${f.afi}/${f.safi}`;
}

export function parseFamilyName(name: string): Family | undefined {
  return FAMILY_NAMES[name.toLowerCase()];
}

export class PeerConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'PeerConfigError';
  }
}

/** Canonical text of an IP address, or undefined. */
export const normaliseAddress = canonicalIp;

/** A neighbour is one router's unicast address (a loopback one is fine: tests and single-host labs use 127.0.0.0/8). */
const NOT_A_NEIGHBOUR: readonly AddressClass[] = ['unspecified', 'multicast', 'broadcast'];
const NOT_A_SOURCE: readonly AddressClass[] = ['multicast', 'broadcast'];

/** Canonical text of the address in `field`; PeerConfigError saying what is wrong with it otherwise. */
export function addressField(field: string, text: string, refused: readonly AddressClass[] = []): string {
  const checked = checkAddress(text, { refused });
  if (!checked.ok) throw new PeerConfigError(field, checked.problem);
  return checked.text;
}

/** A BGP identifier or cluster id: a non-zero dotted quad (RFC 6286 §2.1, RFC 4456 §7); a router id also no multicast or broadcast one. */
function identifierField(field: string, text: string, refused: readonly AddressClass[]): void {
  const id = parseIpv4(text);
  if (id === undefined || id === 0) throw new PeerConfigError(field, `${quoteText(text)} is not a non-zero dotted quad`);
  const cls = classifyAddress({ family: 4, bytes: ipv4Bytes(id) });
  if (refused.includes(cls)) throw new PeerConfigError(field, `'${quoteId(text)}' is ${describeAddressClass(cls)}; a BGP identifier is a unicast IPv4 address (RFC 6286 §2.1)`);
}

export function checkAs(as: number, field: string): number {
  if (!Number.isInteger(as) || as < 1 || as > 0xffffffff || as === 23456) throw new PeerConfigError(field, `${as} is not a usable AS number`);
  return as;
}

function checkHold(holdTime: number, field: string): number {
  if (!Number.isInteger(holdTime) || holdTime < 0 || holdTime > 65535 || holdTime === 1 || holdTime === 2) {
    throw new PeerConfigError(field, 'must be 0 or 3..65535 seconds (RFC 4271 §4.2)');
  }
  return holdTime;
}

export type MaxPrefixInput = { limit: number; warningPercent?: number; action?: MaxPrefixAction; restartInterval?: number };

export type PeerConfigInput = Partial<Omit<PeerConfig, 'address' | 'remoteAs' | 'maxPrefix' | 'siteOfOrigin'>> & {
  address: string;
  remoteAs: number;
  maxPrefix?: MaxPrefixInput;
  /** "65000:1", "192.0.2.1:1", "4200000000:1", or the parsed value. */
  siteOfOrigin?: string | AdministeredValue;
};

function maxPrefixField(input: MaxPrefixInput): MaxPrefix {
  const { limit, warningPercent = 75, action = 'limit', restartInterval = 0 } = input;
  if (!Number.isInteger(limit) || limit < 1 || limit > 0xffffffff) throw new PeerConfigError('max_prefix.limit', `${limit} is not in 1..4294967295`);
  if (!Number.isInteger(warningPercent) || warningPercent < 1 || warningPercent > 100) throw new PeerConfigError('max_prefix.warning_percent', `${warningPercent} is not in 1..100`);
  if (action !== 'limit' && action !== 'warning-only') throw new PeerConfigError('max_prefix.action', `'${quoteId(String(action))}' is not limit or warning-only`);
  if (!Number.isInteger(restartInterval) || restartInterval < 0 || restartInterval > 65535) throw new PeerConfigError('max_prefix.restart_interval', `${restartInterval} is not in 0..65535 seconds`);
  return { limit, warningPercent, action, restartInterval };
}

function siteOfOriginField(v: string | AdministeredValue): AdministeredValue {
  try {
    if (typeof v !== 'string') {
      validateAdministeredValue(v);
      return v;
    }
    return parseAdministeredValue(v);
  } catch (err) {
    throw new PeerConfigError('site_of_origin', (err as Error).message);
  }
}

/** PE-CE-only settings given to a peer without a VRF: refused, naming the field. */
function requireVrf(input: PeerConfigInput): void {
  if (input.vrf) return;
  const set: [string, boolean][] = [
    ['as_override', !!input.asOverride],
    ['allowas_in', !!input.allowAsIn],
    ['site_of_origin', !!input.siteOfOrigin],
    ['relayed', !!input.relayed],
    ['route_label', !!input.routeLabel],
    ['local_pref', input.localPref !== undefined],
  ];
  for (const [field, given] of set) if (given) throw new PeerConfigError(field, 'applies to a PE-CE peer only (set vrf)');
}

/**
 * The name a peer is known by in the speaker and in every API call naming it:
 * its address, or for a relayed peer "<address>%<vrf>" (the zone notation of
 * RFC 4007 §11): relayed CEs of different VPNs may share an address.
 */
export function peerKey(config: Pick<PeerConfig, 'address' | 'relayed' | 'vrf'>): string {
  return config.relayed && config.vrf ? zonedName(config.address, config.vrf) : config.address;
}

export function zonedName(address: string, vrf: string): string {
  return `${address}%${vrf}`;
}

/** A peer name split into its address and, for a relayed peer, its VRF (the zone). */
export function splitPeerName(name: string): { readonly address: string; readonly zone: string | undefined } {
  const i = name.indexOf('%');
  return i < 0 ? { address: name, zone: undefined } : { address: name.slice(0, i), zone: name.slice(i + 1) };
}

/** Canonical text of a peer name (address canonical, zone kept as is), or undefined when the address is not one. */
export function normalisePeerName(name: string): string | undefined {
  const { address, zone } = splitPeerName(name);
  const a = normaliseAddress(address);
  if (a === undefined || zone === '') return undefined;
  return zone === undefined ? a : zonedName(a, zone);
}

function routeLabelField(label: number | undefined): number | undefined {
  if (!label) return undefined;
  if (!Number.isInteger(label) || label < 16 || label > 0xfffff) throw new PeerConfigError('route_label', `${label} is not in 16..1048575`);
  return label;
}

function localPrefField(v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new PeerConfigError('local_pref', `${v} is not a 32-bit unsigned integer`);
  return v;
}

/** Fills defaults and checks every field; throws PeerConfigError naming the field. */
export function peerConfig(input: PeerConfigInput): PeerConfig {
  const address = addressField('address', input.address ?? '', NOT_A_NEIGHBOUR);
  const remoteAs = checkAs(input.remoteAs, 'remote_as');
  const localAddress = input.localAddress ? addressField('local_address', input.localAddress, NOT_A_SOURCE) : undefined;
  const port = input.port ?? 179;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PeerConfigError('port', `${port} is not a TCP port`);
  const families: Family[] = [];
  for (const f of input.families?.length ? input.families : [IPV4_UNICAST, VPNV4, VPNV6]) {
    const c = canonicalFamily(f);
    if (!c) throw new PeerConfigError('families', `AFI ${f.afi} SAFI ${f.safi} is not supported`);
    if (!families.includes(c)) families.push(c);
  }
  const holdTime = checkHold(input.holdTime ?? 90, 'hold_time');
  const keepaliveTime = input.keepaliveTime ?? 0;
  if (!Number.isInteger(keepaliveTime) || keepaliveTime < 0 || keepaliveTime > 21845) throw new PeerConfigError('keepalive_time', 'must be 0..21845 seconds');
  requireVrf(input);
  const allowAsIn = input.allowAsIn ?? 0;
  if (!Number.isInteger(allowAsIn) || allowAsIn < 0 || allowAsIn > MAX_ALLOWAS_IN) throw new PeerConfigError('allowas_in', `${allowAsIn} is not in 0..${MAX_ALLOWAS_IN}`);
  const routeLabel = routeLabelField(input.routeLabel);
  const relayed = input.relayed ?? false;
  const connectRetryTime = input.connectRetryTime ?? 120;
  if (!Number.isInteger(connectRetryTime) || connectRetryTime < 1 || connectRetryTime > 65535) throw new PeerConfigError('connect_retry_time', 'must be 1..65535 seconds');
  return {
    address,
    remoteAs,
    localAddress,
    port,
    families,
    holdTime,
    keepaliveTime,
    connectRetryTime,
    // A relayed session only ever arrives: there is no address to dial.
    passive: relayed || (input.passive ?? false),
    routeReflectorClient: input.routeReflectorClient ?? false,
    nextHopSelf: input.nextHopSelf ?? false,
    vrf: input.vrf || undefined,
    description: input.description || undefined,
    adminDown: input.adminDown ?? false,
    asOverride: input.asOverride ?? false,
    allowAsIn,
    maxPrefix: input.maxPrefix ? maxPrefixField(input.maxPrefix) : undefined,
    siteOfOrigin: input.siteOfOrigin ? siteOfOriginField(input.siteOfOrigin) : undefined,
    relayed,
    routeLabel,
    localPref: localPrefField(input.localPref),
  };
}

/** Whether two route origins are the same value (same form, administrator and number). */
export function sameAdministeredValue(a: AdministeredValue | undefined, b: AdministeredValue | undefined): boolean {
  return !!a && !!b && a.form === b.form && a.administrator === b.administrator && a.assigned === b.assigned;
}

export function checkSpeakerConfig(c: SpeakerConfig): SpeakerConfig {
  checkAs(c.as, 'bgp.as');
  identifierField('bgp.router-id', c.routerId, ['multicast', 'broadcast']);
  addressField('bgp.listen-address', c.listenAddress, NOT_A_SOURCE);
  if (c.clusterId !== undefined) identifierField('bgp.cluster-id', c.clusterId, []);
  if (c.gracefulRestartTime < 0 || c.gracefulRestartTime > 4095) throw new PeerConfigError('bgp.graceful-restart-time', 'must be 0..4095 seconds');
  if (c.rtcWaitTime !== undefined && (!Number.isInteger(c.rtcWaitTime) || c.rtcWaitTime < 0 || c.rtcWaitTime > 3600)) {
    throw new PeerConfigError('bgp.rtc-wait-time', 'must be 0..3600 seconds');
  }
  return c;
}

/**
 * Session-level fields: changing one needs a new session (RFC 4486 Cease/Other
 * Configuration Change). The PE-CE policies are among them: allowas-in decides
 * what the Adj-RIB-In holds, site-of-origin what the CE's routes carry and
 * what it is sent, as-override what it was sent; a new session applies them
 * to every route. max-prefix is applied on the running session. A new
 * route_label re-feeds the CE's routes into the VRF (exported with the new
 * label); relayed changes how the session arrives; a new local_pref is
 * stamped on every route the CE sends on the new session.
 */
export function needsReset(a: PeerConfig, b: PeerConfig): boolean {
  const fam = (c: PeerConfig) => c.families.map(familyName).join(',');
  return (
    a.remoteAs !== b.remoteAs ||
    a.localAddress !== b.localAddress ||
    a.port !== b.port ||
    fam(a) !== fam(b) ||
    a.holdTime !== b.holdTime ||
    a.keepaliveTime !== b.keepaliveTime ||
    a.connectRetryTime !== b.connectRetryTime ||
    a.passive !== b.passive ||
    a.routeReflectorClient !== b.routeReflectorClient ||
    a.nextHopSelf !== b.nextHopSelf ||
    a.vrf !== b.vrf ||
    a.asOverride !== b.asOverride ||
    a.allowAsIn !== b.allowAsIn ||
    a.relayed !== b.relayed ||
    a.routeLabel !== b.routeLabel ||
    a.localPref !== b.localPref ||
    !(a.siteOfOrigin === b.siteOfOrigin || sameAdministeredValue(a.siteOfOrigin, b.siteOfOrigin))
  );
}
