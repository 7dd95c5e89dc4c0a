// Links: the core topology between nodes, weighed by IGP metric.
import { conflict, Problems } from './errors.js';
import type { Filter, ResourceHandler } from './handler.js';
import { statusFilter } from './handler.js';
import { ipEquals } from '../../common/net/address.js';
import { parseIpPrefix, prefixContains } from '../../common/net/prefix.js';
import { checkAddressUse } from './address-rules.js';
import { linkView } from './records.js';
import type { LinkSpec } from './types.js';
import { lockInterfaces, lockRows, type WriteContext } from './write-context.js';

async function checkLink(ctx: WriteContext, l: LinkSpec): Promise<void> {
  const p = new Problems();
  if (l.a.node === l.b.node) p.add('/b/node', 'a link joins two different nodes');
  // Link writes on one node need not wait for each other or for the worker's status updates: the nodes must only
  // stay, and each interface is claimed under a lock of its own. Site writes (FOR UPDATE on the node) still wait.
  const found = await lockRows(ctx.tx, 'node', [l.a.node, l.b.node], 'key share');
  await lockInterfaces(ctx.tx, [l.a, l.b]);
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
    const link = await ctx.tx.link.findFirst({
      where: { id: { not: l.id }, OR: [{ aNodeId: node, aInterface: ifname }, { bNodeId: node, bInterface: ifname }] },
    });
    if (link) throw conflict(`/${end}/interface`, `${node} ${ifname} already carries link '${link.id}'`);
    const site = await ctx.tx.site.findFirst({ where: { nodeId: node, interface: ifname } });
    if (site) throw conflict(`/${end}/interface`, `${node} ${ifname} attaches site '${site.id}'`);
  }
}

const rowOf = (l: LinkSpec) => ({
  aNodeId: l.a.node,
  aInterface: l.a.interface,
  aAddress: l.a.address ?? null,
  bNodeId: l.b.node,
  bInterface: l.b.interface,
  bAddress: l.b.address ?? null,
  igpMetric: l.igpMetric ?? 10,
  status: 'PENDING' as const,
  statusReason: null,
});

export const links: ResourceHandler<'link'> = {
  kind: 'link',
  filters: ['node', 'status'],

  async read(db, id) {
    const r = await db.link.findUnique({ where: { id } });
    return r ? linkView(r) : undefined;
  },

  async list(db, filter: Filter, after, limit) {
    const rows = await db.link.findMany({
      where: {
        ...(after ? { id: { gt: after } } : {}),
        ...(filter.node ? { OR: [{ aNodeId: filter.node }, { bNodeId: filter.node }] } : {}),
        ...statusFilter(filter),
      },
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows.map(linkView);
  },

  async save(ctx, next, current) {
    await checkLink(ctx, next);
    if (current) {
      await ctx.tx.link.update({ where: { id: next.id }, data: { ...rowOf(next), version: { increment: 1 } } });
      ctx.changed('link', next.id, 'update');
    } else {
      await ctx.tx.link.create({ data: { id: next.id, ...rowOf(next) } });
      ctx.changed('link', next.id, 'create');
    }
    await ctx.affectAllNodes();
  },

  async remove(ctx, current) {
    await ctx.affectAllNodes();
    await ctx.tx.link.delete({ where: { id: current.id } });
    ctx.changed('link', current.id, 'delete');
  },
};
