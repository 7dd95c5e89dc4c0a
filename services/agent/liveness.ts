// What the agent tells the controller about its ports and core links: the
// operational state of every port its desired state names (CE-facing
// interfaces and core links) and each core link's liveness (port state and
// the link's BFD session). Reads ports when the driver signals a change and
// when asked (after each applied state, on each pass), and calls onChange
// as soon as anything it reports changes, so the controller learns of a cut
// link at once rather than on the next periodic pass.
import {
  type CoreLink,
  LinkLivenessState,
  type LinkLiveness,
  type NodeDesiredState,
  type PortState,
} from '../common/gen/proto/l3vpn/v1/agent.js';
import { messageEquals } from '../common/desired-state/index.js';
import type { Driver } from './driver.js';
import type { AgentLog } from './agent.js';
import { BfdState } from './bfd/packet.js';
import { BfdSessions, type BfdClock, type BfdPeer } from './bfd/sessions.js';
import type { BfdTimers } from './bfd/session.js';

export interface LivenessOptions {
  driver: Driver;
  /** BFD timers; undefined: no BFD (links judged by port state alone). */
  bfd?: BfdTimers;
  log?: AgentLog;
  clock?: BfdClock;
  /** Something reported changed. */
  onChange: () => void;
  /** How often to read the ports of a driver that does not signal their changes (linux). */
  portPollMs?: number;
}

interface CoreLinkWatch {
  interface: string;
  bfd: BfdPeer | undefined;
}

const addressOnly = (a: string) => a.split('/')[0] ?? '';

export class LinkMonitor {
  private readonly driver: Driver;
  private readonly sessions: BfdSessions | undefined;
  private portNames: string[] = [];
  private coreLinks: CoreLinkWatch[] = [];
  private watchedCore: readonly CoreLink[] = [];
  private ports = new Map<string, PortState>();
  private reported: { ports: PortState[]; links: LinkLiveness[] } = { ports: [], links: [] };
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private closed = false;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: LivenessOptions) {
    this.driver = o.driver;
    const io = o.driver.coreIo;
    this.sessions = o.bfd && io ? new BfdSessions(io, o.bfd, (view) => this.sessionChanged(view.peer.interface, view.reason, view.state), o.clock) : undefined;
    o.driver.onPortChange(() => void this.refresh());
    if (!o.driver.signalsPortChanges && o.portPollMs) {
      this.pollTimer = setInterval(() => void this.refresh(), o.portPollMs);
      this.pollTimer.unref();
    }
  }

  /** Takes the ports and core links a (new) desired state names. */
  async watch(state: NodeDesiredState | undefined): Promise<void> {
    if (!state) return;
    const core = state.transport?.coreLinks ?? [];
    const names = new Set<string>(core.map((l) => l.interface));
    for (const v of state.vrfs) for (const i of v.interfaces) names.add(i.name);
    const portNames = [...names].sort();
    if (messageEquals(portNames, this.portNames) && messageEquals(core, this.watchedCore)) return this.refresh();
    this.portNames = portNames;
    this.watchedCore = core;
    this.coreLinks = core.map((l) => ({
      interface: l.interface,
      // RFC 5881 runs between the two addresses of the link: an unnumbered link has no session.
      bfd: l.address && l.neighborAddress ? { interface: l.interface, local: addressOnly(l.address), remote: l.neighborAddress } : undefined,
    }));
    if (this.sessions) {
      try {
        await this.sessions.setPeers(this.coreLinks.flatMap((l) => (l.bfd ? [l.bfd] : [])));
      } catch (err) {
        this.o.log?.warn({ err }, 'could not set up BFD on the core links');
      }
    }
    await this.refresh();
  }

  /** Reads the ports now; calls onChange if the report changes. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          const states = await this.driver.portStates(this.portNames);
          this.ports = new Map(states.map((p) => [p.interface, p]));
        } catch (err) {
          this.o.log?.warn({ err }, 'could not read port states');
        }
        this.publish();
      } while (this.refreshAgain && !this.closed);
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** The ports and links to report. */
  report(): { ports: PortState[]; links: LinkLiveness[] } {
    return this.reported;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.pollTimer);
    this.sessions?.close();
  }

  private sessionChanged(itf: string, reason: string, state: BfdState): void {
    const level = state === BfdState.UP ? 'info' : 'warn';
    this.o.log?.[level]({ interface: itf, reason }, 'BFD session state changed');
    this.publish();
  }

  private linkOf(l: CoreLinkWatch): LinkLiveness {
    const port = this.ports.get(l.interface);
    const session = l.bfd ? this.sessions?.view(l.interface) : undefined;
    const bfd = session !== undefined;
    if (port && !port.up) return { interface: l.interface, state: LinkLivenessState.LINK_LIVENESS_STATE_DOWN, reason: `port down: ${port.reason}`, bfd };
    if (!session) {
      return port
        ? { interface: l.interface, state: LinkLivenessState.LINK_LIVENESS_STATE_UP, reason: '', bfd }
        : { interface: l.interface, state: LinkLivenessState.LINK_LIVENESS_STATE_INIT, reason: 'port state not read yet', bfd };
    }
    if (session.state === BfdState.UP) return { interface: l.interface, state: LinkLivenessState.LINK_LIVENESS_STATE_UP, reason: '', bfd };
    // RFC 5882 §3.2: a remote that went AdminDown (its agent stopped; the data plane keeps forwarding) is no failure: the port decides.
    if (session.neighborAdminDown) return { interface: l.interface, state: LinkLivenessState.LINK_LIVENESS_STATE_INIT, reason: `${session.reason} (the neighbour stopped BFD: the port state decides)`, bfd };
    // Down after having been Up is a failure; before the first Up it is a session still coming up.
    if (session.everUp) return { interface: l.interface, state: LinkLivenessState.LINK_LIVENESS_STATE_DOWN, reason: session.reason, bfd };
    return { interface: l.interface, state: LinkLivenessState.LINK_LIVENESS_STATE_INIT, reason: session.reason, bfd };
  }

  private publish(): void {
    if (this.closed) return;
    const next = {
      // A port not read yet is not reported: the controller takes silence as "no news", never as down.
      ports: this.portNames.flatMap((n) => this.ports.get(n) ?? []),
      links: this.coreLinks.map((l) => this.linkOf(l)),
    };
    if (messageEquals(next, this.reported)) return;
    for (const l of next.links) {
      const before = this.reported.links.find((x) => x.interface === l.interface);
      if (before?.state !== l.state) this.o.log?.info({ interface: l.interface, state: LinkLivenessState[l.state], reason: l.reason, bfd: l.bfd }, 'core link liveness changed');
    }
    this.reported = next;
    this.o.onChange();
  }
}
