// A stand-in for the controller's relay of a PE-CE session: a TCP listener
// (the PE's access address as the CE sees it) that, per accepted connection,
// opens BgpService.RelayPeerSession naming the VRF and CE and pipes bytes
// both ways. Either side closing closes the other.
import { createServer, type Server, type Socket } from 'node:net';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { BgpServiceClient, RelayPeerSessionRequest, RelayPeerSessionResponse } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';

type Raw = InstanceType<typeof BgpServiceClient>;
type Call = ClientDuplexStream<RelayPeerSessionRequest, RelayPeerSessionResponse>;

export interface RelayOptions {
  /** Where the CE connects (its neighbour address for us). */
  readonly listen: string;
  readonly vrf: string;
  readonly peerAddress: string;
  readonly localAddress: string;
}

export class TestRelay {
  private server: Server | undefined;
  private readonly live = new Set<{ socket: Socket; call: Call }>();
  /** Streams opened so far. */
  opened = 0;
  /** Status codes the speaker ended streams with (0: OK). */
  readonly ends: number[] = [];
  /** While set, connections are accepted and closed at once (the relay is down). */
  paused = false;
  port = 0;

  constructor(
    private readonly raw: Raw,
    readonly o: RelayOptions,
  ) {}

  async start(): Promise<void> {
    const server = createServer((socket) => this.accepted(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.o.listen, port: 0 }, resolve);
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Cuts every relayed stream (cancelled) and its TCP connection, as a relay that dies does. */
  cut(): void {
    for (const l of this.live) {
      l.call.cancel();
      l.socket.destroy();
    }
    this.live.clear();
  }

  get streams(): number {
    return this.live.size;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accepted(socket: Socket): void {
    if (this.paused) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const call: Call = this.raw.relayPeerSession();
    const link = { socket, call };
    this.live.add(link);
    this.opened++;
    call.write({ frame: { $case: 'open', value: { vrf: this.o.vrf, peerAddress: this.o.peerAddress, localAddress: this.o.localAddress } } });
    socket.on('data', (data: Buffer) => call.write({ frame: { $case: 'data', value: data } }));
    socket.on('end', () => call.end());
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.live.delete(link)) call.cancel();
    });
    call.on('data', (r: RelayPeerSessionResponse) => socket.write(r.data));
    call.on('error', (err: { code?: number }) => {
      this.ends.push(err.code ?? -1);
      if (this.live.delete(link)) socket.destroy();
    });
    call.on('status', (s: { code: number }) => {
      if (s.code === 0) this.ends.push(0);
    });
    call.on('end', () => {
      if (this.live.delete(link)) socket.end();
    });
  }
}

/** Opens a RelayPeerSession with `first` as its first frame; resolves with the status it ended with. */
export function relayStatus(raw: Raw, first: RelayPeerSessionRequest): Promise<{ code: number; details: string }> {
  return new Promise((resolve) => {
    const call: Call = raw.relayPeerSession();
    call.on('data', () => undefined);
    call.on('error', (err: { code: number; details: string }) => resolve({ code: err.code, details: err.details }));
    call.on('status', (s: { code: number; details: string }) => {
      if (s.code === 0) resolve({ code: 0, details: s.details });
    });
    call.write(first);
  });
}
