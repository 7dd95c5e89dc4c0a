// The OPEN checks the FSM owns (semantics, not syntax: the decoder already
// raised BGPHeaderErr/BGPOpenMsgErr for malformed messages) and the capability
// negotiation that turns two OPENs into one NegotiatedSession.
import { formatIpv4 } from '../../common/net/address-text.js';
import { parseIpv4 } from '../../common/net/address.js';
import {
  Capabilities,
  Family,
  IPV4_UNICAST,
  NegotiatedSession,
  Notification,
  OpenSummary,
  PeerGracefulRestart,
  State,
  StopReason,
  familyKey,
} from './types.js';
import { CeaseSubcode, ErrorCode, FsmErrorSubcode, OpenSubcode } from '../wire/constants.js';

export const BGP_VERSION = 4;

export function notification(code: number, subcode: number, data: Uint8Array = new Uint8Array(0)): Notification {
  return { code, subcode, data };
}

/** RFC 9003 allows up to 255 octets of UTF-8 (RFC 8203 allowed 128). */
const MAX_SHUTDOWN_COMMUNICATION = 255;

/**
 * Cease for a ManualStop (RFC 4486 §4). Administrative Shutdown and Reset may
 * carry a shutdown communication (RFC 8203/9003): one length octet, then UTF-8,
 * cut at a character boundary if too long.
 */
export function ceaseForStop(reason: StopReason = 'shutdown', communication?: string): Notification {
  const subcode =
    reason === 'deconfigured'
      ? CeaseSubcode.PEER_DECONFIGURED
      : reason === 'reset'
        ? CeaseSubcode.ADMINISTRATIVE_RESET
        : CeaseSubcode.ADMINISTRATIVE_SHUTDOWN;
  if (communication === undefined || communication === '' || reason === 'deconfigured') {
    return notification(ErrorCode.CEASE, subcode);
  }
  let text = new TextEncoder().encode(communication);
  if (text.length > MAX_SHUTDOWN_COMMUNICATION) {
    let end = MAX_SHUTDOWN_COMMUNICATION;
    while (end > 0 && (text[end]! & 0xc0) === 0x80) end--; // don't split a UTF-8 sequence
    text = text.subarray(0, end);
  }
  const data = new Uint8Array(1 + text.length);
  data[0] = text.length;
  data.set(text, 1);
  return notification(ErrorCode.CEASE, subcode, data);
}

/** Finite State Machine Error with the RFC 6608 subcode for the state. */
export function fsmError(state: State): Notification {
  const subcode =
    state === 'OpenSent'
      ? FsmErrorSubcode.UNEXPECTED_IN_OPEN_SENT
      : state === 'OpenConfirm'
        ? FsmErrorSubcode.UNEXPECTED_IN_OPEN_CONFIRM
        : state === 'Established'
          ? FsmErrorSubcode.UNEXPECTED_IN_ESTABLISHED
          : FsmErrorSubcode.UNSPECIFIED;
  return notification(ErrorCode.FSM, subcode);
}

/** Multiprotocol capabilities encoded as in an OPEN (RFC 5492 §3: data of Unsupported Capability). */
function encodeMultiprotocolCapabilities(families: Family[]): Uint8Array {
  const data = new Uint8Array(families.length * 6);
  families.forEach((f, i) => {
    const o = i * 6;
    data[o] = 1; // capability code: Multiprotocol Extensions
    data[o + 1] = 4; // capability length
    data[o + 2] = f.afi >> 8;
    data[o + 3] = f.afi & 0xff;
    data[o + 4] = 0; // reserved
    data[o + 5] = f.safi;
  });
  return data;
}

/** A speaker that sends no Multiprotocol capability supports IPv4 unicast only (RFC 4760 §8). */
export function effectiveFamilies(caps: Capabilities): Family[] {
  return caps.multiprotocol.length > 0 ? caps.multiprotocol : [IPV4_UNICAST];
}

export interface OpenCheckParams {
  localAs: number;
  localBgpId: number;
  peerAs: number;
  /** Our proposed Hold Time. */
  holdTime: number;
  /** Configured KeepaliveTime; the session uses the smaller of it and a third of the Hold Time. */
  keepaliveTime?: number;
  capabilities: Capabilities;
}

export type OpenCheck = { ok: true; session: NegotiatedSession } | { ok: false; notification: Notification };

