// Nodes: the PE and P routers the control plane manages.
import { checkAddressUse } from './address-rules.js';
import { conflict, Problems } from './errors.js';
import type { Filter, ResourceHandler } from './handler.js';
import { statusFilter } from './handler.js';
import { nodeView, toDbEnum } from './records.js';
import type { NodeSpec, NodeView } from './types.js';
import type { Db, Tx } from './write-context.js';

const MAX_LABEL = 1048575;

/** Fields every other node's transport depends on (its SID, its next-hop address, its role). */
const TOPOLOGY_FIELDS = ['role', 'routerId', 'loopback', 'srgb', 'nodeSidIndex', 'transport', 'asNumber'] as const;

function checkNode(n: NodeSpec): void {
  const p = new Problems();
  const routerIdUsable = checkAddressUse(p, '/routerId', n.routerId, 'router-id');
  if (n.loopback) checkAddressUse(p, '/loopback', n.loopback, 'loopback');
  // The loopback defaults to the router id; a bad default is the router id's problem.
  else if (routerIdUsable) checkAddressUse(p, '/routerId', n.routerId, 'loopback');
  if (n.labelRange && n.labelRange.min > n.labelRange.max) p.add('/labelRange/max', `must be >= min (${n.labelRange.min})`);
  if (n.srgb && n.srgb.base + n.srgb.size - 1 > MAX_LABEL) p.add('/srgb/size', `base + size - 1 must be <= ${MAX_LABEL}`);
  if (n.srgb && n.nodeSidIndex !== undefined && n.nodeSidIndex >= n.srgb.size) p.add('/nodeSidIndex', `must be below the SRGB size (${n.srgb.size})`);
  p.throwIfAny();
}

/**
 * Serialises the claims of node SID indexes: API writes naming one, and the
 * reconcile choosing an automatic one (NodeAllocator), which writes it back
 * before it lets go. So the check below sees every index claimed before it,
 * and an automatic index never takes one a committed write named.
 */
export async function lockSidIndexes(tx: Tx): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('l3vpn:node-sid-index'))`;
}

async function checkUnique(db: Db, n: NodeSpec): Promise<void> {
  const loopback = n.loopback ?? n.routerId;
  const others = await db.node.findMany({
    where: {
      id: { not: n.id },
      OR: [
        { routerId: n.routerId },
        { loopback },
        ...(n.nodeSidIndex !== undefined ? [{ nodeSidIndex: n.nodeSidIndex }] : []),
      ],
    },
  });
  for (const o of others) {
    if (o.routerId === n.routerId) throw conflict('/routerId', `router id ${n.routerId} belongs to node '${o.id}'`);
    if (o.loopback === loopback) throw conflict(n.loopback ? '/loopback' : '/routerId', `loopback ${loopback} belongs to node '${o.id}'`);
    if (n.nodeSidIndex !== undefined && o.nodeSidIndex === n.nodeSidIndex) throw conflict('/nodeSidIndex', `node SID index ${n.nodeSidIndex} belongs to node '${o.id}'`);
  }
}

function rowOf(n: NodeSpec) {
  return {
    name: n.name ?? n.id,
    role: n.role,
    routerId: n.routerId,
    loopback: n.loopback ?? n.routerId,
    asNumber: BigInt(n.asNumber),
    labelMin: n.labelRange?.min ?? null,
    labelMax: n.labelRange?.max ?? null,
    srgbBase: n.srgb?.base ?? null,
    srgbSize: n.srgb?.size ?? null,
    nodeSidIndex: n.nodeSidIndex ?? null,
    transport: toDbEnum(n.transport ?? 'sr') as 'SR' | 'EXTERNAL',
    status: 'PENDING' as const,
    statusReason: null,
  };
}

export const nodes: ResourceHandler<'node'> = {
  kind: 'node',
  filters: ['role', 'status'],

  async read(db, id) {
    const r = await db.node.findUnique({ where: { id } });
    return r ? nodeView(r) : undefined;
  },

  async list(db, filter: Filter, after, limit) {
    const rows = await db.node.findMany({
      where: { ...(after ? { id: { gt: after } } : {}), ...(filter.role ? { role: filter.role as 'PE' | 'P' } : {}), ...statusFilter(filter) },
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows.map(nodeView);
  },

  async save(ctx, next, current) {
    checkNode(next);
    const sidNamed = next.nodeSidIndex !== undefined && next.nodeSidIndex !== current?.nodeSidIndex;
    if (sidNamed) await lockSidIndexes(ctx.tx);
    await checkUnique(ctx.tx, next);
    // Stored, an index the labels service will not give would fail the node's reconcile until it does (a hold-down).
    if (sidNamed && (next.transport ?? 'sr') === 'sr') {
      const why = await ctx.sidIndexes?.sidIndexUnavailable(next.nodeSidIndex!, next.id);
      if (why) throw conflict('/nodeSidIndex', why);
    }
    if (current?.role === 'PE' && next.role === 'P') {
      const sites = await ctx.tx.site.count({ where: { nodeId: next.id } });
      if (sites) throw conflict('/role', `node '${next.id}' still has ${sites} site(s); a P node holds no VPN state`);
    }
    const data = rowOf(next);
    if (current) {
      await ctx.tx.node.update({ where: { id: next.id }, data: { ...data, version: { increment: 1 } } });
      ctx.changed('node', next.id, 'update');
    } else {
      await ctx.tx.node.create({ data: { id: next.id, ...data } });
      ctx.changed('node', next.id, 'create');
    }
    const topologyChanged = !current || TOPOLOGY_FIELDS.some((f) => JSON.stringify(current[f]) !== JSON.stringify(normalised(next)[f]));
    if (topologyChanged) await ctx.affectAllNodes();
    else ctx.affect(next.id);
  },

  async remove(ctx, current) {
    const [sites, links] = await Promise.all([
      ctx.tx.site.count({ where: { nodeId: current.id } }),
      ctx.tx.link.count({ where: { OR: [{ aNodeId: current.id }, { bNodeId: current.id }] } }),
    ]);
    if (sites) throw conflict('', `node '${current.id}' still has ${sites} site(s); delete or move them first`);
    if (links) throw conflict('', `node '${current.id}' still has ${links} link(s); delete them first`);
    await ctx.affectAllNodes();
    await ctx.tx.node.delete({ where: { id: current.id } });
    ctx.changed('node', current.id, 'delete');
  },
};

function normalised(n: NodeSpec): Partial<NodeView> {
  return { ...n, loopback: n.loopback ?? n.routerId, transport: n.transport ?? 'sr' };
}

