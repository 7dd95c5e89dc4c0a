// A node's reconcile's way to the database: the node's intent, the
// statuses it writes, where VRFs are, and what it writes in the transaction
// that stores the node's new desired state (the importers to notify, as an
// outbox row).
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import type { NodeIntent } from '../domain/node-intent.js';
import type { Tx } from './db.js';
import { importingNodes, otherNodes } from './importing-nodes.js';
import { loadNodeIntent } from './node-intent-store.js';
import { writeOutbox, type OutboxEntry } from './outbox.js';
import { markProvisioning, writeNodeStatuses, type NodeStatuses } from './reconcile-status-store.js';
import type { DerivedStatus } from '../state/forwarding.js';

/** A VPN's VRF on a node. */
export interface VrfPlacement {
  vpn: string;
  node: string;
}

/** Where the intent has VRFs. */
export interface VrfPlacements {
  /** The intent's VRFs on these nodes. */
  on(nodes: string[]): Promise<VrfPlacement[]>;
  /** The nodes with at least one VRF. */
  nodes(): Promise<string[]>;
}

/** Every node of the inventory, in id order (the periodic resync's list). */
export function prismaNodeIds(prisma: PrismaClient): () => Promise<string[]> {
  return async () => (await prisma.node.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map((n) => n.id);
}

/** Inside the transaction that stores a node's new desired state. */
export interface SaveFollowUps {
  /** PEs other than `node` with VRFs of these VPNs, of the node's current VPNs, or of VPNs importing any of them. */
  importingNodes(node: string, vpns: ReadonlySet<string>): Promise<string[]>;
  /** Every node but this one. */
  otherNodes(node: string): Promise<string[]>;
  outbox(entry: OutboxEntry): Promise<bigint>;
}

export interface ReconcileStore {
  /** The node's intent; undefined when the node is gone. */
  nodeIntent(node: string): Promise<NodeIntent | undefined>;
  /** What has never been reconciled shows that it is now (reconcile-status-store.ts). */
  markProvisioning(node: string): Promise<void>;
  /** Writes the statuses of one reconcile; the node's status before it (reconcile-status-store.ts). */
  writeStatuses(node: string, statuses: NodeStatuses, all?: DerivedStatus): Promise<string | undefined>;
  /** The follow-ups bound to the transaction a desired-state save hands its callback. */
  inSave(tx: Tx): SaveFollowUps;
  /** An outbox row queueing the PEs that import these VPNs from `node` (SaveFollowUps.importingNodes), in a transaction of its own; undefined when there are none. */
  queueImporters(node: string, vpns: ReadonlySet<string>): Promise<{ outboxId: bigint; nodes: string[] } | undefined>;
  /**
   * Stores `accessId` as the site's active access if it still is `previous`
   * (undefined: none stored), with an outbox row queueing `nodes` (the PEs of
   * its other accesses, whose LOCAL_PREFs follow it), in one transaction;
   * undefined when another reconcile changed it first to something else.
   */
  activateAccess(site: string, previous: string | undefined, accessId: string, nodes: string[]): Promise<{ outboxId: bigint | undefined } | undefined>;
}

export function prismaVrfPlacements(prisma: PrismaClient): VrfPlacements {
  return {
    on: async (nodes) =>
      (await prisma.vrf.findMany({ where: { nodeId: { in: [...new Set(nodes)] } }, select: { vpnId: true, nodeId: true } })).map((r) => ({ vpn: r.vpnId, node: r.nodeId })),
    nodes: async () => (await prisma.vrf.findMany({ select: { nodeId: true }, distinct: ['nodeId'] })).map((v) => v.nodeId),
  };
}

export function prismaReconcileStore(prisma: PrismaClient): ReconcileStore {
  return {
    nodeIntent: (node) => loadNodeIntent(prisma, node),
    markProvisioning: (node) => markProvisioning(prisma, node),
    writeStatuses: (node, statuses, all) => writeNodeStatuses(prisma, node, statuses, all),
    inSave: (tx) => ({
      importingNodes: (node, vpns) => importingNodes(tx, node, vpns),
      otherNodes: (node) => otherNodes(tx, node),
      outbox: (entry) => writeOutbox(tx, entry),
    }),
    queueImporters: (node, vpns) =>
      prisma.$transaction(async (tx) => {
        const nodes = await importingNodes(tx, node, vpns);
        if (!nodes.length) return undefined;
        return { outboxId: await writeOutbox(tx, { aggregate: 'node', aggregateId: node, action: 'update', nodes, changes: [] }), nodes };
      }),
    activateAccess: (site, previous, accessId, nodes) =>
      prisma.$transaction(async (tx) => {
        const written =
          previous === undefined
            ? await tx.siteActiveAccess.createMany({ data: [{ siteId: site, accessId }], skipDuplicates: true })
            : await tx.siteActiveAccess.updateMany({ where: { siteId: site, accessId: previous }, data: { accessId, changedAt: new Date() } });
        if (!written.count) {
          // Another PE's reconcile got there first: the same decision (it queued the PEs) is no conflict.
          const now = await tx.siteActiveAccess.findUnique({ where: { siteId: site }, select: { accessId: true } });
          return now?.accessId === accessId ? { outboxId: undefined } : undefined;
        }
        if (!nodes.length) return { outboxId: undefined };
        return { outboxId: await writeOutbox(tx, { aggregate: 'site', aggregateId: site, action: 'update', nodes, changes: [] }) };
      }),
  };
}
