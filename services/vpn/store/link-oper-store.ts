// The operational state of core links (links/link-liveness.ts keeps the
// rules, links/oper-state.ts the evaluation): reads, and each update under
// the link's row lock.
import type { PrismaClient, Link } from '../../common/gen/prisma/client.js';
import type { LinkOper } from '../links/oper-state.js';
import { lockRows } from './db.js';

/** A core link: its two ends and its operational state. */
export interface LinkOperRecord {
  id: string;
  aNode: string;
  aInterface: string;
  bNode: string;
  bInterface: string;
  oper: LinkOper;
}

export interface LinkOperStore {
  /** Links in a hold-down, with its end. */
  heldDown(): Promise<{ id: string; until: Date }[]>;
  /** The links with an end on the node. */
  ofNode(node: string): Promise<LinkOperRecord[]>;
  /**
   * Under the link's row lock: reads it, lets `decide` give its next
   * operational state, and stores that when it differs. Undefined when there
   * is no such link.
   */
  update<T>(id: string, decide: (link: LinkOperRecord) => { next: LinkOper; result: T }): Promise<T | undefined>;
  /** Every node's id. */
  nodeIds(): Promise<string[]>;
}

const operOf = (l: Link): LinkOper => ({
  status: l.operStatus,
  reason: l.operReason,
  changedAt: l.operChangedAt,
  a: l.aOperDown === null ? null : { down: l.aOperDown, reason: l.aOperReason },
  b: l.bOperDown === null ? null : { down: l.bOperDown, reason: l.bOperReason },
  penalty: l.flapPenalty,
  penaltyAt: l.flapPenaltyAt,
  heldDownUntil: l.heldDownUntil,
});

const recordOf = (l: Link): LinkOperRecord => ({ id: l.id, aNode: l.aNodeId, aInterface: l.aInterface, bNode: l.bNodeId, bInterface: l.bInterface, oper: operOf(l) });

const rowOf = (o: LinkOper) => ({
  operStatus: o.status,
  operReason: o.reason,
  operChangedAt: o.changedAt,
  aOperDown: o.a?.down ?? null,
  aOperReason: o.a?.reason ?? null,
  bOperDown: o.b?.down ?? null,
  bOperReason: o.b?.reason ?? null,
  flapPenalty: o.penalty,
  flapPenaltyAt: o.penaltyAt,
  heldDownUntil: o.heldDownUntil,
});

const sameRow = (x: ReturnType<typeof rowOf>, y: ReturnType<typeof rowOf>) =>
  (Object.keys(x) as (keyof typeof x)[]).every((k) => {
    const a = x[k];
    const b = y[k];
    return a instanceof Date || b instanceof Date ? (a as Date | null)?.getTime() === (b as Date | null)?.getTime() : a === b;
  });

export function prismaLinkOperStore(prisma: PrismaClient): LinkOperStore {
  return {
    heldDown: async () =>
      (await prisma.link.findMany({ where: { heldDownUntil: { not: null } }, select: { id: true, heldDownUntil: true } })).map((l) => ({ id: l.id, until: l.heldDownUntil! })),
    ofNode: async (node) => (await prisma.link.findMany({ where: { OR: [{ aNodeId: node }, { bNodeId: node }] } })).map(recordOf),
    update: (id, decide) =>
      prisma.$transaction(async (tx) => {
        const locked = await lockRows(tx, 'link', [id]);
        if (!locked.length) return undefined;
        const l = (await tx.link.findUnique({ where: { id } }))!;
        const { next, result } = decide(recordOf(l));
        const row = rowOf(next);
        if (!sameRow(row, rowOf(operOf(l)))) await tx.link.update({ where: { id }, data: row });
        return result;
      }),
    nodeIds: async () => (await prisma.node.findMany({ select: { id: true } })).map((n) => n.id),
  };
}
