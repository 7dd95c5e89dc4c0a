// One connection of a peer: bytes in through the codec's MessageSplitter,
// whole messages out. Owns nothing but the byte stream; the peer decides.
// The stream is a TCP socket, or a relayed PE-CE session's gRPC stream
// (relay-conduit.ts): anything with a socket's events and calls.
import { MessageSplitter } from '../wire/splitter.js';
import type { BgpError } from '../wire/notification.js';

export interface TransportHandlers {
  /** Whole messages, in order; `error` once the stream is broken (after the messages before it). */
  onMessages(messages: Uint8Array[], error: BgpError | undefined): void;
  /** The connection ended or failed, and not because close() was called. */
  onClosed(reason: string): void;
}

/**
 * The part of a net.Socket a transport uses: a reliable, ordered byte stream
 * that says when it ends, fails or can take more.
 */
export interface Conduit {
  /** Our address on the connection (a relayed session: the PE address the CE connected to). */
  readonly localAddress?: string | undefined;
  readonly writable: boolean;
  /** False when the buffer is past its high-water mark ('drain' follows). */
  write(bytes: Uint8Array): boolean;
  /** Flushes what was written, then closes ('close' follows). */
  end(): void;
  destroy(): void;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close' | 'end', listener: () => void): unknown;
  once(event: 'close' | 'drain', listener: () => void): unknown;
}

/** How long a closing connection may take to flush a NOTIFICATION before it is cut. */
const LINGER_MS = 1000;

export class Transport {
  readonly splitter = new MessageSplitter();
  private closed = false;

  constructor(
    readonly socket: Conduit,
    private readonly handlers: TransportHandlers,
  ) {
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      const { messages, error } = this.splitter.push(chunk);
      if (messages.length || error) this.handlers.onMessages(messages, error);
    });
    socket.on('error', (err) => this.lost(err.message));
    socket.on('close', () => this.lost('connection closed'));
    socket.on('end', () => this.lost('peer closed the connection'));
  }

  get localAddress(): string {
    return unmapped(this.socket.localAddress ?? '');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues bytes; false when the socket's buffer is past its high-water mark (wait for onDrain). */
  write(bytes: Uint8Array): boolean {
    if (this.closed || !this.socket.writable) return true;
    return this.socket.write(bytes);
  }

  /** Calls `then` once the socket has drained (not at all if it closes first). */
  onDrain(then: () => void): void {
    this.socket.once('drain', () => {
      if (!this.closed) then();
    });
  }

  /** Flushes what was written, then closes; the handlers hear nothing more. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), LINGER_MS);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  private lost(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.handlers.onClosed(reason);
  }
}

/** "::ffff:127.0.0.1" -> "127.0.0.1". */
export function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
