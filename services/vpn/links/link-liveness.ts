// The controller's side of core link liveness: each agent report's port
// states and link liveness (ReportStatusRequest.ports/links) update the
// operational state of the node's links (oper-state.ts) under a row lock,
// and a link that stops or starts carrying paths wakes every node's
// reconcile, as an inventory change does: transport paths are recomputed
// without the down links and pushed to the nodes whose paths change. A
// hold-down that ends is evaluated by a timer here, and again after a
// restart (held_down_until is stored).
//
// Micro-loop prevention by a local convergence delay (RFC 8333): when a
// link goes down, its two end nodes are the points of local repair, whose
// switches already send around the failure over the backups computed in
// advance. Were they to take the new paths before the other nodes, a
// packet could loop between an end and a neighbour still on the old paths
// (in the lab's ring: P1, whose remote LFA goes back through PE2, and PE2,
// which still sends through P1). So every other node is woken at once, and
// an end only after `localDelayMs`, and only when its current state has a
// backup for everything it sends out of the failed link (else it would
// black-hole for the delay). A link that comes back is the reverse: its
// ends are woken first and the others after the delay (the ends-first step
// of ordered FIB updates, RFC 6976, for a new link).
import { LinkLivenessState, type LinkLiveness as PbLinkLiveness, type PortState } from '../../common/gen/proto/l3vpn/v1/agent.js';
import type { Logger } from '../../common/logger.js';
import type { LinkOperRecord, LinkOperStore } from '../store/link-oper-store.js';
import { agentAbsent, counted, evaluate, type AgentPresence, type DampingSettings, type EndReport, type OperOutcome } from './oper-state.js';

export interface LinkLivenessDeps {
  links: LinkOperStore;
  settings: DampingSettings;
  log: Logger;
  /** Queues a reconcile of these nodes. */
  wake: (nodes: string[]) => Promise<void>;
  /** The watch streams of these nodes' agents (AgentReports.watches): a BFD down towards an absent agent is not counted (oper-state.ts `counted`). */
  presence?: (nodes: readonly string[]) => Promise<Map<string, AgentPresence>>;
  /** RFC 8333 local convergence delay of a failed link's ends (0: none). */
  localDelayMs?: number;
  /** Whether a node's current state backs up everything it sends out of `itf` (alternates.ts protectsInterface). */
  protects?: (node: string, itf: string) => Promise<boolean>;
  /** Counts operational changes (metrics). */
  onChange?: (link: string, status: 'up' | 'down') => void;
  now?: () => Date;
}

/** What one end's report says about its link: from its liveness (port and BFD), else its port state; null when it says nothing. */
export function endReport(itf: string, ports: readonly PortState[], links: readonly PbLinkLiveness[]): EndReport | null {
  const l = links.find((x) => x.interface === itf);
  if (l) {
    if (l.state === LinkLivenessState.LINK_LIVENESS_STATE_DOWN) {
      const p = ports.find((x) => x.interface === itf);
      return { down: true, reason: l.reason || 'down', ...(l.bfd && (!p || p.up) ? { bfdOnly: true } : {}) };
    }
    // Init: BFD not up yet (the other agent may not run it): the port decides.
    if (l.state === LinkLivenessState.LINK_LIVENESS_STATE_UP || l.state === LinkLivenessState.LINK_LIVENESS_STATE_INIT) {
      const p = ports.find((x) => x.interface === itf);
      if (p && !p.up) return { down: true, reason: `port down: ${p.reason}` };
      return { down: false, reason: null };
    }
  }
  const p = ports.find((x) => x.interface === itf);
  if (p) return p.up ? { down: false, reason: null } : { down: true, reason: `port down: ${p.reason}` };
  return null;
}

export class LinkLivenessTracker {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Delayed wakes of failed links' ends (RFC 8333). */
  private readonly delayed = new Set<NodeJS.Timeout>();
  /** Ends of failed links whose new paths wait for the delay: node -> until (ms). */
  private readonly deferredUntil = new Map<string, number>();
  /** Link ends whose BFD down is being discounted (for logging once). */
  private readonly discounted = new Set<string>();
  private stopped = false;
  private readonly now: () => Date;

  constructor(private readonly d: LinkLivenessDeps) {
    this.now = d.now ?? (() => new Date());
  }

