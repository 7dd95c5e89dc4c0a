// Whether what a node should forward does forward: its latest desired state
// against the generation its agent last reported applied, minus the entries
// it reported failed, with the ports it reported down and whether it is
// still heard from. Pure (no I/O, the clock is an input). The reconcile asks
// it what may be advertised (install-before-advertise: everything a route
// needs at its egress PE) and which status each site, VRF and the node has
// (DESIGN, "Failure, status and trust").
import type { DesiredStateEntryKey, NodeDesiredState, VrfInstance } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { messageEquals } from '../../common/desired-state/index.js';

/** The database's status values (Prisma enum ResourceStatus). */
export type StatusValue = 'PENDING' | 'PROVISIONING' | 'ACTIVE' | 'DEGRADED' | 'DOWN' | 'UNREACHABLE' | 'FAILED';

export interface DerivedStatus {
  status: StatusValue;
  reason: string | null;
}

/** What the agent last said, as stored from ReportStatus. */
export interface AgentReport {
  appliedGeneration: number;
  /** Entries not installed as desired: the entry's key (entryKeyText) and the driver's reason. */
  failures: { key: string; reason: string }[];
  ports: { interface: string; up: boolean; reason: string }[];
  /** When the controller last heard from it (any report, heartbeats too). */
  lastSeenAt: Date;
}

export interface ForwardingInput {
  node: string;
  /** The newest stored desired state; undefined before the first. */
  latest: { generation: number; state: NodeDesiredState } | undefined;
  /** The desired state of the generation the agent applied, when still stored. */
  applied: NodeDesiredState | undefined;
  report: AgentReport | undefined;
  /**
   * The labels the node's routes are advertised with now; consulted only
   * when the applied generation is no longer stored (so what the agent holds
   * is not known): an advertised label still desired stays, nothing is new.
   */
  advertised?: ReadonlySet<number>;
  now: Date;
  /** vpn.agent-timeout-seconds in ms. */
  agentTimeoutMs: number;
}

export type Readiness = { state: 'ready' } | { state: 'pending' | 'failed' | 'down'; reason: string };

const READY: Readiness = { state: 'ready' };
const RANK = { ready: 0, pending: 1, down: 2, failed: 3 } as const;

/** The worst of several: failed > down > pending > ready (the first reason of the worst kind). */
export function worst(all: Iterable<Readiness>): Readiness {
  let out = READY;
  for (const r of all) if (RANK[r.state] > RANK[out.state]) out = r;
  return out;
}

/** One text per entry key, as failures are matched: "vrf:red", "route:red 10.0.0.0/8", "label:100", "path:pe2". */
export function entryKeyText(key: DesiredStateEntryKey | undefined): string | undefined {
  const k = key?.key;
  switch (k?.$case) {
    case 'vrf':
      return `vrf:${k.value}`;
    case 'vrfRoute':
      return `route:${k.value.vrf} ${k.value.prefix}`;
    case 'inLabel':
      return `label:${k.value}`;
    case 'transportPath':
      return `path:${k.value}`;
    default:
      return undefined;
  }
}

export class NodeForwarding {
  private readonly failed = new Map<string, string>();
  private readonly portsDown = new Map<string, string>();

  constructor(private readonly i: ForwardingInput) {
    for (const f of i.report?.failures ?? []) if (!this.failed.has(f.key)) this.failed.set(f.key, f.reason);
    for (const p of i.report?.ports ?? []) if (!p.up) this.portsDown.set(p.interface, p.reason || 'down');
  }

  get node(): string {
    return this.i.node;
  }

  /** When the agent went silent for longer than the timeout: its last report's time; undefined while it is heard from (or never was). */
  get unreachableSince(): Date | undefined {
    const r = this.i.report;
    if (!r) return undefined;
    return this.i.now.getTime() - r.lastSeenAt.getTime() > this.i.agentTimeoutMs ? r.lastSeenAt : undefined;
  }

  /** Why something not yet installed waits. */
  waiting(): string {
    const { node, report, latest } = this.i;
    if (!report) return `waiting for the agent of ${node} (it has not reported yet)`;
    const since = this.unreachableSince;
    if (since) return `waiting for the agent of ${node}: unreachable since ${since.toISOString()}`;
    return `waiting for the agent of ${node} to apply generation ${latest?.generation ?? 0} (it applied ${report.appliedGeneration})`;
  }

  private pending(): Readiness {
    return { state: 'pending', reason: this.waiting() };
  }

