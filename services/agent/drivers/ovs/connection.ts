// One kept-open OpenFlow 1.3 connection to a switch (unix:/path/to/bridge.mgmt
// or tcp:host:port). Messages are streamed without waiting for each other
// (a barrier says when the ones before it are done, OpenFlow 1.3.5 §6.2),
// errors are kept by xid so a batch can name what failed, echo requests are
// answered, asynchronous messages (packet-in, port status) go to onAsync.
import { connect, type Socket } from 'node:net';
import {
  barrierRequest,
  decodeError,
  decodeHeader,
  decodeMultipart,
  echoReply,
  featuresRequest,
  hello,
  MsgType,
  OFP_VERSION,
  type OfError,
} from './openflow.js';

interface Pending {
  resolve(parts: Uint8Array[]): void;
  reject(err: Error): void;
  parts: Uint8Array[];
  /** Takes each part of a multipart reply as it arrives instead of keeping it. */
  onPart?: (part: Uint8Array) => void;
}

export class OpenFlowError extends Error {
  constructor(readonly error: OfError) {
    super(describeError(error));
  }
}

/** §7.4 error types and the codes met in practice, for reasons people can read. */
const ERROR_TYPES: Record<number, string> = {
  0: 'HELLO_FAILED',
  1: 'BAD_REQUEST',
  2: 'BAD_ACTION',
  3: 'BAD_INSTRUCTION',
  4: 'BAD_MATCH',
  5: 'FLOW_MOD_FAILED',
  6: 'GROUP_MOD_FAILED',
  7: 'PORT_MOD_FAILED',
  8: 'TABLE_MOD_FAILED',
  10: 'SWITCH_CONFIG_FAILED',
  13: 'TABLE_FEATURES_FAILED',
  0xffff: 'EXPERIMENTER',
};

export function describeError(e: OfError): string {
  return `OpenFlow error ${ERROR_TYPES[e.type] ?? e.type} code ${e.code}`;
}

const TIMEOUT_MS = 30_000;

