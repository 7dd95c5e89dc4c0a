// How a client of the labels and bgp services identifies itself: its TLS
// client certificate (in the channel credentials) and/or its secret, sent as
// `authorization: Bearer <secret>` on every call, streaming ones included.
// grpc-js composes call credentials only with TLS channel credentials, so
// the secret goes in by an interceptor, which works on plaintext channels too.
import { credentials, InterceptingCall, type ChannelCredentials, type ClientOptions, type Interceptor } from '@grpc/grpc-js';
import type { ServiceAuth } from '../auth/service-auth.js';
import { serviceClientCredentials, type TlsMaterial } from '../tls.js';

export interface CallerCredentials {
  channel: ChannelCredentials;
  /** Sent as `authorization: Bearer <secret>`. */
  secret?: string;
}

/** This process as a caller of the other services: its certificate (tls.*) and its secret (auth.secret-file). */
export function serviceCaller(tls: TlsMaterial, auth: Pick<ServiceAuth, 'secret'>): CallerCredentials {
  return { channel: serviceClientCredentials(tls), ...(auth.secret ? { secret: auth.secret } : {}) };
}

/** A plaintext caller presenting `secret` (tests, tools, the lab). */
export function secretCaller(secret: string | undefined): CallerCredentials {
  return { channel: credentials.createInsecure(), ...(secret ? { secret } : {}) };
}

export function bearerInterceptor(secret: string): Interceptor {
  const value = `Bearer ${secret}`;
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', value);
        next(metadata, listener);
      },
    });
}

/** The client options that make a generated client present `caller`'s secret, merged into `options`. */
export function callerOptions(caller: CallerCredentials, options: ClientOptions = {}): ClientOptions {
  if (!caller.secret) return options;
  return { ...options, interceptors: [...(options.interceptors ?? []), bearerInterceptor(caller.secret)] };
}
