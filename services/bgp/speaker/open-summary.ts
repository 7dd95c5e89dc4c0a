// The bridge between the codec's OPEN (wire/open.ts) and the FSM's
// OpenSummary (fsm/types.ts). The FSM owns what an OPEN means (checkOpen:
// peer AS, identifier, hold time, negotiation); the codec owns its octets.
import { formatBgpId, parseBgpId } from '../fsm/negotiate.js';
import type { Capabilities, NegotiatedSession, OpenSummary } from '../fsm/types.js';
import type { Capability } from '../wire/capabilities.js';
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from '../wire/constants.js';
import { encodeOpen, peerAs, type OpenMessage } from '../wire/open.js';
import type { SessionOptions } from '../wire/session.js';

/** What the FSM needs from a decoded OPEN. The AS is the 4-octet capability's when present (RFC 6793 §4.1). */
export function openSummary(open: OpenMessage): OpenSummary {
  const caps: Capabilities = { multiprotocol: [], fourOctetAs: false, routeRefresh: false };
  for (const c of open.capabilities) {
    switch (c.kind) {
      case 'multiprotocol':
        if (!caps.multiprotocol.some((f) => f.afi === c.afi && f.safi === c.safi)) caps.multiprotocol.push({ afi: c.afi, safi: c.safi });
        break;
      case 'four-octet-as':
        caps.fourOctetAs = true;
        break;
      case 'route-refresh':
        caps.routeRefresh = true;
        break;
      case 'extended-message':
        caps.extendedMessage = true;
        break;
      case 'graceful-restart':
        caps.gracefulRestart = {
          restarting: c.restarting,
          restartTime: c.restartTime,
          families: c.families.map((f) => ({ family: { afi: f.afi, safi: f.safi }, forwardingPreserved: f.forwardingPreserved })),
        };
        break;
      case 'unknown':
        break;
    }
  }
  // A 4-octet capability carrying 0 or AS_TRANS (RFC 7607, RFC 6793 §4.2.1)
  // becomes that AS here and fails the FSM's Bad Peer AS check.
  return { version: open.version, myAs: peerAs(open), holdTime: open.holdTime, bgpId: parseBgpId(open.bgpId), capabilities: caps };
}

/** Our capabilities as OPEN TLVs: multiprotocol, route refresh, 4-octet AS, graceful restart, extended message. */
export function wireCapabilities(open: OpenSummary): Capability[] {
  const c = open.capabilities;
  const out: Capability[] = c.multiprotocol.map((f) => ({ kind: 'multiprotocol', afi: f.afi, safi: f.safi }));
  if (c.routeRefresh) out.push({ kind: 'route-refresh', code: 2 });
  if (c.fourOctetAs) out.push({ kind: 'four-octet-as', as: open.myAs });
  if (c.gracefulRestart) {
    const gr = c.gracefulRestart;
    out.push({
      kind: 'graceful-restart',
      restarting: gr.restarting,
      notification: false,
      restartTime: gr.restartTime,
      families: gr.families.map((f) => ({ afi: f.family.afi, safi: f.family.safi, forwardingPreserved: f.forwardingPreserved })),
    });
  }
  if (c.extendedMessage) out.push({ kind: 'extended-message' });
  return out;
}

export function encodeOpenSummary(open: OpenSummary): Uint8Array {
  return encodeOpen({ as: open.myAs, holdTime: open.holdTime, bgpId: formatBgpId(open.bgpId), capabilities: wireCapabilities(open) });
}

/** What the codec needs to read and write this session's UPDATEs. */
export function sessionOptions(session: NegotiatedSession): SessionOptions {
  return {
    fourOctetAs: session.fourOctetAs,
    maxMessageLength: session.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH,
    multipleLabels: 1,
  };
}
