/** A started service, as `l3vpn <service>` and `l3vpn all` hold it. */
export interface RunningService {
  name: string;
  grpcPort?: number;
  /** Stops taking work, finishes what runs for up to graceMs, closes connections. */
  stop(graceMs: number): Promise<void>;
}
