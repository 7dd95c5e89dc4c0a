// gRPC server plumbing shared by the services: standard health checking
// (grpc.health.v1, open to all: probes present no credential), TLS and
// client certificates (tls.*), caller authentication and per-method
// authorization for services with an access policy (access-control.ts), a
// request id and a duration metric per unary call, one log line per failed
// call, and a graceful stop.
import {
  Metadata,
  Server,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
  type handleServerStreamingCall,
  type handleUnaryCall,
} from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { Histogram, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { REQUEST_ID_HEADER, requestIdOf, withRequestIds } from '../ops/request-context.js';
import { serverCredentials, type TlsMaterial } from '../tls.js';
import { Callers } from '../auth/callers.js';
import { securityEvents } from '../ops/security-events.js';
import { guarded, type AccessPolicy, type Gatekeeper } from './access-control.js';
import { ApiError, toServiceError } from './errors.js';
import { Undecodable, withTolerantDecoding } from './request-decoding.js';

export interface GrpcService {
  /** Full name, e.g. "l3vpn.v1.LabelsService", reported by the health service. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
  /**
   * Who may call each method: every call is authenticated and checked
   * against it before its handler runs. Absent: the service authenticates
   * its callers itself (the vpn service's API tokens and agent identities).
   */
  access?: AccessPolicy;
}

export interface RunningGrpcServer {
  server: Server;
  port: number;
  health: HealthImplementation;
  /** Stops accepting calls, lets running ones finish for up to graceMs, then cuts the rest. */
  stop(graceMs: number): Promise<void>;
}

/** A unary handler written as an async function; ApiErrors become their status, anything else INTERNAL. */
export function unary<Req, Res>(
  log: Logger,
  method: string,
  fn: (request: Req) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request).then(
      (response) => callback(null, response),
      (err: unknown) => {
        if (err instanceof ApiError) {
          log.debug({ method, code: status[err.code], err: err.message }, 'call refused');
        } else {
          log.error({ method, err }, 'call failed');
        }
        callback(toServiceError(err));
      },
    );
  };
}

function callDurations(registry: Registry): Histogram<'grpc_service' | 'grpc_method' | 'grpc_code'> {
  const name = 'l3vpn_grpc_server_handling_seconds';
  return (
    (registry.getSingleMetric(name) as Histogram<'grpc_service' | 'grpc_method' | 'grpc_code'> | undefined) ??
    new Histogram({
      name,
      help: 'Duration of unary gRPC calls served, by method and status code',
      labelNames: ['grpc_service', 'grpc_method', 'grpc_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    })
  );
}

/** The service's handlers, answering a request that did not decode with INVALID_ARGUMENT before a handler sees it. */
function decodedOnly(definition: ServiceDefinition, implementation: UntypedServiceImplementation): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = { ...implementation };
  for (const [key, method] of Object.entries(definition)) {
    const handler = implementation[key];
    if (!handler || method.requestStream) continue;
    if (method.responseStream) {
      out[key] = (call: ServerWritableStream<unknown, unknown>) => {
        if (call.request instanceof Undecodable) call.emit('error', toServiceError(call.request.error()));
        else (handler as handleServerStreamingCall<unknown, unknown>)(call);
      };
    } else {
      out[key] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        if (call.request instanceof Undecodable) callback(toServiceError(call.request.error()));
        else (handler as handleUnaryCall<unknown, unknown>)(call, callback);
      };
    }
  }
  return out;
}

/**
 * Wraps each unary handler: the caller's x-request-id (or a new one) is the
 * current request id while it runs (logs, outbox rows, onward calls) and
 * goes back in the trailing metadata; its duration is observed by method
 * and status. Streaming handlers are left as they are.
 */
function instrumented(service: GrpcService, implementation: UntypedServiceImplementation, durations: Histogram<'grpc_service' | 'grpc_method' | 'grpc_code'> | undefined): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = { ...implementation };
  for (const [key, method] of Object.entries(service.definition)) {
    const handler = implementation[key] as handleUnaryCall<unknown, unknown> | undefined;
    if (!handler || method.requestStream || method.responseStream) continue;
    const labels = { grpc_service: service.name, grpc_method: method.path.split('/').pop() ?? key };
    out[key] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const offered = call.metadata.get(REQUEST_ID_HEADER)[0];
      const requestId = requestIdOf(typeof offered === 'string' ? offered : offered?.toString());
      const end = durations?.startTimer(labels);
      withRequestIds([requestId], () =>
        handler(call, (err, value, trailer, flags) => {
          const code = (err as Partial<ServiceError> | null)?.code ?? status.OK;
          end?.({ grpc_code: status[code] ?? String(code) });
          // In the trailers, which go out with the status anyway: sending it as
          // early response headers costs one more HTTP/2 frame and write per call.
          if (err && (err as Partial<ServiceError>).metadata instanceof Metadata) (err as ServiceError).metadata.set(REQUEST_ID_HEADER, requestId);
          const md = trailer ?? new Metadata();
          if (!err) md.set(REQUEST_ID_HEADER, requestId);
          callback(err, value, md, flags);
        }),
      );
    };
  }
  return out;
}

export async function startGrpcServer(options: {
  listen: string;
  services: GrpcService[];
  log: Logger;
  /** TLS and client-certificate settings (tls.*); plaintext without. */
  tls?: TlsMaterial;
  /** Where the call-duration histogram and the security-event counter go. */
  metrics?: Registry;
  /** The secrets accepted from callers of services with an access policy (auth.callers-file); none: certificates only. */
  callers?: Callers;
}): Promise<RunningGrpcServer> {
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  const durations = options.metrics ? callDurations(options.metrics) : undefined;
  const gate: Gatekeeper = { tls: options.tls, callers: options.callers ?? Callers.none(), events: securityEvents(options.log, options.metrics) };
  for (const s of options.services) {
    // Who calls is checked before what they sent: a caller without a
    // credential is UNAUTHENTICATED whatever its bytes.
    const decoded = decodedOnly(s.definition, s.implementation);
    const implementation = s.access ? guarded(s.definition, decoded, s.access, gate) : decoded;
    server.addService(withTolerantDecoding(s.definition), instrumented(s, implementation, durations));
    health.setStatus(s.name, 'NOT_SERVING');
  }
  const creds = serverCredentials(options.tls ?? { clientAuth: 'none' });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  health.setStatus('', 'SERVING');
  for (const s of options.services) health.setStatus(s.name, 'SERVING');
  const tls = options.tls?.cert ? `tls, client certificates: ${options.tls.clientAuth}` : 'plaintext';
  const guardedNames = options.services.filter((s) => s.access).map((s) => s.name);
  // A server that can authenticate nobody answers every call UNAUTHENTICATED: say so once, at start.
  if (guardedNames.length && gate.callers.size === 0 && (options.tls?.clientAuth ?? 'none') === 'none') {
    options.log.warn({ services: guardedNames }, 'no caller can authenticate: set auth.callers-file, or tls.client-auth with client certificates');
  }
  options.log.info({ listen: options.listen, port, tls, callers: gate.callers.size, services: options.services.map((s) => s.name) }, 'gRPC server listening');

  return {
    server,
    port,
    health,
    stop: async (graceMs) => {
      health.setStatus('', 'NOT_SERVING');
      for (const s of options.services) health.setStatus(s.name, 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          options.log.warn({ graceMs }, 'calls still running after the grace period; cutting them');
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