export class OpenFlowConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private xidNext = 1;
  private readonly pending = new Map<number, Pending>();
  /** Errors of messages nobody waits for, until taken. */
  private readonly errors = new Map<number, OfError>();
  private queued: Uint8Array[] = [];
  private queuedBytes = 0;
  private closedError: Error | undefined;
  datapathId = 0n;
  /** Asynchronous messages of the switch (PACKET_IN, PORT_STATUS; see setConfig in openflow.ts). */
  onAsync: ((type: MsgType, msg: Uint8Array) => void) | undefined;
  private helloSeen!: () => void;
  private readonly hello = new Promise<void>((resolve) => (this.helloSeen = resolve));

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.fail(new Error('OpenFlow connection closed')));
    socket.on('error', (err) => this.fail(err));
  }

  /** Connects, exchanges HELLO (version 1.3 only) and FEATURES. */
  static async open(target: string, timeoutMs = 5000): Promise<OpenFlowConnection> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = target.startsWith('unix:')
        ? connect(target.slice(5))
        : (() => {
            const hp = target.replace(/^tcp:/, '');
            const i = hp.lastIndexOf(':');
            return connect(Number(hp.slice(i + 1)), hp.slice(0, i));
          })();
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`OpenFlow connect to ${target} timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    socket.setNoDelay(true);
    const c = new OpenFlowConnection(socket);
    c.send(hello(c.nextXid()));
    c.flush();
    await Promise.race([c.hello, new Promise((_, reject) => setTimeout(() => reject(new Error(`no OpenFlow HELLO from ${target}`)), timeoutMs).unref())]);
    const [features] = await c.request(featuresRequest);
    c.datapathId = new DataView(features!.buffer, features!.byteOffset).getBigUint64(8);
    return c;
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  nextXid(): number {
    const x = this.xidNext;
    this.xidNext = this.xidNext >= 0x7fffffff ? 1 : this.xidNext + 1;
    return x;
  }

  /** Queues a message; queued messages go out together (one write per ~64 KiB). */
  send(msg: Uint8Array): void {
    if (this.closedError) throw this.closedError;
    this.queued.push(msg);
    this.queuedBytes += msg.length;
    if (this.queuedBytes >= 64 * 1024) this.flush();
  }

  flush(): void {
    if (this.queued.length === 0 || this.closedError) return;
    this.socket.write(Buffer.concat(this.queued, this.queuedBytes));
    this.queued = [];
    this.queuedBytes = 0;
  }

  /** Sends a message built with a fresh xid and resolves with its reply (all parts of a multipart reply). */
  request(build: (xid: number) => Uint8Array): Promise<Uint8Array[]> {
    const xid = this.nextXid();
    const p = this.expect(xid);
    this.send(build(xid));
    this.flush();
    return p;
  }

  /**
   * Sends a multipart request and hands each part of the reply to `onPart`
   * as it arrives, so a large reply (a flow dump) is never held whole.
   */
  stream(build: (xid: number) => Uint8Array, onPart: (part: Uint8Array) => void): Promise<void> {
    const xid = this.nextXid();
    const p = this.expect(xid, onPart);
    this.send(build(xid));
    this.flush();
    return p.then(() => undefined);
  }

  /** Resolves when every message sent before it has been processed. */
  async barrier(): Promise<void> {
    await this.request(barrierRequest);
  }

  /** Removes and returns the error of a message, if it had one. */
  takeError(xid: number): OfError | undefined {
    const e = this.errors.get(xid);
    if (e) this.errors.delete(xid);
    return e;
  }

  takeAllErrors(): Map<number, OfError> {
    const copy = new Map(this.errors);
    this.errors.clear();
    return copy;
  }

  close(): void {
    this.flush();
    this.socket.end();
    this.fail(new Error('OpenFlow connection closed by the agent'));
  }

  private expect(xid: number, onPart?: (part: Uint8Array) => void): Promise<Uint8Array[]> {
    return new Promise((resolve, reject) => {
      if (this.closedError) return reject(this.closedError);
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new Error(`no OpenFlow reply to xid ${xid} within ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
      timer.unref();
      this.pending.set(xid, {
        parts: [],
        onPart,
        resolve: (parts) => {
          clearTimeout(timer);
          resolve(parts);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 8) {
      const length = this.buffer.readUInt16BE(2);
      if (length < 8) return this.fail(new Error(`bad OpenFlow message length ${length}`));
      if (this.buffer.length < length) break;
      const msg = this.buffer.subarray(0, length);
      this.buffer = this.buffer.subarray(length);
      this.dispatch(new Uint8Array(msg));
    }
  }

  private dispatch(msg: Uint8Array): void {
    const h = decodeHeader(msg);
    if (h.type === MsgType.HELLO) {
      if (h.version < OFP_VERSION) return this.fail(new Error(`switch speaks OpenFlow version ${h.version}, 1.3 (4) is needed`));
      this.helloSeen();
      return;
    } else if (h.type === MsgType.ECHO_REQUEST) {
      this.send(echoReply(h.xid, msg.slice(8)));
      this.flush();
      return;
    } else if (h.type === MsgType.ERROR) {
      const e = decodeError(msg);
      const p = this.pending.get(h.xid);
      if (p) {
        this.pending.delete(h.xid);
        p.reject(new OpenFlowError(e));
      } else this.errors.set(h.xid, e);
      return;
    }
    if (h.type === MsgType.PACKET_IN || h.type === MsgType.PORT_STATUS) {
      this.onAsync?.(h.type, msg);
      return;
    }
    const p = this.pending.get(h.xid);
    if (!p) return;
    if (p.onPart) p.onPart(msg);
    else p.parts.push(msg);
    if (h.type === MsgType.MULTIPART_REPLY && decodeMultipart(msg).more) return;
    this.pending.delete(h.xid);
    p.resolve(p.parts);
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.socket.destroy();
  }
}
