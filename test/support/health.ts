import type { ClientReadableStream } from '@grpc/grpc-js';
import {
  HealthClient as GeneratedHealthClient,
  HealthCheckResponse_ServingStatus,
  type HealthCheckResponse,
} from '../../services/common/gen/proto/grpc/health/v1/health.js';
import { insecure, promiseClient } from '../../services/common/grpc/client.js';
import { eventually } from './eventually.js';

export { HealthCheckResponse_ServingStatus };

/** The standard gRPC health check, for probes in tests. */
export class HealthClient {
  private readonly raw: GeneratedHealthClient;
  private readonly client;
  constructor(address: string) {
    this.raw = new GeneratedHealthClient(address, insecure());
    this.client = promiseClient(this.raw);
  }
  async check(service: string): Promise<HealthCheckResponse_ServingStatus> {
    return (await this.client.check({ service }, { deadlineMs: 5000 })).status;
  }
  /** Watches a service's status (grpc.health.v1 Watch): every status the server sends, in order. */
  watch(service: string): HealthWatch {
    return new HealthWatch(this.raw.watch({ service }));
  }
  close(): void {
    this.client.close();
  }
}

export class HealthWatch {
  readonly seen: HealthCheckResponse_ServingStatus[] = [];
  private error: Error | undefined;
  constructor(private readonly stream: ClientReadableStream<HealthCheckResponse>) {
    stream.on('data', (r: HealthCheckResponse) => this.seen.push(r.status));
    stream.on('error', (err: Error) => (this.error = err));
  }
  /** Waits until the server has sent `status` (the watch stays open). */
  async until(status: HealthCheckResponse_ServingStatus, timeoutMs = 20_000): Promise<void> {
    await eventually(
      () => `health ${HealthCheckResponse_ServingStatus[status]}; seen ${this.seen.map((s) => HealthCheckResponse_ServingStatus[s]).join(', ') || 'nothing'}${this.error ? `, then ${this.error.message}` : ''}`,
      () => this.seen.includes(status),
      { timeoutMs, intervalMs: 10 },
    );
  }
  cancel(): void {
    this.stream.cancel();
  }
}
