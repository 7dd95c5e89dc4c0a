// Turns a TCP byte stream into whole BGP messages. A message that lies inside
// one chunk is returned as a view of that chunk (no copy); only a message
// that straddles chunks is copied once into its own buffer. The header is
// checked as soon as its 19 octets are in, so a bad length is caught before
// the body arrives.
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';
import { checkHeader } from './header.js';
import type { BgpError } from './notification.js';

export interface SplitResult {
  /** Whole messages, header included, in arrival order. */
  readonly messages: Uint8Array[];
  /** Set once the stream is broken; the session must send it and close. */
  readonly error?: BgpError;
}

export class MessageSplitter {
  private maxLength: number;
  /**
   * A message straddling chunks: first a 19-octet header buffer, then, once
   * the header is checked, a buffer of the whole message length.
   */
  private partial: Uint8Array | undefined;
  private filled = 0;
  private failure: BgpError | undefined;

  constructor(maxLength: number = MAX_MESSAGE_LENGTH) {
    this.maxLength = maxLength;
  }

  /** 4096 normally; 65535 after RFC 8654 Extended Message is negotiated in both directions. */
  setMaxLength(maxLength: number): void {
    this.maxLength = maxLength;
  }

  /** Octets received but not yet part of a returned message. */
  get buffered(): number {
    return this.partial ? this.filled : 0;
  }

  push(input: Uint8Array): SplitResult {
    if (this.failure) return { messages: [], error: this.failure };
    // Plain Uint8Array views whatever came in (a socket gives Buffers): every
    // later subarray is then the builtin one, far cheaper than Buffer's, and
    // the decoder sees one kind of array.
    const chunk = Object.getPrototypeOf(input) === Uint8Array.prototype ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    const messages: Uint8Array[] = [];
    let offset = 0;
    if (this.partial) {
      offset = this.fillPartial(chunk, messages);
      if (this.failure) return { messages, error: this.failure };
    }
    while (chunk.length - offset >= HEADER_LENGTH) {
      const length = checkHeader(chunk, offset, this.maxLength);
      if (typeof length !== 'number') return this.fail(messages, length);
      if (chunk.length - offset < length) {
        this.partial = new Uint8Array(length);
        this.partial.set(chunk.subarray(offset));
        this.filled = chunk.length - offset;
        return { messages };
      }
      messages.push(chunk.subarray(offset, offset + length));
      offset += length;
    }
    if (offset < chunk.length) {
      this.partial = new Uint8Array(HEADER_LENGTH);
      this.partial.set(chunk.subarray(offset));
      this.filled = chunk.length - offset;
    }
    return { messages };
  }

  /** Copies from the chunk into the straddling message; returns how many chunk octets it used. */
  private fillPartial(chunk: Uint8Array, messages: Uint8Array[]): number {
    let used = 0;
    let partial = this.partial!;
    if (partial.length === HEADER_LENGTH && this.filled < HEADER_LENGTH) {
      used = Math.min(HEADER_LENGTH - this.filled, chunk.length);
      partial.set(chunk.subarray(0, used), this.filled);
      this.filled += used;
      if (this.filled < HEADER_LENGTH) return used;
      const length = checkHeader(partial, 0, this.maxLength);
      if (typeof length !== 'number') {
        this.fail(messages, length);
        return used;
      }
      if (length > HEADER_LENGTH) {
        const whole = new Uint8Array(length);
        whole.set(partial);
        partial = this.partial = whole;
      }
    }
    const take = Math.min(partial.length - this.filled, chunk.length - used);
    partial.set(chunk.subarray(used, used + take), this.filled);
    this.filled += take;
    used += take;
    if (this.filled === partial.length) {
      messages.push(partial);
      this.partial = undefined;
      this.filled = 0;
    }
    return used;
  }

  private fail(messages: Uint8Array[], error: BgpError): SplitResult {
    this.failure = error;
    this.partial = undefined;
    return { messages, error };
  }
}
