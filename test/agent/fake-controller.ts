// An in-process AgentService that serves one node's desired states from a
// history, the way the controller does: a delta when the agent's applied
// generation is in the history, a snapshot otherwise. Checks the bearer
// credential and the node; enrols with one join token (once) and rotates
// the credential (the old one stops at once). Can go away and come back on
// the same port.
import { Metadata, Server, ServerCredentials, status, type ServerWritableStream } from '@grpc/grpc-js';
import {
  AgentServiceService,
  type AgentServiceServer,
  type DesiredStateDelta,
  type NodeDesiredState,
  type ReportStatusRequest,
  type WatchDesiredStateRequest,
  type WatchDesiredStateResponse,
} from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { diffDesiredState } from '../../services/common/desired-state/index.js';

type Watch = ServerWritableStream<WatchDesiredStateRequest, WatchDesiredStateResponse>;

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
      relayCeSession: (call) => call.emit('error', { code: 12, details: 'not served by the fake controller' }),
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
