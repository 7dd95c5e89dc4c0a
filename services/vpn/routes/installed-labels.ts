// The VPN labels a node's agent has installed: the LFIB of the generation it
// last reported applied (ReportStatus), minus the LFIB entries it reported
// failed. What the ordering rule of the reconcile reads before a route is
// advertised with one of them (DESIGN: never black-hole).
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import type { DesiredStateStore } from '../state/desired-state-store.js';

/** An EntryFailure as ReportStatus stored it (the generated type, through JSON). */
interface StoredFailure {
  key?: { key?: { $case?: string; value?: unknown } };
}

/**
 * `advertised`: the labels the node's routes are advertised with now, read
 * only when the agent's applied generation is older than the ones kept (it
 * is far behind, so what it installed is not known): then a label already
 * advertised stays advertised while the latest desired state still has its
 * LFIB entry (withdrawing it would cut traffic that flows), and a new one
 * waits for a report of a kept generation.
 */
export async function installedLabels(prisma: PrismaClient, store: DesiredStateStore, node: string, advertised: () => Promise<Set<number>>): Promise<Set<number>> {
  const status = await prisma.agentStatus.findUnique({ where: { nodeId: node }, select: { appliedGeneration: true, failures: true } });
  if (!status || status.appliedGeneration === 0n) return new Set();
  const failed = new Set<number>();
  for (const f of (Array.isArray(status.failures) ? status.failures : []) as StoredFailure[]) {
    const k = f?.key?.key;
    if (k?.$case === 'inLabel' && typeof k.value === 'number') failed.add(k.value);
  }
  const applied = await store.at(node, Number(status.appliedGeneration));
  let labels = applied?.state.lfibEntries.map((e) => e.inLabel);
  if (!labels) {
    const [latest, now] = await Promise.all([store.latest(node), advertised()]);
    labels = (latest?.state.lfibEntries ?? []).map((e) => e.inLabel).filter((l) => now.has(l));
  }
  return new Set(labels.filter((l) => !failed.has(l)));
}

/**
 * A ReportStatus hook: queues the node's reconcile when what its agent has
 * installed changed (another generation, other failures), so the routes
 * waiting for it are advertised. Agents also report periodically; those
 * repeats queue nothing (per process: a report reaching another replica
 * queues the node once there, which is harmless).
 */
export function wakeOnInstall(enqueue: (nodes: string[]) => Promise<unknown>, onError: (err: Error, node: string) => void): (node: string, generation: number, failures: number) => void {
  const seen = new Map<string, string>();
  return (node, generation, failures) => {
    const mark = `${generation}/${failures}`;
    if (seen.get(node) === mark) return;
    seen.set(node, mark);
    enqueue([node]).catch((err: Error) => {
      seen.delete(node);
      onError(err, node);
    });
  };
}
