// Connection collision detection (RFC 4271 §6.8): two TCP connections between
// the same pair of speakers, one opened by each side. Exactly one survives:
// the one initiated by the speaker with the higher BGP Identifier.
import { State } from './types.js';

/** Who opened the TCP connection: 'outbound' = we did, 'inbound' = the peer did. */
export type Direction = 'outbound' | 'inbound';

export interface ConnectionView {
  direction: Direction;
  state: State;
  /** Known once the peer's OPEN on this connection was accepted (OpenConfirm, Established). */
  remoteBgpId?: number;
  remoteAs?: number;
}

/**
 * Which connection survives, by the direction it was initiated in. BGP
 * Identifiers compare as unsigned 32-bit integers in host order (§6.8 step 1);
 * the higher speaker's connection wins (steps 2, 3). RFC 6286 §2.3: with equal
 * identifiers (possible between ASes), the larger AS number's connection wins.
 */
export function collisionWinner(localBgpId: number, remoteBgpId: number, localAs: number, remoteAs: number): Direction {
  const local = localBgpId >>> 0;
  const remote = remoteBgpId >>> 0;
  if (local !== remote) return local > remote ? 'outbound' : 'inbound';
  return localAs > remoteAs ? 'outbound' : 'inbound';
}

export interface CollisionResolverConfig {
  localBgpId: number;
  localAs: number;
  /** CollisionDetectEstablishedState (§8.1.1): also resolve against an Established connection. Default false. */
  collisionDetectEstablishedState?: boolean;
}

export class CollisionResolver {
  constructor(private readonly config: CollisionResolverConfig) {}

  /**
   * `opened` has just accepted the peer's OPEN (it is in OpenConfirm, its
   * remoteBgpId known); `other` is another connection to the same peer.
   * Returns the connection to close with Cease / Connection Collision
   * Resolution (RFC 4486 subcode 7), or undefined when they do not collide.
   */
  resolve<T extends ConnectionView>(opened: T, other: T): T | undefined {
    if (opened.remoteBgpId === undefined) return undefined;
    switch (other.state) {
      case 'Idle':
      case 'Connect':
      case 'Active':
        return undefined; // no BGP exchange on it yet: nothing to collide with
      case 'Established':
        // §6.8: unless configured otherwise, the new connection loses.
        if (!this.config.collisionDetectEstablishedState) return opened;
        break;
      case 'OpenSent':
        // §6.8 lets us examine OpenSent connections when the peer's identifier
        // is known by other means: here from the OPEN just received from the
        // same peer address. Resolving now saves a round of OPEN/KEEPALIVE.
        break;
      case 'OpenConfirm':
        if (other.remoteBgpId !== opened.remoteBgpId) return undefined; // a different speaker
        break;
    }
    if (other.direction === opened.direction) return opened; // keep the older one
    const remoteAs = opened.remoteAs ?? other.remoteAs ?? this.config.localAs;
    const winner = collisionWinner(this.config.localBgpId, opened.remoteBgpId, this.config.localAs, remoteAs);
    return opened.direction === winner ? other : opened;
  }
}