  /** Schedules the hold-downs a previous run left pending. */
  async start(): Promise<void> {
    for (const l of await this.d.links.heldDown()) this.schedule(l.id, l.until);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const t of this.delayed) clearTimeout(t);
    this.delayed.clear();
    this.deferredUntil.clear();
  }

  /** One agent report: the node's links take what it says about their ends. Never throws (logs). */
  async report(node: string, ports: readonly PortState[], links: readonly PbLinkLiveness[]): Promise<void> {
    if (!ports.length && !links.length) return;
    try {
      const mine = await this.d.links.ofNode(node);
      const ends = mine.flatMap((link) => {
        const end = link.aNode === node ? ('a' as const) : ('b' as const);
        const raw = endReport(end === 'a' ? link.aInterface : link.bInterface, ports, links);
        return raw ? [{ link, end, far: end === 'a' ? link.bNode : link.aNode, raw }] : [];
      });
      const bfdDown = ends.filter((e) => e.raw.bfdOnly && e.raw.down);
      const presence = bfdDown.length && this.d.presence ? await this.d.presence(bfdDown.map((e) => e.far)) : new Map<string, AgentPresence>();
      const now = this.now();
      for (const { link, end, far, raw } of ends) {
        const r = counted(raw, agentAbsent(presence.get(far), now));
        this.noteDiscount(link.id, node, far, raw, r);
        // Most reports repeat what is stored: no transaction for those.
        const stored = link.oper[end];
        if (stored && stored.down === r.down && stored.reason === r.reason && link.oper.status !== 'UNKNOWN' && !link.oper.heldDownUntil) continue;
        await this.update(link.id, (l) => (l.aNode === node || l.bNode === node ? { end: l.aNode === node ? 'a' : 'b', report: r } : undefined));
      }
    } catch (err) {
      this.d.log.warn({ err: (err as Error).message, node }, 'link liveness from an agent report not recorded');
    }
  }

  /** Logs once when a BFD down starts or stops being discounted because the far agent is absent. */
  private noteDiscount(link: string, node: string, far: string, raw: EndReport, r: EndReport): void {
    const key = `${link} ${node}`;
    const discounted = raw.down && !r.down;
    if (discounted === this.discounted.has(key)) return;
    if (discounted) {
      this.discounted.add(key);
      this.d.log.warn({ link, node, reason: raw.reason, agent: far }, `BFD down not counted: the agent of ${far} is gone or just came back, so its BFD says nothing of the link; its data plane forwards headless and the link keeps carrying paths (port state still counts)`);
    } else {
      this.discounted.delete(key);
      this.d.log.info({ link, node, down: raw.down }, 'BFD of the link counted again');
    }
  }

  private schedule(id: string, at: Date): void {
    if (this.stopped) return;
    clearTimeout(this.timers.get(id));
    const t = setTimeout(() => {
      this.timers.delete(id);
      this.update(id, () => undefined).catch((err: Error) => this.d.log.warn({ err: err.message, link: id }, 'link hold-down not evaluated'));
    }, Math.max(0, at.getTime() - this.now().getTime()));
    t.unref();
    this.timers.set(id, t);
  }

  /** Evaluates one link under its row lock; wakes the nodes when it starts or stops carrying paths. */
  private async update(id: string, what: (l: LinkOperRecord) => { end: 'a' | 'b'; report: EndReport } | undefined): Promise<void> {
    const result = await this.d.links.update(id, (l) => {
      const out: OperOutcome = evaluate(l.oper, this.now(), this.d.settings, what(l), { a: `${l.aNode} ${l.aInterface}`, b: `${l.bNode} ${l.bInterface}` });
      return { next: out.next, result: { out, before: l.oper, link: l } };
    });
    if (!result) return;
    const { out } = result;
    if (out.wakeAt) this.schedule(id, out.wakeAt);
    if (!out.transportChanged) {
      if (out.next.heldDownUntil && !result.before.heldDownUntil) this.d.log.info({ link: id, reason: out.next.reason }, 'core link is up again; held down before it carries paths');
      return;
    }
    const status = out.next.status === 'DOWN' ? 'down' : 'up';
    const fields = { link: id, operStatus: status, reason: out.next.reason ?? undefined, penalty: Math.round(out.next.penalty) };
    if (status === 'down') this.d.log.warn(fields, 'core link operationally down; transport paths recomputed without it');
    else this.d.log.info(fields, 'core link operationally up again; transport paths recomputed with it');
    this.d.onChange?.(id, status);
    const nodes = await this.d.links.nodeIds();
    const delay = this.d.localDelayMs ?? 0;
    const l = result.link;
    if (status === 'down' && delay > 0 && this.d.protects) {
      const ends: string[] = [];
      for (const [node, itf] of [[l.aNode, l.aInterface], [l.bNode, l.bInterface]] as const) {
        // A state that cannot be read counts as unprotected: the end is woken at once (a micro-loop risk, never a black hole).
        const protects = await this.d.protects(node, itf).catch((err: Error) => {
          this.d.log.warn({ err: err.message, link: id, node }, 'cannot tell whether the end backs up the failed link; waking it at once');
          return false;
        });
        if (protects) ends.push(node);
      }
      if (ends.length) {
        const until = Date.now() + delay;
        for (const n of ends) this.deferredUntil.set(n, Math.max(until, this.deferredUntil.get(n) ?? 0));
        this.wakeLater(id, ends, delay);
        this.d.log.info({ link: id, nodes: ends, delayMs: delay }, 'ends of a failed link repair locally; their new paths follow after the local convergence delay (RFC 8333)');
        await this.d.wake(nodes.filter((n) => !ends.includes(n)));
        return;
      }
    }
    if (status === 'up' && delay > 0) {
      // The reverse order for a link that returns: its ends first, the others once the ends use it (else a node
      // sending towards an end over the link would meet an end still sending back over the old path).
      const ends = [l.aNode, l.bNode];
      await this.d.wake(ends);
      this.wakeLater(id, nodes.filter((n) => !ends.includes(n)), delay);
      return;
    }
    await this.d.wake(nodes);
  }

  /**
   * Whether a node's reconcile waits for the local convergence delay of a
   * failed link it ends: its own agent report (which wakes it) must not
   * bring it the new paths before the delay.
   */
  deferred(node: string): boolean {
    const until = this.deferredUntil.get(node);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.deferredUntil.delete(node);
    return false;
  }

  private wakeLater(link: string, nodes: string[], delay: number): void {
    const t = setTimeout(() => {
      this.delayed.delete(t);
      if (this.stopped) return;
      this.d.wake(nodes).catch((err: Error) => this.d.log.warn({ err: err.message, link, nodes }, 'delayed reconcile after a link change not queued'));
    }, delay);
    t.unref();
    this.delayed.add(t);
  }
}
