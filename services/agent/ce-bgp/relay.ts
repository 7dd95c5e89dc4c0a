// The agent's side of PE-CE BGP relaying (BGP as a service: the CE peers
// with its PE's address and changes nothing). The listeners in the punt
// namespaces (listener.ts) hand each accepted connection to this unix
// socket, after one JSON line naming the attachment and the (CE, PE)
// pair; a session the desired state lists (VrfInterface.bgp_sessions) is
// relayed over AgentService.RelayCeSession: `open` first, then the bytes
// both ways, each side paced by the other's backpressure. The stream
// ending closes the connection and the connection closing ends the
// stream. A session no longer listed is cut within `pruneMs`.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { CeSessionOpen, RelayCeSessionRequest, RelayCeSessionResponse, VrfInstance } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { formatAddress, parseAddress } from '../../common/desired-state/prefix.js';
import type { ListenerHello } from './listener.js';

type RelayStream = ClientDuplexStream<RelayCeSessionRequest, RelayCeSessionResponse>;

export interface CeBgpRelayOptions {
  /** The unix socket the listeners connect to (the agent's state directory). */
  socketPath: string;
  node: string;
  /** The VRFs of the desired state the agent holds (Agent.vrfs): which sessions are listed. */
  vrfs(): readonly VrfInstance[];
  /** Opens a stream to the controller (ControllerLink.relayCeSession). */
  open(): RelayStream;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** How often relayed sessions are checked against the desired state (default 1 s). */
  pruneMs?: number;
}

const MAX_HELLO = 4096;
const canonical = (a: string) => {
  const p = parseAddress(a);
  return p ? formatAddress(p) : a;
};

/** Whether `vrfs` list the session `open` names on that attachment. */
export function isListed(vrfs: readonly VrfInstance[], open: CeSessionOpen): boolean {
  const v = vrfs.find((x) => x.name === open.vrf);
  const i = v?.interfaces.find((x) => x.name === open.interface && x.vlan === open.vlan);
  const [ce, pe] = [canonical(open.ceAddress), canonical(open.peAddress)];
  return !!i?.bgpSessions.some((s) => canonical(s.ceAddress) === ce && canonical(s.peAddress) === pe);
}

interface Relayed {
  open: CeSessionOpen;
  sock: Socket;
  call: RelayStream;
}

export class CeBgpRelay {
  private server: Server | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly relayed = new Set<Relayed>();
  /** Connections refused because the desired state does not list them (tests, metrics). */
  refused = 0;

  constructor(private readonly o: CeBgpRelayOptions) {}

  /** The sessions being relayed now. */
  get sessions(): CeSessionOpen[] {
    return [...this.relayed].map((r) => r.open);
  }

  async start(): Promise<this> {
    await mkdir(dirname(this.o.socketPath), { recursive: true, mode: 0o700 });
    // A socket file left by an agent that died: nobody listens on it any more.
    await rm(this.o.socketPath, { force: true });
    const server = createServer((sock) => this.accept(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.socketPath, () => resolve());
    });
    // Only the agent's user (root, who runs the listeners) may hand it connections.
    await chmod(this.o.socketPath, 0o600);
    this.server = server;
    this.pruneTimer = setInterval(() => this.prune(), this.o.pruneMs ?? 1000);
    this.pruneTimer.unref();
    return this;
  }

  /** Cuts every relayed session the desired state no longer lists. */
  prune(): void {
    if (!this.relayed.size) return;
    const vrfs = this.o.vrfs();
    for (const r of this.relayed) {
      if (isListed(vrfs, r.open)) continue;
      this.o.log?.info({ ...r.open }, 'PE-CE BGP session no longer in the desired state: closed');
      r.sock.destroy();
      r.call.cancel();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    for (const r of this.relayed) {
      r.sock.destroy();
      r.call.cancel();
    }
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.o.socketPath, { force: true });
  }

  /** Reads the listener's hello line, then relays. */
  private accept(sock: Socket): void {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        if (buf.length > MAX_HELLO) sock.destroy();
        return;
      }
      sock.off('data', onData);
      sock.pause();
      let hello: ListenerHello;
      try {
        hello = JSON.parse(buf.subarray(0, nl).toString('utf8')) as ListenerHello;
      } catch {
        sock.destroy();
        return;
      }
      this.relay(sock, hello, buf.subarray(nl + 1));
    };
    sock.on('data', onData);
    sock.on('error', () => sock.destroy());
  }

  private relay(sock: Socket, hello: ListenerHello, first: Buffer): void {
    const open: CeSessionOpen = {
      node: this.o.node,
      vrf: String(hello.vrf),
      interface: String(hello.interface),
      vlan: Number(hello.vlan) || 0,
      ceAddress: canonical(String(hello.ce)),
      peAddress: canonical(String(hello.pe)),
    };
    if (!isListed(this.o.vrfs(), open)) {
      this.refused++;
      this.o.log?.warn({ ...open }, 'PE-CE BGP connection from a CE the desired state does not list: closed');
      sock.destroy();
      return;
    }
    let call: RelayStream;
    try {
      call = this.o.open();
    } catch (err) {
      this.o.log?.warn({ ...open, err: (err as Error).message }, 'PE-CE BGP session not relayed: no stream to the controller');
      sock.destroy();
      return;
    }
    const r: Relayed = { open, sock, call };
    this.relayed.add(r);
    this.o.log?.info({ ...open }, 'PE-CE BGP session relayed to the controller');
    call.write({ frame: { $case: 'open', value: open } });
    const toController = (data: Buffer) => {
      if (!call.write({ frame: { $case: 'data', value: data } })) {
        sock.pause();
        call.once('drain', () => sock.resume());
      }
    };
    if (first.length) toController(first);
    sock.on('data', toController);
    // The CE closed: the stream ends (half-close); a controller that does not end its side in time is cancelled.
    let ended = false;
    sock.on('end', () => {
      ended = true;
      call.end();
    });
    call.on('data', (res: RelayCeSessionResponse) => {
      if (res.data.length && !sock.write(res.data)) {
        call.pause();
        sock.once('drain', () => call.resume());
      }
    });
    call.on('end', () => sock.end());
    call.on('error', (err: ServiceError) => {
      if (err.code !== status.CANCELLED) this.o.log?.warn({ ...open, code: err.code, err: err.details }, 'PE-CE BGP session stream ended by the controller with an error');
      sock.destroy();
    });
    sock.on('close', () => {
      this.relayed.delete(r);
      if (!ended) call.cancel();
      else setTimeout(() => call.cancel(), 5000).unref();
    });
    sock.resume();
  }
}
