// GoBGP (gobgpd + gobgp CLI) as a harness peer.
//
// gobgpd runs in the foreground with a generated TOML config, its gRPC API on
// ADDR:50051 (--api-hosts) and pprof off, so instances on different
// 127.0.0.x addresses never collide. Routes are originated through the CLI
// (gobgpd's config file has no static routes).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BasePeer,
  BIN,
  type Family,
  type NeighborInfo,
  type PeerOptions,
  type SessionState,
  type VpnFamily,
  type VpnRoute,
  type VpnRouteSpec,
  defaultFamilies,
  findNeighbor,
  gobgpAdminValue,
  routeKey,
  run,
  runOk,
  sortRts,
  startDaemon,
} from './common.js';
import { eventually } from '../support/eventually.js';

const AFI_SAFI: Record<Family, { name: string; afi: number; safi: number; cli: string }> = {
  'ipv4-unicast': { name: 'ipv4-unicast', afi: 1, safi: 1, cli: 'ipv4' },
  vpnv4: { name: 'l3vpn-ipv4-unicast', afi: 1, safi: 128, cli: 'vpnv4' },
  vpnv6: { name: 'l3vpn-ipv6-unicast', afi: 2, safi: 128, cli: 'vpnv6' },
};

// apipb.PeerState.SessionState
const STATES: SessionState[] = ['Unknown', 'Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

const q = (s: string): string => JSON.stringify(s);

export function gobgpConfig(o: PeerOptions): string {
  const port = o.port ?? 179;
  const lines: string[] = [
    '[global.config]',
    `  as = ${o.localAs}`,
    `  router-id = ${q(o.routerId)}`,
    `  port = ${port}`,
    `  local-address-list = [${q(o.address)}]`,
  ];
  for (const n of o.neighbors) {
    lines.push(
      '',
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = ${q(n.address)}`,
      `    peer-as = ${n.remoteAs}`,
      `    admin-down = ${n.disabled ? 'true' : 'false'}`,
      '  [neighbors.transport.config]',
      `    local-address = ${q(o.address)}`,
      `    passive-mode = ${n.passive ? 'true' : 'false'}`,
    );
    if (n.port !== undefined) lines.push(`    remote-port = ${n.port}`);
    lines.push(
      '  [neighbors.timers.config]',
      // Defaults are 120 s connect-retry and 30 s idle hold after a reset:
      // far too slow for tests that bounce sessions.
      '    connect-retry = 1',
      '    idle-hold-time-after-reset = 1',
      '    hold-time = 90',
      '    keepalive-interval = 30',
    );
    if (n.routeReflectorClient) {
      lines.push(
        '  [neighbors.route-reflector.config]',
        '    route-reflector-client = true',
        `    route-reflector-cluster-id = ${q(o.clusterId ?? o.routerId)}`,
      );
    }
    const names = defaultFamilies(n).map((f) => AFI_SAFI[f].name);
    if (n.rtc) names.push('rtc');
    for (const name of names) {
      lines.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = ${q(name)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Decodes the family out of GoBGP's base64 MultiProtocolCapability (protobuf {family:{afi,safi}}). */
function mpCapFamily(b64: string): { afi: number; safi: number } | undefined {
  const b = Buffer.from(b64, 'base64');
  // 0a LEN (08 AFI-varint) (10 SAFI-varint)
  let i = 0;
  if (b[i++] !== 0x0a) return undefined;
  i++; // length
  let afi = 0;
  let safi = 0;
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const byte = b[i++];
      if (byte === undefined) return v;
      v |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
      shift += 7;
    }
  };
  while (i < b.length) {
    const tag = b[i++];
    if (tag === 0x08) afi = varint();
    else if (tag === 0x10) safi = varint();
    else break;
  }
  return { afi, safi };
}

interface GobgpAttr {
  type: number;
  value?: unknown;
  as_paths?: { segment_type?: number; num?: number; asns?: number[] }[];
  metric?: number;
  nexthop?: string;
}
interface GobgpPath {
  nlri: { prefix: string; labels?: number[]; rd?: { type: number; admin: number | string; assigned: number } };
  best?: boolean;
  attrs: GobgpAttr[];
}

export function normaliseGobgpRib(json: string): VpnRoute[] {
  if (json.trim() === '' || json.trim() === 'null') return [];
  const rib = JSON.parse(json) as Record<string, GobgpPath[]>;
  const out: VpnRoute[] = [];
  for (const paths of Object.values(rib)) {
    const p = paths.find((x) => x.best) ?? paths[0];
    if (!p) continue;
    const rd = p.nlri.rd ? `${p.nlri.rd.admin}:${p.nlri.rd.assigned}` : '';
    const r: VpnRoute = { rd, prefix: p.nlri.prefix, labels: p.nlri.labels ?? [], nextHop: '', routeTargets: [], asPath: [] };
    for (const a of p.attrs) {
      switch (a.type) {
        case 2:
          r.asPath = (a.as_paths ?? []).flatMap((s) => s.asns ?? []);
          break;
        case 3:
        case 14:
          if (a.nexthop) r.nextHop = a.nexthop;
          break;
        case 4:
          r.med = a.metric ?? 0;
          break;
        case 5:
          r.localPref = Number(a.value ?? 0);
          break;
        case 16: {
          const ecs = (a.value ?? []) as { type?: number; subtype?: number; value?: string }[];
          r.routeTargets = sortRts(ecs.filter((e) => e.subtype === 2 && (e.type ?? 0) <= 2 && e.value).map((e) => e.value as string));
          break;
        }
      }
    }
    out.push(r);
  }
  return out;
}

export class GobgpPeer extends BasePeer {
  readonly kind = 'gobgp' as const;
  readonly apiHost: string;
  private readonly originated = new Map<string, VpnRouteSpec>();

  constructor(opts: PeerOptions) {
    super(opts, 'gobgp');
    this.apiHost = opts.address;
  }

  /** `gobgp -u ADDR ARGS...` */
  cli(args: string[], timeoutMs = 15000): Promise<string> {
    return runOk(BIN.gobgp, ['-u', this.apiHost, '-p', '50051', ...args], timeoutMs);
  }

  async start(): Promise<void> {
    const conf = join(this.dir, 'gobgpd.toml');
    writeFileSync(conf, gobgpConfig(this.opts));
    this.daemon = startDaemon(
      BIN.gobgpd,
      ['-f', conf, '-t', 'toml', '--api-hosts', `${this.apiHost}:50051`, '--pprof-disable', '-p', '-l', 'info'],
      join(this.dir, 'gobgpd.log'),
      this.dir,
    );
    await eventually(
      () => `gobgpd API on ${this.apiHost}:50051 not up; log:\n${this.logTail(30)}`,
      async () => {
        this.checkAlive();
        const r = await run(BIN.gobgp, ['-u', this.apiHost, '-p', '50051', 'global'], 3000);
        return r.code === 0 ? true : undefined;
      },
      { timeoutMs: 10000, intervalMs: 50 },
    );
    for (const r of this.opts.ipv4Routes ?? []) {
      const args = ['global', 'rib', '-a', 'ipv4', 'add', r.prefix, 'nexthop', r.nextHop];
      if (r.med !== undefined) args.push('med', String(r.med));
      if (r.localPref !== undefined) args.push('local-pref', String(r.localPref));
      await this.cli(args);
    }
    for (const r of this.opts.vpnRoutes ?? []) await this.addVpnRoute(r);
  }

  async neighborInfo(neighbor: string): Promise<NeighborInfo> {
    const n = findNeighbor(this.opts, neighbor);
    const r = await run(BIN.gobgp, ['-u', this.apiHost, '-p', '50051', '-j', 'neighbor', neighbor], 5000);
    if (r.code !== 0) return { state: 'Unknown', families: [] };
    const j = JSON.parse(r.stdout) as {
      state?: { session_state?: number; remote_cap?: { type_url?: string; value?: string }[] };
    };
    const state = STATES[j.state?.session_state ?? 0] ?? 'Unknown';
    if (state !== 'Established') return { state, families: [] };
    const remote = (j.state?.remote_cap ?? [])
      .filter((c) => c.type_url?.endsWith('MultiProtocolCapability') && c.value)
      .map((c) => mpCapFamily(c.value as string));
    const families = defaultFamilies(n).filter((f) =>
      remote.some((x) => x && x.afi === AFI_SAFI[f].afi && x.safi === AFI_SAFI[f].safi),
    );
    return { state, families };
  }

  async vpnRoutes(family: VpnFamily): Promise<VpnRoute[]> {
    return normaliseGobgpRib(await this.cli(['-j', 'global', 'rib', '-a', family]));
  }

  async receivedCount(neighbor: string, family: Family): Promise<number> {
    const j = JSON.parse(await this.cli(['-j', 'neighbor', neighbor])) as {
      afi_safis?: { state?: { family?: { afi?: number; safi?: number }; accepted?: number; received?: number } }[];
    };
    const f = AFI_SAFI[family];
    const s = (j.afi_safis ?? []).find((x) => (x.state?.family?.afi ?? 0) === f.afi && (x.state?.family?.safi ?? 0) === f.safi);
    return s?.state?.accepted ?? 0;
  }

  private vpnArgs(r: Pick<VpnRouteSpec, 'family' | 'rd' | 'prefix' | 'label'>): string[] {
    return ['global', 'rib', '-a', r.family, r.prefix, 'label', String(r.label), 'rd', gobgpAdminValue(r.rd)];
  }

  async addVpnRoute(r: VpnRouteSpec): Promise<void> {
    const args = this.vpnArgs(r);
    args.splice(4, 0, 'add');
    for (const rt of r.routeTargets) args.push('rt', gobgpAdminValue(rt));
    args.push('nexthop', r.nextHop);
    if (r.med !== undefined) args.push('med', String(r.med));
    if (r.localPref !== undefined) args.push('local-pref', String(r.localPref));
    await this.cli(args);
    this.originated.set(`${r.family} ${routeKey(r)}`, r);
  }

  async deleteVpnRoute(r: Pick<VpnRouteSpec, 'family' | 'rd' | 'prefix'>): Promise<void> {
    const key = `${r.family} ${routeKey(r)}`;
    const full = this.originated.get(key);
    if (!full) throw new Error(`${this.name}: no originated ${key}`);
    const args = this.vpnArgs(full);
    args.splice(4, 0, 'del');
    await this.cli(args);
    this.originated.delete(key);
  }

  /**
   * A GoBGP VRF. GoBGP originates one RT membership (RFC 4684) per import RT
   * of its VRFs: the only way to make it advertise memberships (its CLI
   * cannot add RTC routes).
   */
  async addVrf(name: string, rd: string, importRts: string[], exportRts: string[]): Promise<void> {
    const args = ['vrf', 'add', name, 'rd', gobgpAdminValue(rd), 'rt'];
    for (const rt of importRts) args.push('import', gobgpAdminValue(rt));
    for (const rt of exportRts) args.push('export', gobgpAdminValue(rt));
    await this.cli(args);
  }

  async deleteVrf(name: string): Promise<void> {
    await this.cli(['vrf', 'del', name]);
  }

  /**
   * RT memberships as "ORIGIN-AS:RT" ("65000:65000:100"; "default" for the
   * zero-length one): the global RTC table, or what one neighbour sent.
   */
  async rtcMemberships(neighbor?: string): Promise<string[]> {
    const args = neighbor ? ['-j', 'neighbor', neighbor, 'adj-in', '-a', 'rtc'] : ['-j', 'global', 'rib', '-a', 'rtc'];
    const r = await run(BIN.gobgp, ['-u', this.apiHost, '-p', '50051', ...args], 10000);
    const text = r.stdout.trim();
    if (r.code !== 0 || text === '' || text === 'null' || !text.startsWith('{')) return [];
    const rib = JSON.parse(text) as Record<string, unknown>;
    return Object.keys(rib)
      .map((k) => (k.endsWith('default') ? 'default' : k))
      .sort();
  }

  async shutdownNeighbor(neighbor: string): Promise<void> {
    await this.cli(['neighbor', neighbor, 'disable']);
  }

  async enableNeighbor(neighbor: string): Promise<void> {
    await this.cli(['neighbor', neighbor, 'enable']);
  }
}

export async function startGobgp(opts: PeerOptions): Promise<GobgpPeer> {
  const p = new GobgpPeer(opts);
  try {
    await p.start();
  } catch (e) {
    await p.stop().catch(() => undefined);
    throw e;
  }
  return p;
}

