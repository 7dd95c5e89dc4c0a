// One TCP connection of a peer: bytes in through the codec's MessageSplitter,
// whole messages out. Owns nothing but the socket; the peer decides.
import type { Socket } from 'node:net';
import { MessageSplitter } from '../wire/splitter.js';
import type { BgpError } from '../wire/notification.js';

export interface TransportHandlers {
  /** Whole messages, in order; `error` once the stream is broken (after the messages before it). */
  onMessages(messages: Uint8Array[], error: BgpError | undefined): void;
  /** The connection ended or failed, and not because close() was called. */
  onClosed(reason: string): void;
}

/** How long a closing connection may take to flush a NOTIFICATION before it is cut. */
const LINGER_MS = 1000;

export class Transport {
  readonly splitter = new MessageSplitter();
  private closed = false;

  constructor(
    readonly socket: Socket,
    private readonly handlers: TransportHandlers,
  ) {
    socket.setNoDelay(true);
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
