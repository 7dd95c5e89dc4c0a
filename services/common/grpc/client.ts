import {
  credentials,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { currentRequestIds, REQUEST_ID_HEADER } from '../ops/request-context.js';

type Callback<Res> = (error: ServiceError | null, response: Res) => void;

/** The unary methods of a generated grpc-js client, as async functions. */
export type PromiseClient<C> = {
  [K in keyof C as C[K] extends (req: any, md: Metadata, opts: Partial<CallOptions>, cb: Callback<any>) => ClientUnaryCall ? K : never]: C[K] extends (
    req: infer Req,
    md: Metadata,
    opts: Partial<CallOptions>,
    cb: Callback<infer Res>,
  ) => ClientUnaryCall
    ? (request: Req, options?: { deadlineMs?: number; metadata?: Metadata }) => Promise<Res>
    : never;
} & { close(): void; raw: C };

export function promiseClient<C extends Client>(client: C): PromiseClient<C> {
  return new Proxy({} as PromiseClient<C>, {
    get(_t, prop) {
      if (prop === 'close') return () => client.close();
      if (prop === 'raw') return client;
      const method = (client as unknown as Record<string | symbol, unknown>)[prop];
      if (typeof method !== 'function') return undefined;
      return (request: unknown, options: { deadlineMs?: number; metadata?: Metadata } = {}) =>
        new Promise((resolve, reject) => {
          const callOptions: Partial<CallOptions> = options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {};
          (method as (...a: unknown[]) => void).call(client, request, withRequestId(options.metadata ?? new Metadata()), callOptions, (err: ServiceError | null, res: unknown) =>
            err ? reject(err) : resolve(res),
          );
        });
    },
  });
}

/** The change being worked on travels with the call: the callee logs the same request id. */
function withRequestId(md: Metadata): Metadata {
  const id = currentRequestIds()[0];
  if (id && !md.get(REQUEST_ID_HEADER).length) md.set(REQUEST_ID_HEADER, id);
  return md;
}

export function insecure(): ChannelCredentials {
  return credentials.createInsecure();
}
