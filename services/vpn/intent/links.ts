// Links: the core topology between nodes, weighed by IGP metric.
import { conflict, Problems } from './errors.js';
import type { ResourceHandler } from './handler.js';
import { ipEquals } from '../../common/net/address.js';
import { parseIpPrefix, prefixContains } from '../../common/net/prefix.js';
import { checkAddressUse } from './address-rules.js';
import type { IntentStore } from '../store/intent-store.js';
import type { LinkSpec } from './types.js';

/** Checks a link against the rest of the intent; throws the IntentErrors. */
export async function checkLink(store: IntentStore, l: LinkSpec): Promise<void> {
  const p = new Problems();
  if (l.a.node === l.b.node) p.add('/b/node', 'a link joins two different nodes');
  // Link writes on one node need not wait for each other or for the worker's status updates: the nodes must only
  // stay, and each interface is claimed under a lock of its own. Site writes (FOR UPDATE on the node) still wait.
  const found = await store.nodes.lock([l.a.node, l.b.node], 'key share');
  await store.interfaces.claim([l.a, l.b]);
  for (const end of ['a', 'b'] as const) if (!found.includes(l[end].node)) p.add(`/${end}/node`, `no node '${l[end].node}'`);
  if (Boolean(l.a.address) !== Boolean(l.b.address)) p.add(l.a.address ? '/b/address' : '/a/address', 'give both ends an address, or neither (unnumbered)');
  for (const end of ['a', 'b'] as const) checkAddressUse(p, `/${end}/address`, l[end].address, 'host');
  if (l.a.address && l.b.address) {
    const a = parseIpPrefix(l.a.address)!;
    const b = parseIpPrefix(l.b.address)!;
    if (a.family !== b.family) p.add('/b/address', 'must be of the same family as a.address');
    else if (ipEquals(a, b)) p.add('/b/address', 'must differ from a.address');
    else if (a.length !== b.length || !prefixContains(a, b)) p.add('/b/address', `must be in the subnet of a.address (${l.a.address})`);
  }
  p.throwIfAny();
  for (const end of ['a', 'b'] as const) {
    const { node, interface: ifname } = l[end];
    const link = await store.interfaces.linkOn(l[end], l.id);
    if (link) throw conflict(`/${end}/interface`, `${node} ${ifname} already carries link '${link}'`);
    const site = await store.interfaces.siteOn(l[end]);
    if (site) throw conflict(`/${end}/interface`, `${node} ${ifname} attaches site '${site}'`);
  }
}

export const links: ResourceHandler<'link'> = {
  kind: 'link',
  filters: ['node', 'status'],

  read: (store, id) => store.links.read(id),

  list: (store, filter, after, limit) => store.links.list(filter, after, limit),

  async save(ctx, next, current) {
    await checkLink(ctx.store, next);
    if (current) {
      await ctx.store.links.update(next);
      ctx.changed('link', next.id, 'update');
    } else {
      await ctx.store.links.create(next);
      ctx.changed('link', next.id, 'create');
    }
    await ctx.affectAllNodes();
  },

  async remove(ctx, current) {
    await ctx.affectAllNodes();
    await ctx.store.links.delete(current.id);
    ctx.changed('link', current.id, 'delete');
  },
};
