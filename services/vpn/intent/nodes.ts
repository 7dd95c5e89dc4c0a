// Nodes: the PE and P routers the control plane manages.
import { checkAddressUse } from './address-rules.js';
import { conflict, Problems } from './errors.js';
import type { ResourceHandler } from './handler.js';
import type { IntentStore } from '../store/intent-store.js';
import type { NodeSpec, NodeView } from './types.js';
import type { SidIndexPool } from './write-context.js';

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

/** The router id, loopback and named node SID index are the node's alone. */
async function checkUnique(store: IntentStore, n: NodeSpec): Promise<void> {
  const loopback = n.loopback ?? n.routerId;
  for (const o of await store.nodes.holding({ routerId: n.routerId, loopback, nodeSidIndex: n.nodeSidIndex }, n.id)) {
    if (o.routerId === n.routerId) throw conflict('/routerId', `router id ${n.routerId} belongs to node '${o.id}'`);
    if (o.loopback === loopback) throw conflict(n.loopback ? '/loopback' : '/routerId', `loopback ${loopback} belongs to node '${o.id}'`);
    if (n.nodeSidIndex !== undefined && o.nodeSidIndex === n.nodeSidIndex) throw conflict('/nodeSidIndex', `node SID index ${n.nodeSidIndex} belongs to node '${o.id}'`);
  }
}

/** Checks a node against the rest of the intent; throws the IntentErrors. */
export async function checkNodeWrite(store: IntentStore, sidIndexes: SidIndexPool | undefined, next: NodeSpec, current: NodeView | undefined): Promise<void> {
  checkNode(next);
  const sidNamed = next.nodeSidIndex !== undefined && next.nodeSidIndex !== current?.nodeSidIndex;
  if (sidNamed) await store.nodes.lockSidIndexes();
  await checkUnique(store, next);
  // Stored, an index the labels service will not give would fail the node's reconcile until it does (a hold-down).
  if (sidNamed && (next.transport ?? 'sr') === 'sr') {
    const why = await sidIndexes?.sidIndexUnavailable(next.nodeSidIndex!, next.id);
    if (why) throw conflict('/nodeSidIndex', why);
  }
  if (current?.role === 'PE' && next.role === 'P') {
    const sites = await store.sites.count({ node: next.id });
    if (sites) throw conflict('/role', `node '${next.id}' still has ${sites} site(s); a P node holds no VPN state`);
  }
}

export const nodes: ResourceHandler<'node'> = {
  kind: 'node',
  filters: ['role', 'status'],

  read: (store, id) => store.nodes.read(id),

  list: (store, filter, after, limit) => store.nodes.list(filter, after, limit),

  async save(ctx, next, current) {
    await checkNodeWrite(ctx.store, ctx.sidIndexes, next, current);
    if (current) {
      await ctx.store.nodes.update(next);
      ctx.changed('node', next.id, 'update');
    } else {
      await ctx.store.nodes.create(next);
      ctx.changed('node', next.id, 'create');
    }
    const topologyChanged = !current || TOPOLOGY_FIELDS.some((f) => JSON.stringify(current[f]) !== JSON.stringify(normalised(next)[f]));
    if (topologyChanged) await ctx.affectAllNodes();
    else ctx.affect(next.id);
  },

  async remove(ctx, current) {
    const [sites, links] = await Promise.all([ctx.store.sites.count({ node: current.id }), ctx.store.links.countOn(current.id)]);
    if (sites) throw conflict('', `node '${current.id}' still has ${sites} site(s); delete or move them first`);
    if (links) throw conflict('', `node '${current.id}' still has ${links} link(s); delete them first`);
    await ctx.affectAllNodes();
    await ctx.store.nodes.delete(current.id);
    ctx.changed('node', current.id, 'delete');
  },
};

function normalised(n: NodeSpec): Partial<NodeView> {
  return { ...n, loopback: n.loopback ?? n.routerId, transport: n.transport ?? 'sr' };
}