  private failure(key: string): Readiness | undefined {
    const reason = this.failed.get(key);
    return reason === undefined ? undefined : { state: 'failed', reason: `${this.i.node}: ${reason}` };
  }

  /** The agent's applied generation is known to the store (else only the advertised-label fallback applies). */
  private get appliedKnown(): boolean {
    return this.i.applied !== undefined && (this.i.report?.appliedGeneration ?? 0) > 0;
  }

  /** A VRF, and if given the interface a site hangs off it (name, VLAN, the PE's addresses on it). */
  vrf(name: string, itf?: { name: string; vlan: number }): Readiness {
    const failed = this.failure(`vrf:${name}`);
    if (failed) return failed;
    const want = this.i.latest?.state.vrfs.find((v) => v.name === name);
    if (!want) return this.pending();
    if (!this.appliedKnown) return this.pending();
    const have = this.i.applied!.vrfs.find((v) => v.name === name);
    if (!have || have.tableId !== want.tableId) return this.pending();
    if (!itf) return READY;
    const wanted = interfaceOf(want, itf);
    const held = interfaceOf(have, itf);
    if (!wanted || !held || !wanted.addresses.every((a) => held.addresses.includes(a))) return this.pending();
    return READY;
  }

  /** An entry of the latest desired state, installed as the latest wants it and not failed. */
  private entry(key: string, find: (s: NodeDesiredState) => unknown): Readiness {
    const failed = this.failure(key);
    if (failed) return failed;
    const want = this.i.latest && find(this.i.latest.state);
    if (!want) return this.pending();
    if (!this.appliedKnown) return this.pending();
    return messageEquals(find(this.i.applied!), want) ? READY : this.pending();
  }

  /** An LFIB entry (a VPN label) of the node. */
  label(inLabel: number): Readiness {
    if (!this.appliedKnown && this.i.report?.appliedGeneration) {
      const failed = this.failure(`label:${inLabel}`);
      if (failed) return failed;
      const desired = this.i.latest?.state.lfibEntries.some((e) => e.inLabel === inLabel);
      return desired && this.i.advertised?.has(inLabel) ? READY : this.pending();
    }
    return this.entry(`label:${inLabel}`, (s) => s.lfibEntries.find((e) => e.inLabel === inLabel));
  }

  /** A port of the node as its agent reported it. */
  port(name: string): Readiness {
    const reason = this.portsDown.get(name);
    return reason === undefined ? READY : { state: 'down', reason: `${this.i.node}: ${name} is down: ${reason}` };
  }

  /**
   * A route the node originates, at this egress PE: its VRF with the
   * CE-facing interface, the VRF route that delivers it, the LFIB entry of
   * its label, and the CE-facing port up (RFC 4364 §4.3.2: the label must
   * lead somewhere before anyone sends to it).
   */
  route(vrf: string, prefix: string, label?: number): Readiness {
    const want = this.i.latest?.state.vrfRoutes.find((r) => r.vrf === vrf && r.prefix === prefix);
    const local = want?.nextHop?.$case === 'local' ? want.nextHop.value : undefined;
    const parts: Readiness[] = [];
    if (!this.appliedKnown && this.i.report?.appliedGeneration) {
      // Far behind: only what is advertised and still desired is taken as installed.
      parts.push(label === undefined ? this.pending() : this.label(label));
    } else {
      parts.push(this.vrf(vrf, local ? { name: local.interface, vlan: local.vlan } : undefined));
      parts.push(this.entry(`route:${vrf} ${prefix}`, (s) => s.vrfRoutes.find((r) => r.vrf === vrf && r.prefix === prefix)));
      if (label !== undefined) parts.push(this.label(label));
    }
    if (local) parts.push(this.port(local.interface));
    return worst(parts);
  }

  /**
   * Of a VRF's prefixes, those this egress PE delivers traffic for, given
   * the labels that traffic comes with (PE-CE eBGP export gating): the VRF
   * and the labels' LFIB entries installed, and some route for the prefix
   * installed in the VRF and not failed (a changed next hop keeps
   * delivering while its replacement installs, so the VPN route does not
   * flap). Undefined while what the agent applied is not known (it has not
   * reported since it restarted, or is far behind): nothing is said then,
   * rather than withdrawing what it keeps forwarding.
   */
  delivered(vrf: string, prefixes: readonly string[], labels: readonly number[]): string[] | undefined {
    if (!this.appliedKnown) return undefined;
    if (this.vrf(vrf).state !== 'ready') return [];
    if (!labels.every((l) => this.label(l).state === 'ready')) return [];
    const installed = new Set(this.i.applied!.vrfRoutes.filter((r) => r.vrf === vrf).map((r) => r.prefix));
    return prefixes.filter((p) => installed.has(p) && !this.failure(`route:${vrf} ${p}`));
  }

