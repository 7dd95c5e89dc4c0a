import {
  HealthClient as GeneratedHealthClient,
  HealthCheckResponse_ServingStatus,
} from '../../services/common/gen/proto/grpc/health/v1/health.js';
import { insecure, promiseClient } from '../../services/common/grpc/client.js';

export { HealthCheckResponse_ServingStatus };

/** The standard gRPC health check, for probes in tests. */
export class HealthClient {
  private readonly client;
  constructor(address: string) {
    this.client = promiseClient(new GeneratedHealthClient(address, insecure()));
  }
  async check(service: string): Promise<HealthCheckResponse_ServingStatus> {
    return (await this.client.check({ service }, { deadlineMs: 5000 })).status;
  }
  close(): void {
    this.client.close();
  }
}
