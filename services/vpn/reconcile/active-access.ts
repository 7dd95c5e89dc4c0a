// Which access of each multi-homed single-active site of a node carries its
// traffic (domain/site-access.ts activeAccess), decided in the node's
// reconcile from the accesses' failures as the agents report them: an
// access has failed when its CE-facing port is reported down or its PE's
// agent is silent (unreachable). The decision is stored (it must outlive a
// restart: on a non-revertive site it depends on what was active before)
// and, on a non-revertive site, a change queues the PEs of its other
// accesses, whose LOCAL_PREFs follow it.
import type { Logger } from '../../common/logger.js';
import { activeAccess, hasBackups } from '../domain/site-access.js';
import type { NodeIntent, Site } from '../domain/node-intent.js';
import type { ChangeSink } from '../intent/intent-service.js';
import type { AgentReports } from '../state/agent-reports.js';
import type { NodeForwarding } from '../state/forwarding.js';
import type { ReconcileStore } from '../store/reconcile-store.js';

/** The accesses of the site that have failed: port reported down, or PE unreachable. */
export async function failedAccesses(site: Pick<Site, 'accesses'>, forwarding: (node: string) => Promise<NodeForwarding>): Promise<Set<string>> {
  const failed = new Set<string>();
  for (const a of site.accesses) {
    const view = await forwarding(a.node);
    if (view.port(a.interface).state === 'down' || view.unreachableSince) failed.add(a.id);
  }
  return failed;
}

export class ActiveAccesses {
  constructor(
    private readonly db: ReconcileStore,
    private readonly reports: AgentReports,
    private readonly sink: ChangeSink,
    private readonly log: Logger,
  ) {}

  /** The intent with each backed-up site's `activeAccess` as decided (and stored) now. */
  async decide(intent: NodeIntent): Promise<NodeIntent> {
    const sites = new Map<string, Site>();
    for (const vi of intent.vrfs) for (const s of vi.sites) if (hasBackups(s)) sites.set(s.id, s);
    if (!sites.size) return intent;
    const views = new Map<string, Promise<NodeForwarding>>();
    const forwarding = (node: string) => {
      if (!views.has(node)) views.set(node, this.reports.forwarding(node));
      return views.get(node)!;
    };
    const decided = new Map<string, string>();
    for (const site of sites.values()) {
      const failed = await failedAccesses(site, forwarding);
      const next = activeAccess(site, failed, site.activeAccess)!;
      decided.set(site.id, next);
      if (next === site.activeAccess) continue;
      // A revertive site's LOCAL_PREFs do not follow the stored access (the primary's are preferred whenever advertised).
      const others = site.revertive === false ? [...new Set(site.accesses.map((a) => a.node).filter((n) => n !== intent.node.id))].sort() : [];
      const stored = await this.db.activateAccess(site.id, site.activeAccess, next, others);
      if (!stored) throw new Error(`the active access of site ${site.id} changed during the reconcile of ${intent.node.id}; retrying`);
      this.log.info({ site: site.id, from: site.activeAccess ?? null, to: next, failed: [...failed], revertive: site.revertive !== false }, 'site active access changed');
      if (stored.outboxId !== undefined) await this.sink.committed(stored.outboxId, others).catch((err: Error) => this.log.warn({ err: err.message, site: site.id }, 'PEs of the site left to the outbox relay'));
    }
    return { ...intent, vrfs: intent.vrfs.map((vi) => ({ ...vi, sites: vi.sites.map((s) => (decided.has(s.id) ? { ...s, activeAccess: decided.get(s.id)! } : s)) })) };
  }
}
