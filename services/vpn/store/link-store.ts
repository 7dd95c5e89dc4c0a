// Link rows: reads as LinkViews, writes from LinkSpecs (a write resets the status to pending).
import type { Filter } from '../intent/handler.js';
import { linkView } from './records.js';
import type { LinkSpec, LinkView } from '../intent/types.js';
import type { Db } from './db.js';
import { afterWhere, statusWhere } from './filters.js';

export interface LinkStore {
  read(id: string): Promise<LinkView | undefined>;
  /** Filters: node (either end), status. Ids > after, in id order, at most limit. */
  list(filter: Filter, after: string | undefined, limit: number): Promise<LinkView[]>;
  /** How many links have an end on `node`. */
  countOn(node: string): Promise<number>;
  create(link: LinkSpec): Promise<void>;
  /** Replaces the link's fields and increments its version. */
  update(link: LinkSpec): Promise<void>;
  delete(id: string): Promise<void>;
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

export function prismaLinkStore(db: Db): LinkStore {
  return {
    async read(id) {
      const r = await db.link.findUnique({ where: { id } });
      return r ? linkView(r) : undefined;
    },
    async list(filter, after, limit) {
      const rows = await db.link.findMany({
        where: { ...afterWhere(after), ...(filter.node ? { OR: [{ aNodeId: filter.node }, { bNodeId: filter.node }] } : {}), ...statusWhere(filter) },
        orderBy: { id: 'asc' },
        take: limit,
      });
      return rows.map(linkView);
    },
    countOn: (node) => db.link.count({ where: { OR: [{ aNodeId: node }, { bNodeId: node }] } }),
    async create(l) {
      await db.link.create({ data: { id: l.id, ...rowOf(l) } });
    },
    async update(l) {
      await db.link.update({ where: { id: l.id }, data: { ...rowOf(l), version: { increment: 1 } } });
    },
    async delete(id) {
      await db.link.delete({ where: { id } });
    },
  };
}
