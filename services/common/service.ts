import type { Registry } from 'prom-client';
import type { ServiceAuth } from './auth/service-auth.js';
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

/** What a process hands the services it starts, beside their settings. */
export interface StartOptions {
  /** Callers accepted and the secret presented, when the process made them (`l3vpn all`); absent: from the auth.* settings. */
  auth?: ServiceAuth;
}
