// The external PE / route reflector of the lab: a real gobgpd the control
// plane does not manage. It reflects VPN routes to our bgp service (its
// route-reflector client, RFC 4456) and originates the routes of its own
// customer site with its own RD, label and route targets.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, run, waitUntil, which, type ProcessRecorder } from './processes.js';
import type { ExternalPe } from './topology.js';

export interface ExternalPeerOptions {
  pe: ExternalPe;
  as: number;
  /** Our bgp service's address and port. */
  neighbor: { address: string; port: number };
  /** Port gobgpd listens on for BGP (179 needs root). */
  port: number;
  dir: string;
  record?: ProcessRecorder;
}

const q = (s: string) => JSON.stringify(s);

export function gobgpConfig(o: ExternalPeerOptions): string {
  return [
    '[global.config]',
    `  as = ${o.as}`,
    `  router-id = ${q(o.pe.routerId)}`,
    `  port = ${o.port}`,
    `  local-address-list = [${q(o.pe.address)}]`,
    '',
    '[[neighbors]]',
    '  [neighbors.config]',
    `    neighbor-address = ${q(o.neighbor.address)}`,
    `    peer-as = ${o.as}`,
    '  [neighbors.transport.config]',
    `    local-address = ${q(o.pe.address)}`,
    `    remote-port = ${o.neighbor.port}`,
    '  [neighbors.timers.config]',
    '    connect-retry = 1',
    '    idle-hold-time-after-reset = 1',
    '  [neighbors.route-reflector.config]',
    '    route-reflector-client = true',
    `    route-reflector-cluster-id = ${q(o.pe.routerId)}`,
    // Graceful restart (RFC 4724): when the bgp service restarts, our routes stay (stale) until its End-of-RIB.
    '  [neighbors.graceful-restart.config]',
    '    enabled = true',
    '    restart-time = 120',
    '  [[neighbors.afi-safis]]',
    '    [neighbors.afi-safis.config]',
    '      afi-safi-name = "l3vpn-ipv4-unicast"',
    '    [neighbors.afi-safis.mp-graceful-restart.config]',
    '      enabled = true',
    '',
  ].join('\n');
}

export class ExternalPeer {
  private constructor(
    private readonly daemon: Daemon,
    readonly o: ExternalPeerOptions,
  ) {}

  static async missing(): Promise<string | undefined> {
    for (const bin of ['gobgpd', 'gobgp']) if (!(await which(bin))) return `${bin} is not installed (Debian: apt-get install gobgpd)`;
    return undefined;
  }

  static async start(o: ExternalPeerOptions): Promise<ExternalPeer> {
    const config = join(o.dir, 'gobgpd.toml');
    writeFileSync(config, gobgpConfig(o));
    const api = `${o.pe.address}:50051`;
    const daemon = Daemon.start('gobgpd', 'gobgpd', ['-f', config, '--api-hosts', api, '--pprof-disable', '-l', 'info'], join(o.dir, 'gobgpd.log'), process.env, o.record);
    const peer = new ExternalPeer(daemon, o);
    try {
      await waitUntil('gobgpd API', async () => {
        if (!daemon.running) throw new Error(`gobgpd exited; see ${daemon.logFile}`);
        return peer.cli(['global']).then(
          () => true,
          () => false,
        );
      }, 15_000, 100);
      for (const r of o.pe.routes) {
        const args = ['global', 'rib', '-a', 'vpnv4', 'add', r.prefix, 'label', String(r.label), 'rd', r.rd];
        for (const rt of r.routeTargets) args.push('rt', rt);
        await peer.cli([...args, 'nexthop', o.pe.nextHop]);
      }
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    return peer;
  }

  cli(args: string[]): Promise<string> {
    return run('gobgp', ['-u', this.o.pe.address, '-p', '50051', ...args]);
  }

  async sessionState(): Promise<string> {
    const out = await this.cli(['neighbor', this.o.neighbor.address]);
    return /BGP state = (\w+)/.exec(out)?.[1] ?? 'unknown';
  }

  stop(): Promise<void> {
    return this.daemon.stop(3000);
  }
}
