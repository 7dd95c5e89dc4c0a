// The agent's one connection to the controller: dials out, watches the
// node's desired state (AgentService.WatchDesiredState), feeds snapshots and
// deltas to the Agent one at a time, reports status after each, reconnects
// with exponential backoff, reconciles periodically, and sends a heartbeat
// (its status again, heartbeat=true) every `heartbeatMs` so the controller
// knows it is alive (vpn.agent-timeout-seconds). While the
// controller is away nothing is removed: the node forwards with what it has
// (headless mode). Without a credential but with a join token it enrols
// first (AgentService.Enroll), and it rotates its credential when told to
// (rotateCredential), saving each new one before using it (credential.ts).
import { Metadata, status, type ChannelCredentials, type ClientDuplexStream, type ClientReadableStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import {
  AgentServiceClient,
  type RelayCeSessionRequest,
  type RelayCeSessionResponse,
  type ReportStatusRequest,
  type WatchDesiredStateResponse,
} from '../common/gen/proto/l3vpn/v1/agent.js';
import type { Agent, AgentLog } from './agent.js';
import type { LinkMonitor } from './liveness.js';

export interface ControllerLinkOptions {
  agent: Agent;
  /** host:port of the controller's AgentService. */
  address: string;
  credentials: ChannelCredentials;
  /** The node's credential, sent as "authorization: Bearer <token>" (a fixed one; see `credential`). */
  token?: string;
  /** Where the credential comes from and goes to: enrolment with a join token, rotation (wins over `token`). */
  credential?: CredentialSource;
  log?: AgentLog & { error(obj: object, msg: string): void };
  /** Period of level-triggered reconciliation passes. */
  resyncMs: number;
  /** Period of heartbeats (agent.heartbeat-seconds); 0: none. */
  heartbeatMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  reportDeadlineMs?: number;
  keepaliveMs?: number;
  /** Test hook: called after each message handled, each loss and each report. */
  onEvent?: (event: LinkEvent) => void;
  metrics?: LinkMetrics;
  /** Port and core link state to report; its changes are reported at once (the monitor's onChange calls reportNow). */
  liveness?: LinkMonitor;
}

/** The agent's credential as the link uses it (NodeCredential in credential.ts). */
export interface CredentialSource {
  /** The credential to send; undefined: none (enrol first when there is a join token). */
  readonly current: string | undefined;
  /** The join token to enrol with when there is no credential. */
  readonly joinToken: string | undefined;
  /** Reads what the operator gives again (before each attempt to reach the controller). */
  refresh(): void;
  /** Keeps a new credential; it is `current` once this returns. */
  save(credential: string): Promise<void>;
}

/** What the link tells the agent's metrics (metrics.ts). */
export interface LinkMetrics {
  applied(kind: 'snapshot' | 'delta' | 'reconcile', seconds: number): void;
  driftRepaired(count: number): void;
}

export type LinkEvent =
  | { type: 'snapshot'; generation: number; changes: number }
  | { type: 'delta'; generation: number; outcome: string }
  | { type: 'lost'; code: number; details: string; retryInMs: number }
  | { type: 'reported'; generation: number; heartbeat: boolean }
  | { type: 'reconciled'; changes: number }
  | { type: 'enrolled' }
  | { type: 'rotated' };

export class ControllerLink {
  private readonly client: AgentServiceClient;
  private call: ClientReadableStream<WatchDesiredStateResponse> | undefined;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatDue = false;
  private reporting: Promise<void> | undefined;
  private reportAgain = false;
  private work: Promise<void> = Promise.resolve();
  private streaming = false;
  private readonly credential: CredentialSource;

  constructor(private readonly o: ControllerLinkOptions) {
    this.credential = o.credential ?? fixedCredential(o.token);
    const keepalive = o.keepaliveMs ?? 60_000;
    this.client = new AgentServiceClient(o.address, o.credentials, {
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      'grpc.keepalive_time_ms': keepalive,
      'grpc.keepalive_timeout_ms': Math.min(20_000, keepalive),
    });
  }

  start(): void {
    void this.o.liveness?.watch(this.o.agent.desiredState());
    this.connect();
    this.resyncTimer = setInterval(() => this.enqueue(() => this.periodic()), this.o.resyncMs);
    this.resyncTimer.unref();
    if (this.o.heartbeatMs) {
      // Not through the work queue: a long apply must not look like a dead agent.
      this.heartbeatTimer = setInterval(() => this.report(true), this.o.heartbeatMs);
      this.heartbeatTimer.unref();
    }
  }

  /** Whether the controller's stream is open and has answered. */
  get connected(): boolean {
    return this.streaming;
  }

  /** Stops watching and reporting; the installed state stays. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.streaming = false;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.resyncTimer);
    clearInterval(this.heartbeatTimer);
    this.call?.cancel();
    this.call = undefined;
    await this.work;
    await this.reporting;
    this.client.close();
  }

  /** A PE-CE BGP session's stream to the controller (AgentService.RelayCeSession), with the node's credential like every call; the caller sends `open` first. */
  relayCeSession(): ClientDuplexStream<RelayCeSessionRequest, RelayCeSessionResponse> {
    return this.client.relayCeSession(this.metadata());
  }

  private metadata(): Metadata {
    const md = new Metadata();
    const token = this.credential.current;
    if (token) md.set('authorization', `Bearer ${token}`);
    return md;
  }

  /** Watches, after enrolling when there is no credential but a join token. */
  private connect(): void {
    if (this.stopped) return;
    try {
      this.credential.refresh();
    } catch (err) {
      this.o.log?.warn({ err: (err as Error).message }, 'the credential files could not be read again; using what was read before');
    }
    const joinToken = this.credential.joinToken;
    if (!joinToken) return this.watch(this.o.agent.generation);
    this.enrol(joinToken).then(
      () => this.watch(this.o.agent.generation),
      (err: Partial<ServiceError>) => this.lost(err.code ?? status.INTERNAL, err.details ?? String(err.message)),
    );
  }

  private enrol(joinToken: string): Promise<void> {
    const deadline = Date.now() + (this.o.reportDeadlineMs ?? 10_000);
    return new Promise((resolve, reject) => {
      this.client.enroll({ node: this.o.agent.node, joinToken }, new Metadata(), { deadline }, (err, res) => {
        if (err) return reject(err);
        this.credential.save(res!.credential).then(() => {
          this.o.log?.info({ node: this.o.agent.node }, 'enrolled with the join token; the node credential is saved');
          this.o.onEvent?.({ type: 'enrolled' });
          resolve();
        }, reject);
      });
    });
  }

  /**
   * A new credential for the node (RotateCredential), saved, then used at
   * once: the watch stream is opened again with it, and the controller ends
   * the old credential at its first use.
   */
  async rotateCredential(): Promise<void> {
    if (this.stopped || !this.credential.current) return;
    const deadline = Date.now() + (this.o.reportDeadlineMs ?? 10_000);
    const credential = await new Promise<string>((resolve, reject) =>
      this.client.rotateCredential({ node: this.o.agent.node }, this.metadata(), { deadline }, (err, res) => (err ? reject(err) : resolve(res!.credential))),
    );
    await this.credential.save(credential);
    this.o.log?.info({ node: this.o.agent.node }, 'credential rotated and saved');
    this.o.onEvent?.({ type: 'rotated' });
    const c = this.call;
    if (!c || this.stopped) return;
    this.call = undefined;
    c.cancel();
    this.watch(this.o.agent.generation);
  }

  private watch(appliedGeneration: number): void {
    if (this.stopped) return;
    const call = this.client.watchDesiredState({ node: this.o.agent.node, appliedGeneration }, this.metadata());
    this.call = call;
    let first = true;
    call.on('data', (res: WatchDesiredStateResponse) => {
      const reconnected = first;
      first = false;
      this.enqueue(() => this.handle(call, res, reconnected));
    });
    // grpc-js reports every end of the call as a status; 'error' duplicates the non-OK ones.
    call.on('error', () => undefined);
    call.on('status', (s: StatusObject) => {
      if (this.call === call) this.lost(s.code, s.details);
    });
  }

  private async handle(call: ClientReadableStream<WatchDesiredStateResponse>, res: WatchDesiredStateResponse, firstOnStream: boolean): Promise<void> {
    if (this.call !== call) return;
    const u = res.update;
    if (!u) return;
    this.attempt = 0;
    this.streaming = true;
    const started = performance.now();
    // The API calls whose changes this update brings: the last hop of their request ids.
    const requestIds = res.trace?.requestIds ?? [];
    if (u.$case === 'snapshot') {
      const r = await this.o.agent.applySnapshot(u.value);
      this.o.metrics?.applied('snapshot', (performance.now() - started) / 1000);
      this.o.metrics?.driftRepaired(r.drift.filter((d) => d.repaired).length);
      this.o.log?.info({ generation: u.value.generation, changes: r.changes, failures: r.failures, requestIds }, 'applied desired state (snapshot)');
      this.o.onEvent?.({ type: 'snapshot', generation: u.value.generation, changes: r.changes });
    } else {
      const outcome = await this.o.agent.applyDelta(u.value);
      if (outcome === 'applied') {
        this.o.metrics?.applied('delta', (performance.now() - started) / 1000);
        this.o.log?.info({ generation: u.value.generation, from: u.value.fromGeneration, changes: u.value.changes.length, requestIds }, 'applied desired state (delta)');
      }
      this.o.onEvent?.({ type: 'delta', generation: u.value.generation, outcome });
      if (outcome === 'out-of-sequence') {
        // Ask again from generation 0, which the controller can only answer with a snapshot.
        this.o.log?.warn({ from: u.value.fromGeneration, held: this.o.agent.generation }, 'delta out of sequence; watching again for a snapshot');
        this.call = undefined;
        call.cancel();
        this.watch(0);
        return;
      }
      // A stream that starts with a delta is a reconnect: still check what is really installed.
      if (firstOnStream) await this.reconcile('reconnect');
    }
    await this.o.liveness?.watch(this.o.agent.desiredState());
    this.report();
  }

  private lost(code: number, details: string): void {
    this.call = undefined;
    this.streaming = false;
    if (this.stopped) return;
    const { initialMs, maxMs } = this.o.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(this.attempt, 20));
    const retryInMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.attempt++;
    const fields = { code: status[code], details, retryInMs };
    if (code === status.PERMISSION_DENIED || code === status.UNAUTHENTICATED) {
      this.o.log?.error(fields, "controller refused this node's credential or join token; an admin can make a new join token (POST /v1/nodes/{id}/join-tokens) for agent.join-token-file");
    }
    else this.o.log?.warn(fields, 'controller stream ended; forwarding with the last applied state');
    this.o.onEvent?.({ type: 'lost', code, details, retryInMs });
    this.reconnectTimer = setTimeout(() => this.connect(), retryInMs);
  }

  private async periodic(): Promise<void> {
    if (!this.o.agent.hasState) return;
    await this.reconcile('periodic');
    await this.o.liveness?.refresh();
    this.report();
  }

  private async reconcile(reason: string): Promise<void> {
    const started = performance.now();
    const r = await this.o.agent.reconcile(reason);
    this.o.metrics?.applied('reconcile', (performance.now() - started) / 1000);
    this.o.metrics?.driftRepaired(r.drift.filter((d) => d.repaired).length);
    this.o.onEvent?.({ type: 'reconciled', changes: r.changes });
  }

  /** A port or core link changed: tells the controller now, not on the next pass. */
  reportNow(): void {
    if (this.streaming) this.report();
  }

  /**
   * Sends the agent's status; reports asked for while one is in flight
   * coalesce into one. A heartbeat is the same complete status with
   * heartbeat=true, so a lost report is repaired by the next heartbeat.
   */
  private report(heartbeat = false): void {
    if (this.stopped) return;
    if (heartbeat) this.heartbeatDue = true;
    if (this.reporting) {
      this.reportAgain = true;
      return;
    }
    const r = { ...this.o.agent.report(), ...this.o.liveness?.report(), heartbeat: this.heartbeatDue };
    this.heartbeatDue = false;
    this.reporting = this.send(r).finally(() => {
      this.reporting = undefined;
      if (this.reportAgain) {
        this.reportAgain = false;
        this.report();
      }
    });
  }

  private send(r: ReportStatusRequest): Promise<void> {
    const deadline = Date.now() + (this.o.reportDeadlineMs ?? 10_000);
    return new Promise((resolve) => {
      this.client.reportStatus(r, this.metadata(), { deadline }, (err: ServiceError | null) => {
        if (err) this.o.log?.warn({ code: status[err.code], details: err.details }, 'status report not delivered; the next one carries it');
        else {
          this.o.agent.reportSent(r);
          this.o.onEvent?.({ type: 'reported', generation: r.appliedGeneration, heartbeat: r.heartbeat });
        }
        resolve();
      });
    });
  }

  private enqueue(fn: () => Promise<void>): void {
    this.work = this.work.then(fn).catch((err: unknown) => {
      this.o.log?.warn({ err }, 'applying the desired state failed; reconnecting for a snapshot');
      if (this.call) {
        const c = this.call;
        this.call = undefined;
        c.cancel();
        this.lost(status.INTERNAL, (err as Error).message);
      }
    });
  }
}

/** A credential given once (agent.token, tests): nothing to enrol, nowhere to keep a rotated one. */
function fixedCredential(token: string | undefined): CredentialSource {
  return {
    current: token || undefined,
    joinToken: undefined,
    refresh: () => undefined,
    save: async () => {
      throw new Error('this agent has nowhere to keep a new credential (give it a state dir)');
    },
  };
}
