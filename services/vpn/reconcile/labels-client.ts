// The labels service's gRPC client, as async calls with a deadline (a job
// must fail and retry, never hang on a lost call).
import { status, type ServiceError } from '@grpc/grpc-js';
import { LabelsServiceClient } from '../../common/gen/proto/l3vpn/v1/labels.js';
import { callerOptions, type CallerCredentials } from '../../common/grpc/caller.js';
import { promiseClient, type PromiseClient } from '../../common/grpc/client.js';

export type LabelsApi = PromiseClient<InstanceType<typeof LabelsServiceClient>>;

const DEADLINE_MS = 15_000;

/**
 * `caller`: how the vpn service identifies itself (its client certificate
 * and/or its secret); the labels service refuses a call without it.
 * `maxReconnectBackoffMs`: the longest wait between the channel's attempts
 * to reach a labels service that is down (grpc-js waits up to 120 s), so
 * jobs retrying no slower than that find it as soon as it is back.
 */
export function labelsApi(address: string, caller: CallerCredentials, options: { maxReconnectBackoffMs?: number } = {}): LabelsApi {
  const client = promiseClient(
    new LabelsServiceClient(
      address,
      caller.channel,
      callerOptions(caller, {
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
        ...(options.maxReconnectBackoffMs ? { 'grpc.max_reconnect_backoff_ms': options.maxReconnectBackoffMs, 'grpc.initial_reconnect_backoff_ms': Math.min(1000, options.maxReconnectBackoffMs) } : {}),
      }),
    ),
  );
  return new Proxy(client, {
    get(target, prop) {
      const method = (target as unknown as Record<string | symbol, unknown>)[prop];
      if (typeof method !== 'function' || prop === 'close') return method;
      return (request: unknown, options: { deadlineMs?: number } = {}) => (method as (r: unknown, o: object) => Promise<unknown>)(request, { deadlineMs: DEADLINE_MS, ...options });
    },
  });
}

export const isStatus = (err: unknown, code: status) => (err as ServiceError | undefined)?.code === code;
