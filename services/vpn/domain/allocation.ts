// What the reconcile holds from the labels service for the intent, in the
// domain's terms (the allocation store, store/allocation-store.ts, keeps
// it), and the pure rules over it: whether a VPN still wants a value it
// claimed, which table id and which automatic SID index come next.
import type { Rd, RouteTarget, VrfAllocation } from './node-intent.js';
import type { SiteRole } from '../intent/types.js';
import { FIRST_TABLE_ID, owners } from '../reconcile/owners.js';

/** A VPN-wide value: a route target of one role, or a given RD registered so the pool never hands it out. */
export type ClaimKind = 'rt' | 'rd';

/** A VPN-wide value the reconcile registered or allocated in the labels service, under its owner key. */
export interface IdentifierClaim {
  owner: string;
  kind: ClaimKind;
  vpnId: string;
  /** The pool (AS number or IPv4 address) the value was taken from. */
  administrator: string;
  /** Null until the labels service answered. */
  value: RouteTarget | Rd | null;
}

/** One route target slot of a VPN: given in the intent, or allocated (null until it is). */
export interface RouteTargetSlot {
  role: SiteRole;
  value: RouteTarget | null;
  given: boolean;
}

/** The VPN-wide identifiers of a VPN as its intent holds them. */
export interface VpnIdentifiers {
  id: string;
  /** The RD the intent gives every VRF of the VPN; null: each VRF gets one from the pool. */
  routeDistinguisher: Rd | null;
  routeTargets: RouteTargetSlot[];
}

/** A VRF's allocation as recorded, with the VRF, VPN and node it belongs to. */
export interface RecordedVrfAllocation extends VrfAllocation {
  vrfId: string;
  vpnId: string;
  nodeId: string;
}

/** A node's SID index as the intent holds it (named, or chosen and written back; null: none yet). */
export interface NodeSidIndex {
  node: string;
  sidIndex: number | null;
}

/** A node SID index the labels service holds for the SR domain. */
export interface HeldSidIndex {
  owner: string;
  /** Released, and not reusable by another owner until `reusableAt`. */
  inHoldDown: boolean;
  reusableAt?: Date;
}

/** Whether a VPN (null: gone) still wants the route target or given RD a claim holds. */
export function claimWanted(vpn: VpnIdentifiers | null, c: Pick<IdentifierClaim, 'owner' | 'kind' | 'value'>): boolean {
  if (!vpn) return false;
  if (c.kind === 'rd') return vpn.routeDistinguisher !== null && (c.value === null || vpn.routeDistinguisher === c.value);
  const rt = vpn.routeTargets.find((r) => owners.routeTarget(vpn.id, r.role) === c.owner);
  return Boolean(rt) && (c.value === null || rt!.value === null || rt!.value === c.value);
}

/** The lowest VRF table id not in use on the node (never below FIRST_TABLE_ID). */
export function freeTableId(used: ReadonlySet<number>): number {
  let id = FIRST_TABLE_ID;
  while (used.has(id)) id++;
  return id;
}

/**
 * The automatic node SID index of `node`: the one the labels service still
 * holds for it (a job that died after registering it), unless another node
 * names it; else the lowest index no node names and the labels service
 * does not hold, allocated or in hold-down.
 */
export function automaticSidIndex(node: string, named: readonly NodeSidIndex[], held: ReadonlyMap<number, HeldSidIndex>): number {
  const taken = new Set(named.flatMap((r) => (r.sidIndex !== null ? [r.sidIndex] : [])));
  const mine = [...held].find(([, h]) => h.owner === owners.sid(node) && !h.inHoldDown)?.[0];
  if (mine !== undefined && !taken.has(mine)) return mine;
  let index = 0;
  while (taken.has(index) || held.has(index)) index++;
  return index;
}
