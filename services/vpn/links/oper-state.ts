// A core link's operational state from what the agents at its two ends
// report (port state, BFD), with the hold-down that dampens a flapping
// link. Pure: rows in, rows out, time passed in.
//
// A link is down as soon as either end says so. It is used again only after
// it has been seen up for a hold-down, and for longer while it flaps: every
// up -> down transition adds a penalty that decays exponentially (the
// figure of merit of RFC 2439 §4.2, as IGP link dampening applies it to
// adjacencies); above `suppress` the link stays down until the penalty has
// decayed to `reuse`, never longer than `maxHoldDownMs`.

export type OperStatus = 'UNKNOWN' | 'UP' | 'DOWN';

/** One end's last report: down (with the agent's reason) or up. */
export interface EndReport {
  down: boolean;
  reason: string | null;
  /** Down by BFD alone: the port is up (not stored; see `counted`). */
  bfdOnly?: boolean;
}

/** An agent's watch stream as the controller saw it (table agent_watch). */
export interface AgentPresence {
  startedAt: Date;
  endedAt: Date | null;
  previousEndedAt: Date | null;
}

/**
 * How long after a gone agent came back its neighbours' BFD sessions may
 * still be down: its own sessions start over with 1 s intervals (RFC 5880
 * §6.8.3) and need a packet each way before either side is Up.
 */
export const AGENT_RETURN_GRACE_MS = 10_000;

/** Whether the node's agent is gone (its watch stream ended) or came back too recently for its BFD sessions to be up. */
export function agentAbsent(p: AgentPresence | undefined, now: Date): boolean {
  if (!p) return false;
  if (p.endedAt) return true;
  return p.previousEndedAt !== null && now.getTime() - p.startedAt.getTime() < AGENT_RETURN_GRACE_MS;
}

/**
 * One end's report as evidence about the link, given whether the agent at
 * the far end is absent. BFD runs in the agents, not in the data plane: a
 * session that went down while the far agent is gone (a killed agent's
 * stream ends at once; its BFD stops with it) shows that the agent stopped,
 * not the link. Its data plane goes on forwarding headless, and taking its
 * links out of the paths would cut that traffic — the case RFC 5882 §3.2
 * makes for AdminDown, which a killed agent never sends. A port that is down
 * always counts.
 */
export function counted(report: EndReport, farAgentAbsent: boolean): EndReport {
  return report.down && report.bfdOnly && farAgentAbsent ? { down: false, reason: null } : { down: report.down, reason: report.reason };
}

export interface LinkOper {
  status: OperStatus;
  reason: string | null;
  changedAt: Date | null;
  a: EndReport | null;
  b: EndReport | null;
  penalty: number;
  penaltyAt: Date | null;
  heldDownUntil: Date | null;
}

export interface DampingSettings {
  /** How long a link that came back must stay up before it carries paths again. */
  holdDownMs: number;
  /** Half-life of the flap penalty. */
  halfLifeMs: number;
  /** Penalty above which a link that came back stays down (suppressed) ... */
  suppress: number;
  /** ... until it has decayed to this. */
  reuse: number;
  /** The longest a link that is up is held down. */
  maxHoldDownMs: number;
}

/** Penalty of one flap (RFC 2439 §4.2's figure of merit per withdrawal). */
export const FLAP_PENALTY = 1000;

export interface OperOutcome {
  next: LinkOper;
  /** Whether the link went from carrying paths to not, or back: transport must be recomputed. */
  transportChanged: boolean;
  /** When to evaluate again (the hold-down ends); undefined when nothing waits. */
  wakeAt: Date | undefined;
}

/** The penalty at `now`, decayed from when it was last raised. */
export function decayedPenalty(o: Pick<LinkOper, 'penalty' | 'penaltyAt'>, now: Date, s: DampingSettings): number {
  if (!o.penaltyAt || o.penalty <= 0) return 0;
  const elapsed = Math.max(0, now.getTime() - o.penaltyAt.getTime());
  return o.penalty * 2 ** (-elapsed / s.halfLifeMs);
}

/** How long a link with this penalty is held down once it is up again. */
export function holdDownFor(penalty: number, s: DampingSettings): { ms: number; suppressed: boolean } {
  if (penalty < s.suppress) return { ms: Math.min(s.holdDownMs, s.maxHoldDownMs), suppressed: false };
  const decay = s.halfLifeMs * Math.log2(penalty / s.reuse);
  return { ms: Math.min(Math.max(s.holdDownMs, decay), s.maxHoldDownMs), suppressed: true };
}

const carries = (s: OperStatus) => s !== 'DOWN';

/**
 * The link after one end's report (`end` and `report`), or after time has
 * passed (`report` undefined: a hold-down may have ended). `names` name the
 * ends in reasons ("PE1 core0").
 */
export function evaluate(
  current: LinkOper,
  now: Date,
  s: DampingSettings,
  update?: { end: 'a' | 'b'; report: EndReport },
  names: { a: string; b: string } = { a: 'a', b: 'b' },
): OperOutcome {
  const next: LinkOper = { ...current };
  if (update) next[update.end] = update.report;
  const downEnd = (['a', 'b'] as const).find((e) => next[e]?.down);
  const anyReport = next.a !== null || next.b !== null;
  const penalty = decayedPenalty(next, now, s);
  let wakeAt: Date | undefined;

  if (downEnd) {
    const reason = `${names[downEnd]}: ${next[downEnd]!.reason ?? 'down'}`;
    // A flap: the link was carrying paths, or had come back and was being held down.
    const flapped = next.status === 'UP' || (next.status === 'DOWN' && next.heldDownUntil !== null);
    if (flapped) {
      next.penalty = penalty + FLAP_PENALTY;
      next.penaltyAt = now;
    }
    if (next.status !== 'DOWN') next.changedAt = now;
    next.status = 'DOWN';
    next.reason = reason;
    next.heldDownUntil = null;
  } else if (anyReport) {
    if (next.status === 'UNKNOWN') {
      // First word from the link: nothing to dampen.
      next.status = 'UP';
      next.reason = null;
      next.changedAt = now;
    } else if (next.status === 'DOWN') {
      if (!next.heldDownUntil) {
        const h = holdDownFor(penalty, s);
        next.heldDownUntil = new Date(now.getTime() + h.ms);
        next.reason = h.suppressed
          ? `up again, suppressed by flap damping (penalty ${Math.round(penalty)}) until ${next.heldDownUntil.toISOString()}`
          : `up again, in hold-down until ${next.heldDownUntil.toISOString()}`;
      }
      if (now.getTime() >= next.heldDownUntil.getTime()) {
        next.status = 'UP';
        next.reason = null;
        next.changedAt = now;
        next.heldDownUntil = null;
      } else wakeAt = next.heldDownUntil;
    }
  }
  return { next, transportChanged: carries(current.status) !== carries(next.status), wakeAt };
}
