// gRPC server plumbing shared by the services: standard health checking
// (grpc.health.v1), one log line per failed call, and a graceful stop.
import {
  Server,
  ServerCredentials,
  status,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type handleUnaryCall,
} from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '../logger.js';
import { ApiError, toServiceError } from './errors.js';

export interface GrpcService {
  /** Full name, e.g. "l3vpn.v1.LabelsService", reported by the health service. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
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

export async function startGrpcServer(options: {
  listen: string;
  services: GrpcService[];
  log: Logger;
}): Promise<RunningGrpcServer> {
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  for (const s of options.services) {
    server.addService(s.definition, s.implementation);
    health.setStatus(s.name, 'NOT_SERVING');
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  health.setStatus('', 'SERVING');
  for (const s of options.services) health.setStatus(s.name, 'SERVING');
  options.log.info({ listen: options.listen, port, services: options.services.map((s) => s.name) }, 'gRPC server listening');

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
