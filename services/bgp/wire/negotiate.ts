// What two OPENs agree on (RFC 4271 §4.2 hold time, RFC 5492 capabilities):
// the session parameters the codec and FSM run with once Established.
import { Capability, GracefulRestartFamily } from './capabilities.js';
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';
import type { Family } from './nlri.js';
import type { OpenMessage } from './open.js';
import type { SessionOptions } from './session.js';

export interface NegotiatedSession extends SessionOptions {
  readonly fourOctetAs: boolean;
  readonly maxMessageLength: number;
  /** The smaller of both hold times (0 disables keepalives). */
  readonly holdTime: number;
  readonly keepaliveTime: number;
  /** Families both sides advertised; IPv4 unicast alone when neither sent multiprotocol (RFC 4760 §8). */
  readonly families: readonly Family[];
  readonly routeRefresh: boolean;
  /** The peer's graceful restart capability, if it sent one (we act as receiving speaker). */
  readonly peerGracefulRestart?: { readonly restarting: boolean; readonly restartTime: number; readonly families: readonly GracefulRestartFamily[] };
}

function families(caps: readonly Capability[]): Family[] {
  const out: Family[] = [];
  for (const c of caps) if (c.kind === 'multiprotocol') out.push({ afi: c.afi, safi: c.safi });
  return out;
}

export function negotiate(local: OpenMessage, remote: OpenMessage): NegotiatedSession {
  const has = (o: OpenMessage, kind: Capability['kind']) => o.capabilities.some((c) => c.kind === kind);
  const mine = families(local.capabilities);
  const theirs = families(remote.capabilities);
  const noMp = mine.length === 0 && theirs.length === 0;
  const common = noMp ? [{ afi: 1, safi: 1 }] : mine.filter((f) => theirs.some((t) => t.afi === f.afi && t.safi === f.safi));
  const holdTime = Math.min(local.holdTime, remote.holdTime);
  const gr = remote.capabilities.find((c) => c.kind === 'graceful-restart');
  return {
    fourOctetAs: has(local, 'four-octet-as') && has(remote, 'four-octet-as'),
    // RFC 8654 §3: only when both sides advertised it.
    maxMessageLength: has(local, 'extended-message') && has(remote, 'extended-message') ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH,
    holdTime,
    keepaliveTime: Math.floor(holdTime / 3),
    families: common,
    routeRefresh: has(remote, 'route-refresh'),
    peerGracefulRestart: gr && gr.kind === 'graceful-restart' ? { restarting: gr.restarting, restartTime: gr.restartTime, families: gr.families } : undefined,
  };
}