  /** Routes of the VRF learnt from remote PEs (BGP) that the agent failed to install. */
  remoteRouteFailures(vrf: string): Readiness {
    const parts: Readiness[] = [];
    for (const r of this.i.latest?.state.vrfRoutes ?? []) {
      if (r.vrf !== vrf || r.nextHop?.$case !== 'remote') continue;
      const failed = this.failure(`route:${vrf} ${r.prefix}`);
      if (failed) parts.push(failed);
    }
    return worst(parts);
  }

  /** The node itself: heard from, and its latest generation applied with no failure. */
  nodeStatus(): DerivedStatus {
    const { node, report, latest } = this.i;
    if (!report) return { status: 'PROVISIONING', reason: this.waiting() };
    const since = this.unreachableSince;
    if (since) {
      const silent = Math.round((this.i.now.getTime() - since.getTime()) / 1000);
      return { status: 'UNREACHABLE', reason: `no word from the agent of ${node} since ${since.toISOString()} (${silent} s); what it installed keeps forwarding` };
    }
    if (this.failed.size) {
      const [first] = this.failed.values();
      const more = this.failed.size > 1 ? ` (and ${this.failed.size - 1} more failed entries)` : '';
      return { status: 'DEGRADED', reason: `${node}: ${first}${more}` };
    }
    if (latest && report.appliedGeneration !== latest.generation) return { status: 'PROVISIONING', reason: this.waiting() };
    return { status: 'ACTIVE', reason: null };
  }

  /** A site's or a VRF's status from the readiness of what it needs here. */
  statusOf(r: Readiness): DerivedStatus {
    if (r.state === 'pending') return { status: 'PROVISIONING', reason: r.reason };
    if (r.state === 'failed') return { status: 'FAILED', reason: r.reason };
    if (r.state === 'down') return { status: 'DOWN', reason: r.reason };
    const since = this.unreachableSince;
    if (since) return { status: 'UNREACHABLE', reason: `the agent of ${this.i.node} is unreachable since ${since.toISOString()}; what it installed keeps forwarding` };
    return { status: 'ACTIVE', reason: null };
  }
}

function interfaceOf(v: VrfInstance, itf: { name: string; vlan: number }) {
  return v.interfaces.find((i) => i.name === itf.name && i.vlan === itf.vlan);
}

const BAD = new Set<StatusValue>(['FAILED', 'DOWN', 'DEGRADED']);

/**
 * The status of something made of parts (a VRF of its own entry and its
 * sites; a VPN of its VRFs): the parts' common status when they agree;
 * `degraded` when some part failed, is down, degraded or unreachable while
 * another is not; else `provisioning` while a part waits.
 */
export function aggregate(parts: readonly DerivedStatus[]): DerivedStatus {
  if (!parts.length) return { status: 'ACTIVE', reason: null };
  const first = parts[0]!.status;
  if (parts.every((p) => p.status === first)) return { status: first, reason: parts.find((p) => p.reason)?.reason ?? null };
  const bad = parts.find((p) => BAD.has(p.status)) ?? parts.find((p) => p.status === 'UNREACHABLE');
  if (bad) return { status: 'DEGRADED', reason: bad.reason };
  const waiting = parts.find((p) => p.status === 'PROVISIONING' || p.status === 'PENDING')!;
  return { status: 'PROVISIONING', reason: waiting.reason };
}

/**
 * Whether a report says something new for status (another applied
 * generation, other failures or ports), or ends a silence: then the node is
 * reconciled again. Repeats (heartbeats) change nothing.
 */
export function reportMatters(previous: AgentReport | undefined, next: AgentReport, agentTimeoutMs: number): boolean {
  if (!previous) return true;
  if (previous.appliedGeneration !== next.appliedGeneration) return true;
  if (next.lastSeenAt.getTime() - previous.lastSeenAt.getTime() > agentTimeoutMs) return true;
  const failures = (r: AgentReport) => r.failures.map((f) => `${f.key}\u0000${f.reason}`).sort().join('\u0001');
  const ports = (r: AgentReport) => r.ports.map((p) => `${p.interface}\u0000${p.up}\u0000${p.up ? '' : p.reason}`).sort().join('\u0001');
  return failures(previous) !== failures(next) || ports(previous) !== ports(next);
}