/**
 * Validates a peer's OPEN against our configuration (RFC 4271 §6.2, RFC 6286
 * §2.2, RFC 5492) and, when acceptable, negotiates the session.
 */
export function checkOpen(params: OpenCheckParams, open: OpenSummary): OpenCheck {
  if (open.version !== BGP_VERSION) {
    // Data: the largest locally supported version, 2 octets (§6.2).
    return fail(OpenSubcode.UNSUPPORTED_VERSION_NUMBER, Uint8Array.of(0, BGP_VERSION));
  }
  if (open.myAs !== params.peerAs) return fail(OpenSubcode.BAD_PEER_AS);
  // One and two seconds MUST be rejected (§4.2); 0 (no keepalives) and >= 3 are fine.
  if (open.holdTime === 1 || open.holdTime === 2) return fail(OpenSubcode.UNACCEPTABLE_HOLD_TIME);
  const internal = params.peerAs === params.localAs;
  // RFC 6286 §2.2: any non-zero value is fine, except our own one on an iBGP session.
  if (open.bgpId === 0 || (internal && open.bgpId >>> 0 === params.localBgpId >>> 0)) {
    return fail(OpenSubcode.BAD_BGP_IDENTIFIER);
  }

  const localFamilies = effectiveFamilies(params.capabilities);
  const remoteKeys = new Set(effectiveFamilies(open.capabilities).map(familyKey));
  const families = localFamilies.filter((f) => remoteKeys.has(familyKey(f)));
  if (families.length === 0) {
    // No family in common. RFC 5492 §3 lets a speaker that cannot peer without
    // a capability send OPEN Message Error / Unsupported Capability listing the
    // capabilities it wanted. We do: a session that can carry no route is a
    // misconfiguration, and a NOTIFICATION naming our families tells the
    // peer's operator exactly what is missing, where an idle-but-Established
    // session would hide it. The session then backs off like any failure.
    return fail(OpenSubcode.UNSUPPORTED_CAPABILITY, encodeMultiprotocolCapabilities(localFamilies));
  }

  const holdTime = Math.min(params.holdTime, open.holdTime);
  // §4.4: one third of the Hold Time, or less when configured so.
  const third = Math.floor(holdTime / 3);
  const keepaliveTime = params.keepaliveTime !== undefined && params.keepaliveTime > 0 ? Math.min(third, params.keepaliveTime) : third;
  const session: NegotiatedSession = {
    remoteAs: open.myAs,
    remoteBgpId: open.bgpId >>> 0,
    holdTime,
    keepaliveTime,
    families,
    fourOctetAs: params.capabilities.fourOctetAs && open.capabilities.fourOctetAs,
    routeRefresh: params.capabilities.routeRefresh && open.capabilities.routeRefresh,
    extendedMessage: !!params.capabilities.extendedMessage && !!open.capabilities.extendedMessage,
  };
  const gr = negotiateGracefulRestart(params.capabilities, open.capabilities, families);
  if (gr) session.gracefulRestart = gr;
  return { ok: true, session };
}

/**
 * We are the receiving speaker of RFC 4724 §4.2. It applies when both sides
 * advertised the capability (ours may list no family: "I can help, but cannot
 * preserve forwarding state myself"). Only negotiated families can be kept.
 */
function negotiateGracefulRestart(
  local: Capabilities,
  remote: Capabilities,
  negotiated: Family[],
): PeerGracefulRestart | undefined {
  if (!local.gracefulRestart || !remote.gracefulRestart) return undefined;
  const keys = new Set(negotiated.map(familyKey));
  return {
    restartTime: remote.gracefulRestart.restartTime,
    peerRestarting: remote.gracefulRestart.restarting,
    families: remote.gracefulRestart.families
      .filter((f) => keys.has(familyKey(f.family)))
      .map((f) => ({ family: f.family, forwardingPreserved: f.forwardingPreserved })),
  };
}

function fail(subcode: number, data?: Uint8Array): OpenCheck {
  return { ok: false, notification: notification(ErrorCode.OPEN_MESSAGE, subcode, data) };
}

/** Dotted-quad to unsigned 32-bit BGP identifier. */
export function parseBgpId(text: string): number {
  const id = parseIpv4(text);
  if (id === undefined) throw new Error(`bgp identifier: not a dotted quad: ${text}`);
  return id;
}

export function formatBgpId(id: number): string {
  return formatIpv4(id >>> 0);
}
