// Reconciling one node: level-triggered, it recomputes everything the node
// should have from the intent, so a duplicate, late or retried job is harmless.
//
// This is the skeleton of the first half of issue 6: it marks the node's
// resources active. The seams for the second half, in this order:
//   1. allocate   - labels service (gRPC, idempotent by owner key): the
//                   node's SID, each VRF's RD and label, each VPN's RTs;
//                   release what no longer has an owner (hold-down).
//   2. define     - bgp service (gRPC, issue 5): define the node's VRFs
//                   (import/export RTs) and originate its sites' routes;
//                   withdraw those of deleted sites.
//   3. compute    - services/vpn/desired-state: the node's VRFs, VRF routes
//                   and LFIB, including SR transport over the links.
//   4. store      - the desired state with the next generation number, for
//                   the node's agent to watch.
import type { PrismaClient } from '../../common/gen/prisma/client.js';

export interface ReconcileStep {
  readonly name: string;
  run(node: string): Promise<void>;
}

export class NodeReconciler {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly steps: ReconcileStep[] = [],
  ) {}

  async reconcile(node: string): Promise<void> {
    const exists = await this.prisma.node.findUnique({ where: { id: node }, select: { id: true } });
    if (!exists) return; // deleted: the second half releases what it held (owner keys name it)
    await this.setStatus(node, 'PROVISIONING', null);
    for (const step of this.steps) await step.run(node);
    await this.setStatus(node, 'ACTIVE', null);
  }

  /** After the last attempt failed: the reason goes on every resource the job was for. */
  async failed(node: string, reason: string): Promise<void> {
    await this.setStatus(node, 'FAILED', reason.slice(0, 1000));
  }

  private async setStatus(node: string, status: 'PROVISIONING' | 'ACTIVE' | 'FAILED', statusReason: string | null): Promise<void> {
    const data = { status, statusReason };
    await this.prisma.$transaction(async (tx) => {
      await tx.node.updateMany({ where: { id: node }, data });
      await tx.link.updateMany({ where: { OR: [{ aNodeId: node }, { bNodeId: node }] }, data });
      await tx.site.updateMany({ where: { nodeId: node }, data });
      await tx.vrf.updateMany({ where: { nodeId: node }, data });
      const vpnIds = (await tx.vrf.findMany({ where: { nodeId: node }, select: { vpnId: true } })).map((v) => v.vpnId);
      if (status !== 'ACTIVE') {
        await tx.vpn.updateMany({ where: { id: { in: vpnIds } }, data });
        return;
      }
      // A VPN is active once every VRF of it is.
      const unfinished = await tx.vrf.findMany({ where: { vpnId: { in: vpnIds }, status: { not: 'ACTIVE' } }, select: { vpnId: true } });
      const busy = new Set(unfinished.map((v) => v.vpnId));
      await tx.vpn.updateMany({ where: { id: { in: vpnIds.filter((v) => !busy.has(v)) } }, data });
    });
  }
}
