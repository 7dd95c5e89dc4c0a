// An in-process AgentService that serves one node's desired states from a
// history, the way the controller does: a delta when the agent's applied
// generation is in the history, a snapshot otherwise. Checks the bearer
// credential and the node; enrols with one join token (once) and rotates
// the credential (the old one stops at once). Can go away and come back on
// the same port.
import { Metadata, Server, ServerCredentials, status, type ServerDuplexStream, type ServerWritableStream } from '@grpc/grpc-js';
import {
  AgentServiceService,
  type AgentServiceServer,
  type DesiredStateDelta,
  type CeSessionOpen,
  type NodeDesiredState,
  type RelayCeSessionRequest,
  type RelayCeSessionResponse,
  type ReportStatusRequest,
  type WatchDesiredStateRequest,
  type WatchDesiredStateResponse,
} from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { diffDesiredState } from '../../services/common/desired-state/index.js';

type Watch = ServerWritableStream<WatchDesiredStateRequest, WatchDesiredStateResponse>;

/** One RelayCeSession stream as the fake controller saw it. */
export interface FakeCeSession {
  open: CeSessionOpen | undefined;
  /** The bytes from the CE, in order. */
  received: Buffer;
  /** Whether the agent ended its side (the CE closed), or the stream was cancelled. */
  ended: boolean;
  call: ServerDuplexStream<RelayCeSessionRequest, RelayCeSessionResponse>;
}

export class FakeController {
  private server: Server | undefined;
  private readonly watches = new Set<Watch>();
  readonly history: NodeDesiredState[] = [];
  readonly reports: ReportStatusRequest[] = [];
  watchRequests: WatchDesiredStateRequest[] = [];
  port = 0;
  /** Join tokens presented to Enroll, in order. */
  readonly enrolments: string[] = [];
  rotations = 0;
  /** RelayCeSession streams, in the order they opened. */
  readonly ceSessions: FakeCeSession[] = [];
  /** What the controller answers each chunk from a CE with (default: the chunk back, after "echo:" once per chunk); undefined: nothing. */
  ceReply: ((data: Buffer, s: FakeCeSession) => Buffer | undefined) | undefined = (data) => Buffer.concat([Buffer.from('echo:'), data]);

  constructor(
    private readonly node: string,
    public token: string,
    /** The one join token Enroll takes (once); the credential it gives is `token`. */
    private joinToken?: string,
  ) {}

  get latest(): NodeDesiredState | undefined {
    return this.history.at(-1);
  }

  async start(port = this.port): Promise<number> {
    const server = new Server();
    const impl: AgentServiceServer = {
      watchDesiredState: (call) => this.watch(call),
      reportStatus: (call, cb) => {
        const denied = this.check(call.metadata, call.request.node);
        if (denied) return cb({ code: denied, details: 'not this node', metadata: new Metadata() });
        this.reports.push(call.request);
        cb(null, { desiredGeneration: this.latest?.generation ?? 0 });
      },
      enroll: (call, cb) => {
        this.enrolments.push(call.request.joinToken);
        if (!this.joinToken || call.request.joinToken !== this.joinToken || call.request.node !== this.node) {
          return cb({ code: status.UNAUTHENTICATED, details: 'unknown or used join token', metadata: new Metadata() });
        }
        this.joinToken = undefined;
        cb(null, { credential: this.token });
      },
      relayCeSession: (call) => this.relay(call),
      rotateCredential: (call, cb) => {
        const denied = this.check(call.metadata, call.request.node);
        if (denied) return cb({ code: denied, details: 'not this node', metadata: new Metadata() });
        this.token = `${this.token.replace(/-r\d+$/, '')}-r${++this.rotations}`;
        cb(null, { credential: this.token });
      },
    };
    server.addService(AgentServiceService, impl);
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    return this.port;
  }

  /** The controller dies: connections are cut. */
  stop(): void {
    for (const w of this.watches) w.destroy();
    this.watches.clear();
    this.server?.forceShutdown();
    this.server = undefined;
  }

  /** A new generation: every watcher gets the delta from the previous one (or `delta`, when the caller has it). */
  publish(state: NodeDesiredState, delta?: DesiredStateDelta): void {
    const before = this.latest;
    this.history.push(state);
    if (!before) {
      for (const w of this.watches) w.write({ update: { $case: 'snapshot', value: state } });
      return;
    }
    const d = delta ?? diffDesiredState(before, state);
    for (const w of this.watches) w.write({ update: { $case: 'delta', value: d } });
  }

  private check(md: Metadata, node: string): number | undefined {
    if (md.get('authorization')[0] !== `Bearer ${this.token}`) return status.UNAUTHENTICATED;
    if (node !== this.node) return status.PERMISSION_DENIED;
    return undefined;
  }

  private relay(call: ServerDuplexStream<RelayCeSessionRequest, RelayCeSessionResponse>): void {
    const s: FakeCeSession = { open: undefined, received: Buffer.alloc(0), ended: false, call };
    call.on('data', (req: RelayCeSessionRequest) => {
      const f = req.frame;
      if (f?.$case === 'open') {
        const denied = s.open ? status.INVALID_ARGUMENT : this.check(call.metadata, f.value.node);
        if (denied) return call.emit('error', { code: denied, details: 'not this node, or a second open', metadata: new Metadata() });
        s.open = f.value;
        this.ceSessions.push(s);
      } else if (f?.$case === 'data') {
        if (!s.open) return call.emit('error', { code: status.INVALID_ARGUMENT, details: 'data before open', metadata: new Metadata() });
        const data = Buffer.from(f.value);
        s.received = Buffer.concat([s.received, data]);
        const reply = this.ceReply?.(data, s);
        if (reply?.length) call.write({ data: reply });
      }
    });
    call.on('end', () => {
      s.ended = true;
      call.end();
    });
    call.on('cancelled', () => (s.ended = true));
    call.on('error', () => (s.ended = true));
  }

  private watch(call: Watch): void {
    this.watchRequests.push(call.request);
    const denied = this.check(call.metadata, call.request.node);
    if (denied) {
      call.emit('error', { code: denied, details: `node ${call.request.node} is not yours`, metadata: new Metadata() });
      return;
    }
    this.watches.add(call);
    call.on('cancelled', () => this.watches.delete(call));
    const latest = this.latest;
    if (!latest) return;
    const from = this.history.find((s) => s.generation === call.request.appliedGeneration);
    call.write(from ? { update: { $case: 'delta', value: diffDesiredState(from, latest) } } : { update: { $case: 'snapshot', value: latest } });
  }
}
