// A minimal gRPC unary caller straight on node:http2, for load generation:
// grpc-js's client costs more CPU per call than the services it measures, and
// on 2 shared cores that hides the service's own rate. Same wire protocol:
// length-prefixed protobuf in, status in the trailers.
import http2 from 'node:http2';

export class LeanGrpcClient {
  private readonly sessions: http2.ClientHttp2Session[];
  private next = 0;

  /** `secret`: sent as `authorization: Bearer <secret>` (the caller's identity), one header per call as grpc-js sends it. */
  constructor(
    address: string,
    private readonly secret?: string,
    sessions = 4,
  ) {
    this.sessions = Array.from({ length: sessions }, () => http2.connect(`http://${address}`));
  }

  /** Sends one request message to `path` (e.g. /l3vpn.v1.LabelsService/AllocateLabel); resolves to the response message. */
  call(path: string, message: Uint8Array): Promise<Buffer> {
    const session = this.sessions[this.next++ % this.sessions.length]!;
    return new Promise((resolve, reject) => {
      const req = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
        ...(this.secret ? { authorization: `Bearer ${this.secret}` } : {}),
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let detail = '';
      const readStatus = (headers: http2.IncomingHttpHeaders) => {
        if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
        if (headers['grpc-message'] !== undefined) detail = decodeURIComponent(String(headers['grpc-message']));
      };
      req.on('response', readStatus);
      req.on('trailers', readStatus);
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', reject);
      req.on('end', () => {
        if (status !== '0') return reject(new Error(`gRPC status ${status}: ${detail}`));
        resolve(Buffer.concat(chunks).subarray(5));
      });
      const frame = Buffer.alloc(5 + message.length);
      frame.writeUInt32BE(message.length, 1);
      frame.set(message, 5);
      req.end(frame);
    });
  }

  close(): void {
    for (const s of this.sessions) s.close();
  }
}
