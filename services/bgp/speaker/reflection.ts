// Who may be sent an iBGP-learned route, and what a route reflector adds
// to it (RFC 4456 §6, §8), plus the inbound loop checks (RFC 4456 §8,
// RFC 4271 §9.1.2). Pure.
import type { PathAttributes } from '../wire/attributes.js';
import { AsPathSegmentType } from '../wire/constants.js';

/** The session a path came from; undefined for a local path. */
export interface SourceSession {
  readonly address: string;
  readonly external: boolean;
  readonly client: boolean;
  /** The peer's BGP Identifier, dotted quad. */
  readonly routerId: string;
}

export interface TargetSession {
  readonly address: string;
  readonly external: boolean;
  readonly client: boolean;
}

/**
 * RFC 4456 §6: a route from a client goes to every client and non-client,
 * one from a non-client only to clients, one from eBGP (or local) to all.
 * Plain RFC 4271 §9.2: an iBGP-learned route goes to no other iBGP peer
 * (the non-client to non-client case). Never back to the session it came from.
 */
export function mayReflect(from: SourceSession | undefined, to: TargetSession): boolean {
  if (!from) return true;
  if (from.address === to.address) return false;
  if (from.external || to.external) return true;
  return from.client || to.client;
}

/** Whether sending `from`'s route to `to` is reflection (both iBGP): ORIGINATOR_ID and CLUSTER_LIST then apply. */
export function isReflection(from: SourceSession | undefined, to: TargetSession): boolean {
  return !!from && !from.external && !to.external;
}

/**
 * RFC 4456 §8: ORIGINATOR_ID is set to the originator's router id unless
 * present; our CLUSTER_ID is prepended to CLUSTER_LIST (created if absent).
 */
export function reflect(out: PathAttributes, from: SourceSession, clusterId: string): void {
  out.originatorId ??= from.routerId;
  out.clusterList = [clusterId, ...(out.clusterList ?? [])];
}

export interface LoopContext {
  readonly routerId: string;
  readonly clusterId: string;
  readonly localAs: number;
  /** The route came over eBGP: our AS in its AS_PATH is a loop (RFC 4271 §9.1.2). */
  readonly external: boolean;
  /**
   * allowas-in: this many occurrences of our AS are tolerated (a PE-CE
   * session whose customer sites share one AS, and whose other PE did not
   * override it); one more is a loop.
   */
  readonly allowOwnAs?: number;
}

/** Whether a received route looped back to us; such announcements are ignored (treated as withdrawals). */
export function isLoop(a: Readonly<PathAttributes>, c: LoopContext): boolean {
  // RFC 4456 §8: our own route reflected back, or it has passed our cluster.
  if (a.originatorId !== undefined && a.originatorId === c.routerId) return true;
  if (a.clusterList?.includes(c.clusterId)) return true;
  if (c.external && a.asPath) {
    const allowed = c.allowOwnAs ?? 0;
    let seen = 0;
    for (const seg of a.asPath) {
      if (seg.type === AsPathSegmentType.AS_CONFED_SEQUENCE || seg.type === AsPathSegmentType.AS_CONFED_SET) continue;
      for (const asn of seg.asns) if (asn === c.localAs && ++seen > allowed) return true;
    }
  }
  return false;
}
