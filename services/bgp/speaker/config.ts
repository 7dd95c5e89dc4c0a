// The speaker's and its peers' settings, with defaults and checks (pure).
import { canonicalIp, ipv4Bytes, parseIpv4, quoteText } from '../../common/net/address.js';
import { checkAddress, classifyAddress, describeAddressClass, type AddressClass } from '../../common/net/classify.js';
import { Afi, Safi } from '../wire/constants.js';
import type { Family } from '../wire/nlri.js';
import { RT_CONSTRAINT_FAMILY } from '../wire/rt-membership-nlri.js';
import { quoteId } from '../../common/quote.js';

export interface SpeakerConfig {
  readonly as: number;
  readonly routerId: string;
  /** Address the BGP listener binds ('0.0.0.0' or '::' for all); also our source address by default. */
  readonly listenAddress: string;
  /** 179; 0 picks a free port (tests). */
  readonly port: number;
  /** Restart Time in our graceful restart capability (RFC 4724 §3), advertised as receiving speaker. */
  readonly gracefulRestartTime: number;
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
}

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

export type PeerConfigInput = Partial<Omit<PeerConfig, 'address' | 'remoteAs'>> & { address: string; remoteAs: number };

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
    passive: input.passive ?? false,
    routeReflectorClient: input.routeReflectorClient ?? false,
    nextHopSelf: input.nextHopSelf ?? false,
    vrf: input.vrf || undefined,
    description: input.description || undefined,
    adminDown: input.adminDown ?? false,
  };
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

/** Session-level fields: changing one needs a new session (RFC 4486 Cease/Other Configuration Change). */
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
    a.vrf !== b.vrf
  );
}
