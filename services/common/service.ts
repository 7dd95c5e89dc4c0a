import type { Registry } from 'prom-client';
import type { ReadinessCheck } from './ops/server.js';

/** A started service, as `l3vpn <service>` and `l3vpn all` hold it. */
export interface RunningService {
  name: string;
  grpcPort?: number;
  /** Its Prometheus series, served by the process's ops listener. */
  metrics?: Registry;
  /** What /readyz asks: the dependencies it cannot work without. */
  checks?: ReadinessCheck[];
  /** Stops taking work, finishes what runs for up to graceMs, closes connections. */
  stop(graceMs: number): Promise<void>;
}
