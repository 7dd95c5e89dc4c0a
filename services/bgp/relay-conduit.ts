// A relayed PE-CE session's gRPC stream (BgpService.RelayPeerSession) seen
// as the byte stream a Transport runs on: `data` frames in are socket reads,
// writes go out as `data` frames; the caller half-closing the stream is the
// CE's FIN, a cancelled call a reset connection, our end() the call's end.
import { EventEmitter } from 'node:events';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { RelayPeerSessionRequest, RelayPeerSessionResponse } from '../common/gen/proto/l3vpn/v1/bgp.js';
import { invalidArgument, toServiceError, type ApiError } from '../common/grpc/errors.js';
import type { Conduit } from './speaker/transport.js';

export type RelayCall = ServerDuplexStream<RelayPeerSessionRequest, RelayPeerSessionResponse>;

export class RelayConduit extends EventEmitter implements Conduit {
  private ended = false;

  constructor(
    private readonly call: RelayCall,
    readonly localAddress: string | undefined,
  ) {
    super();
    call.on('data', (req: RelayPeerSessionRequest) => {
      if (this.ended) return;
      const frame = req.frame;
      if (frame?.$case === 'data') {
        if (frame.value.length) this.emit('data', Buffer.from(frame.value.buffer, frame.value.byteOffset, frame.value.byteLength));
        return;
      }
      // One open per stream: anything else is a broken relay, not BGP bytes.
      this.abort(invalidArgument('frame', 'a relayed session has one open frame, the first; then only data'));
    });
    call.on('end', () => {
      if (!this.ended) this.emit('end');
    });
    call.on('cancelled', () => this.lost('relay cancelled the stream'));
    call.on('error', (err: Error) => this.lost(err.message));
    call.on('drain', () => this.emit('drain'));
  }

  get writable(): boolean {
    return !this.ended && this.call.writable;
  }

  write(bytes: Uint8Array): boolean {
    if (!this.writable) return true;
    return this.call.write({ data: Buffer.from(bytes) });
  }

  /** Ends the call (status OK) after what was written: the TCP connection closes. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.call.end();
    setImmediate(() => this.emit('close'));
  }

  destroy(): void {
    this.end();
  }

  /** Ends the call with an error status; the transport sees the connection fail. */
  private abort(err: ApiError): void {
    if (this.ended) return;
    this.ended = true;
    this.call.emit('error', toServiceError(err));
    this.failed(err);
    setImmediate(() => this.emit('close'));
  }

  private lost(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.failed(new Error(reason));
    setImmediate(() => this.emit('close'));
  }

  /** 'error' for the transport; none when no transport took the stream (a refused open). */
  private failed(err: Error): void {
    if (this.listenerCount('error')) this.emit('error', err);
  }
}
