// VRFs are derived (RFC 9182 vpn-node): one per VPN per PE that has a site
// of the VPN, created with its first site and removed with its last.
import type { IntentStore } from '../store/intent-store.js';
import { vrfId } from '../store/records.js';
import type { Filter } from './handler.js';
import type { VrfView } from './types.js';
import type { WriteContext } from './write-context.js';

export const readVrf = (store: IntentStore, id: string): Promise<VrfView | undefined> => store.vrfs.read(id);

export const vrfFilters = ['vpn', 'node', 'status'] as const;

export const listVrfs = (store: IntentStore, filter: Filter, after: string | undefined, limit: number): Promise<VrfView[]> => store.vrfs.list(filter, after, limit);

/** Makes the VRF of (vpn, node) exist exactly when a site of the VPN is on the node. */
export async function syncVrf(ctx: WriteContext, vpnId: string, nodeId: string): Promise<void> {
  const id = vrfId(vpnId, nodeId);
  const { sites, vrfs } = ctx.store;
  const [count, exists] = await Promise.all([sites.count({ vpn: vpnId, node: nodeId }), vrfs.exists(id)]);
  if (count && !exists) {
    await vrfs.create({ id, vpn: vpnId, node: nodeId });
    ctx.changed('vrf', id, 'create');
  } else if (count && exists) {
    await vrfs.markPending([id]);
    ctx.changed('vrf', id, 'update');
  } else if (!count && exists) {
    // Its RD and labels are released by the node's reconcile (owner keys name the VRF).
    await vrfs.delete(id);
    ctx.changed('vrf', id, 'delete');
  }
}

/** Marks the VRFs of some VPNs as needing reconcile and names their nodes as affected. */
export async function touchVrfsOf(ctx: WriteContext, vpnIds: string[]): Promise<void> {
  const vrfs = await ctx.store.vrfs.ofVpns(vpnIds);
  if (!vrfs.length) return;
  await ctx.store.vrfs.markPending(vrfs.map((v) => v.id));
  for (const v of vrfs) {
    ctx.changed('vrf', v.id, 'update');
    ctx.affect(v.node);
  }
}
