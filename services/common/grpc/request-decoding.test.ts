import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, status, type ServiceError } from '@grpc/grpc-js';
import { GetLabelSpacesRequest, LabelsServiceService, type LabelsServiceServer } from '../gen/proto/l3vpn/v1/labels.js';
import { createLogger } from '../logger.js';
import { insecure } from './client.js';
import { startGrpcServer, unary, type RunningGrpcServer } from './server.js';

describe('requests that do not decode', () => {
  let server: RunningGrpcServer;
  let client: Client;
  const seen: string[] = [];
  const raw = (b: Buffer) => b;
  const call = (path: string, bytes: Buffer) =>
    new Promise<{ code: status; details: string }>((resolve) =>
      client.makeUnaryRequest(path, raw, raw, bytes, (err: ServiceError | null) => resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '' })),
    );
  const GET_SPACES = '/l3vpn.v1.LabelsService/GetLabelSpaces';

  before(async () => {
    const log = createLogger('decode-test', 'silent');
    const implementation: Partial<LabelsServiceServer> = {
      getLabelSpaces: unary(log, 'GetLabelSpaces', async (req: GetLabelSpacesRequest) => {
        seen.push(req.node);
        return {};
      }),
    };
    server = await startGrpcServer({ listen: '127.0.0.1:0', log, services: [{ name: 'l3vpn.v1.LabelsService', definition: LabelsServiceService, implementation: implementation as never }] });
    client = new Client(`127.0.0.1:${server.port}`, insecure());
  });
  after(async () => {
    client?.close();
    await server?.stop(100);
  });

  test('are INVALID_ARGUMENT naming the method, not INTERNAL, and never reach the handler', async () => {
    // Field 1 (node) as a varint that never ends; a length past the end; wire type 7.
    for (const bytes of [[0x08, ...Array<number>(11).fill(0xff)], [0x0a, 0x64, 0x61], [0x0f, 0x01]]) {
      const r = await call(GET_SPACES, Buffer.from(bytes));
      assert.equal(r.code, status.INVALID_ARGUMENT, `${Buffer.from(bytes).toString('hex')}: ${status[r.code]} ${r.details}`);
      assert.match(r.details, /^request: is not a GetLabelSpaces request message/);
    }
    assert.deepEqual(seen, []);
  });

  test('a string field that is not UTF-8 is refused (proto3), not stored as U+FFFD', async () => {
    const r = await call(GET_SPACES, Buffer.from([0x0a, 0x03, 0x61, 0xc3, 0x28]));
    assert.equal(r.code, status.INVALID_ARGUMENT);
    assert.match(r.details, /not UTF-8/);
    const ok = await call(GET_SPACES, Buffer.from(GetLabelSpacesRequest.encode({ node: 'pé1' }).finish()));
    assert.equal(ok.code, status.OK);
    assert.deepEqual(seen, ['pé1']);
  });
});
