// ECMP over a VRF route's remote PEs (VrfRoute.multipath): the members in
// the order the desired state gives them, and the flow hash a driver
// without its own (the soft driver) picks one with. Pure.
import type { RemotePeNextHop, VrfRoute } from '../../common/gen/proto/l3vpn/v1/agent.js';

/** The route's ECMP set: its remote next hop, then the other members; empty for a route towards a CE. */
export function ecmpMembers(r: VrfRoute): RemotePeNextHop[] {
  return r.nextHop?.$case === 'remote' ? [r.nextHop.value, ...r.multipath] : [];
}

/** A packet's flow: what a 5-tuple hash reads (RFC 2992 §3: hash-threshold keeps one flow on one path). */
export interface FlowKey {
  readonly source?: string;
  readonly destination: string;
  readonly protocol?: number;
  readonly sourcePort?: number;
  readonly destinationPort?: number;
}

/** FNV-1a (32 bits) of the 5-tuple: deterministic, the same flow always gives the same number. */
export function flowHash(f: FlowKey): number {
  const text = `${f.source ?? ''}|${f.destination}|${f.protocol ?? 0}|${f.sourcePort ?? 0}|${f.destinationPort ?? 0}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Final avalanche (murmur3 fmix32): FNV's low bits alone spread poorly over a few buckets.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash-threshold selection (RFC 2992 §2.1): the flow's member among n. */
export function ecmpIndex(f: FlowKey, n: number): number {
  if (n <= 1) return 0;
  return Math.floor((flowHash(f) / 0x100000000) * n);
}
