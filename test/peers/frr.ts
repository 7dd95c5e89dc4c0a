// FRR's bgpd as a harness peer.
//
// bgpd runs alone (-Z: no zebra, every next hop counts as valid), as root
// (-S), listening on its own address (-l ADDR -p PORT), with no vty TCP port
// (-P 0) and its vty socket in the private dir, queried with
// `vtysh --vty_socket DIR`. VPN routes are originated with
// `network P rd RD label L route-map RM` under `address-family ipv4|ipv6 vpn`,
// where the route map sets the route targets and the VPN next hop.
// FRR drops VPN routes whose next hop is in 127/8 as martian: use
// 198.51.100.x (or an IPv6 documentation address for VPN-IPv6).

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
  type Ipv4RouteSpec,
  canonAdminValue,
  defaultFamilies,
  familyOfPrefix,
  findNeighbor,
  routeKey,
  run,
  sortRts,
  startDaemon,
} from './common.js';
import { eventually } from '../support/eventually.js';
import { existsSync } from 'node:fs';

const AF: Record<Family, { conf: string; show: string; cap: string }> = {
  'ipv4-unicast': { conf: 'ipv4 unicast', show: 'ipv4 unicast', cap: 'ipv4Unicast' },
  vpnv4: { conf: 'ipv4 vpn', show: 'ipv4 vpn', cap: 'ipv4Vpn' },
  vpnv6: { conf: 'ipv6 vpn', show: 'ipv6 vpn', cap: 'ipv6Vpn' },
};

function vpnRouteMap(name: string, r: VpnRouteSpec): string[] {
  const l = [`route-map ${name} permit 10`];
  if (r.routeTargets.length) l.push(` set extcommunity rt ${r.routeTargets.map(canonAdminValue).join(' ')}`);
  l.push(` set ${familyOfPrefix(r.nextHop) === 'ipv6' ? 'ipv6' : 'ipv4'} vpn next-hop ${r.nextHop}`);
  if (r.localPref !== undefined) l.push(` set local-preference ${r.localPref}`);
  if (r.med !== undefined) l.push(` set metric ${r.med}`);
  l.push('exit');
  return l;
}

function ipv4RouteMap(name: string, r: Ipv4RouteSpec): string[] {
  const l = [`route-map ${name} permit 10`, ` set ip next-hop ${r.nextHop}`];
  if (r.localPref !== undefined) l.push(` set local-preference ${r.localPref}`);
  if (r.med !== undefined) l.push(` set metric ${r.med}`);
  l.push('exit');
  return l;
}

const vpnNetwork = (r: VpnRouteSpec, rm: string): string =>
  `network ${r.prefix} rd ${canonAdminValue(r.rd)} label ${r.label} route-map ${rm}`;

/** Route-map names for start-up VPN routes: one map per distinct (RTs, next hop, LOCAL_PREF, MED), so 100,000 routes share one. */
export function frrStartupRouteMaps(routes: VpnRouteSpec[]): string[] {
  const bySig = new Map<string, string>();
  return routes.map((r) => {
    const sig = JSON.stringify([r.routeTargets.map(canonAdminValue), r.nextHop, r.localPref, r.med]);
    let name = bySig.get(sig);
    if (!name) bySig.set(sig, (name = `RM-S${bySig.size}`));
    return name;
  });
}

export function frrConfig(o: PeerOptions, logFile: string, routeMapName: (i: number) => string): string {
  const l: string[] = [
    'frr defaults traditional',
    `hostname ${o.name ?? 'frr'}`,
    `log file ${logFile} informational`,
    '!',
  ];
  const vpn = o.vpnRoutes ?? [];
  const v4 = o.ipv4Routes ?? [];
  const seen = new Set<string>();
  vpn.forEach((r, i) => {
    const name = routeMapName(i);
    if (!seen.has(name)) l.push(...vpnRouteMap(name, r));
    seen.add(name);
  });
  v4.forEach((r, i) => l.push(...ipv4RouteMap(`RM-U${i}`, r)));
  l.push(
    '!',
    `router bgp ${o.localAs}`,
    ` bgp router-id ${o.routerId}`,
    ' bgp log-neighbor-changes',
    ' no bgp default ipv4-unicast',
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
  );
  if (o.neighbors.some((n) => n.routeReflectorClient)) l.push(` bgp cluster-id ${o.clusterId ?? o.routerId}`);
  for (const n of o.neighbors) {
    l.push(` neighbor ${n.address} remote-as ${n.remoteAs}`, ` neighbor ${n.address} update-source ${o.address}`);
    // The default connect-retry is 120 s.
    l.push(` neighbor ${n.address} timers connect 1`);
    if (n.passive) l.push(` neighbor ${n.address} passive`);
    if (n.disabled) l.push(` neighbor ${n.address} shutdown`);
    if (n.port !== undefined) l.push(` neighbor ${n.address} port ${n.port}`);
  }
  for (const f of ['ipv4-unicast', 'vpnv4', 'vpnv6'] as Family[]) {
    const ns = o.neighbors.filter((n) => defaultFamilies(n).includes(f));
    const nets =
      f === 'ipv4-unicast'
        ? v4.map((r, i) => ` network ${r.prefix} route-map RM-U${i}`)
        : vpn.flatMap((r, i) => (r.family === f ? [' ' + vpnNetwork(r, routeMapName(i))] : []));
    if (!ns.length && !nets.length) continue;
    l.push(` address-family ${AF[f].conf}`);
    for (const n of ns) {
      l.push(`  neighbor ${n.address} activate`);
      if (n.routeReflectorClient) l.push(`  neighbor ${n.address} route-reflector-client`);
    }
    l.push(...nets.map((s) => ' ' + s));
    l.push(' exit-address-family');
  }
  l.push('!', 'end');
  return l.join('\n') + '\n';
}

/** Splits a stream of concatenated JSON documents (what vtysh prints for several -c commands). */
export function splitJsonStream(s: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0 && start >= 0) {
        out.push(JSON.parse(s.slice(start, i + 1)));
        start = -1;
      }
    }
  }
  return out;
}

interface FrrListPath {
  bestpath?: boolean;
  path?: string;
  metric?: number;
  locPrf?: number;
  nexthops?: { ip?: string; afi?: string; used?: boolean }[];
}
interface FrrDetailPath {
  bestpath?: { overall?: boolean };
  extendedCommunity?: { string?: string };
  remoteLabel?: number;
  aspath?: { string?: string };
  metric?: number;
  locPrf?: number;
  nexthops?: { ip?: string }[];
}

/** Labels of best paths from the text table ("UN=... label=N" under each entry). */
export function frrTextLabels(text: string): Map<string, number> {
  const labels = new Map<string, number>();
  let rd = '';
  let bestKey: string | undefined;
  for (const line of text.split('\n')) {
    const rdm = /^Route Distinguisher: (\S+)/.exec(line);
    if (rdm) {
      rd = canonAdminValue(rdm[1] as string);
      continue;
    }
    const pm = /^[ *=sdhrSRu]*>i?\s*([0-9a-fA-F:.]+\/\d+)/.exec(line);
    if (pm) {
      bestKey = `${rd} ${pm[1]}`;
      continue;
    }
    if (/^[ *=sdhrSRu]+i?\s*[0-9a-fA-F:.]+\/\d+/.test(line) || /^[*]/.test(line)) {
      bestKey = undefined; // a non-best path
      continue;
    }
    const lm = /\blabel=(\d+)/.exec(line);
    if (lm && bestKey) {
      labels.set(bestKey, Number(lm[1]));
      bestKey = undefined;
    }
  }
  return labels;
}

export class FrrPeer extends BasePeer {
  readonly kind = 'frr' as const;
  private readonly originated = new Map<string, { spec: VpnRouteSpec; rm: string; shared?: boolean }>();
  private rmSeq = 0;

  constructor(opts: PeerOptions) {
    super(opts, 'frr');
  }

  /** Runs vtysh commands in order (one -c each); throws if vtysh reports an error. */
  async vtysh(cmds: string[], timeoutMs = 30000): Promise<string> {
    const args = ['--vty_socket', this.dir];
    for (const c of cmds) args.push('-c', c);
    const r = await run(BIN.vtysh, args, timeoutMs);
    const err = /^% .*$/m.exec(r.stdout) ?? /^% .*$/m.exec(r.stderr);
    if (r.code !== 0 || (err && !/Network not in table/.test(err[0]))) {
      throw new Error(`vtysh ${cmds.join(' | ')}: exit ${r.code}: ${(r.stdout + r.stderr).trim().slice(0, 2000)}`);
    }
    return r.stdout;
  }

  async start(): Promise<void> {
    const conf = join(this.dir, 'bgpd.conf');
    const log = join(this.dir, 'bgpd.log');
    const startup = this.opts.vpnRoutes ?? [];
    const maps = frrStartupRouteMaps(startup);
    writeFileSync(conf, frrConfig(this.opts, log, (i) => maps[i] as string));
    // Shared start-up maps are never deleted with a route.
    startup.forEach((r, i) => this.originated.set(`${r.family} ${routeKey(r)}`, { spec: r, rm: maps[i] as string, shared: true }));
    this.daemon = startDaemon(
      BIN.bgpd,
      ['-Z', '-S', '-l', this.address, '-p', String(this.port), '-P', '0', '--vty_socket', this.dir, '-f', conf, '-i', join(this.dir, 'bgpd.pid')],
      log,
      this.dir,
    );
    await eventually(
      () => `bgpd vty in ${this.dir} not up; log:\n${this.logTail(30)}`,
      async () => {
        this.checkAlive();
        if (!existsSync(join(this.dir, 'bgpd.vty'))) return undefined;
        const r = await run(BIN.vtysh, ['--vty_socket', this.dir, '-c', 'show bgp summary json'], 3000);
        return r.code === 0 ? true : undefined;
      },
      { timeoutMs: 15000, intervalMs: 50 },
    );
  }

  async neighborInfo(neighbor: string): Promise<NeighborInfo> {
    const nb = findNeighbor(this.opts, neighbor);
    const r = await run(BIN.vtysh, ['--vty_socket', this.dir, '-c', `show bgp neighbors ${neighbor} json`], 5000);
    if (r.code !== 0) return { state: 'Unknown', families: [] };
    const j = (JSON.parse(r.stdout) as Record<string, { bgpState?: string; neighborCapabilities?: { multiprotocolExtensions?: Record<string, Record<string, boolean>> } }>)[neighbor];
    const raw = j?.bgpState ?? 'Unknown';
    const state: SessionState = (['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as SessionState[]).includes(raw as SessionState)
      ? (raw as SessionState)
      : raw === 'Clearing' || raw === 'Deleted'
        ? 'Idle'
        : 'Unknown';
    if (state !== 'Established') return { state, families: [] };
    const mp = j?.neighborCapabilities?.multiprotocolExtensions ?? {};
    const families = defaultFamilies(nb).filter((f) => mp[AF[f].cap]?.advertisedAndReceived === true);
    return { state, families };
  }

  async vpnRoutes(family: VpnFamily): Promise<VpnRoute[]> {
    const af = AF[family].show;
    const list = JSON.parse(await this.vtysh([`show bgp ${af} json`])) as {
      routes?: { routeDistinguishers?: Record<string, Record<string, FrrListPath[]>> };
    };
    const rds = list.routes?.routeDistinguishers ?? {};
    const entries: { rd: string; prefix: string; best: FrrListPath }[] = [];
    for (const [rd, prefixes] of Object.entries(rds)) {
      for (const [prefix, paths] of Object.entries(prefixes)) {
        const best = paths.find((p) => p.bestpath) ;
        if (best) entries.push({ rd, prefix, best });
      }
    }
    if (!entries.length) return [];
    const details = splitJsonStream(
      await this.vtysh(entries.map((e) => `show bgp ${af} rd ${e.rd} ${e.prefix} json`)),
    ) as Record<string, { prefix?: string; paths?: FrrDetailPath[] }>[];
    const textLabels = frrTextLabels(await this.vtysh([`show bgp ${af}`]));
    return entries.map((e, i) => {
      const d = details[i]?.[e.rd]?.paths?.find((p) => p.bestpath?.overall) ;
      const rts = (d?.extendedCommunity?.string ?? '')
        .split(/\s+/)
        .filter((x) => x.startsWith('RT:'))
        .map((x) => x.slice(3));
      const label = d?.remoteLabel ?? textLabels.get(`${canonAdminValue(e.rd)} ${e.prefix}`);
      const nh = e.best.nexthops?.find((n) => n.used) ?? e.best.nexthops?.[0];
      const r: VpnRoute = {
        rd: canonAdminValue(e.rd),
        prefix: e.prefix,
        labels: label === undefined ? [] : [label],
        nextHop: nh?.ip ?? '',
        routeTargets: sortRts(rts),
        asPath: (e.best.path ?? '')
          .split(/\s+/)
          .filter((x) => /^\d+$/.test(x))
          .map(Number),
      };
      if (e.best.locPrf !== undefined) r.localPref = e.best.locPrf;
      if (e.best.metric !== undefined) r.med = e.best.metric;
      return r;
    });
  }

  async receivedCount(neighbor: string, family: Family): Promise<number> {
    const j = JSON.parse(await this.vtysh([`show bgp ${AF[family].show} summary json`])) as Record<string, unknown>;
    const sect = (j[AF[family].cap] ?? j) as { peers?: Record<string, { pfxRcd?: number }> };
    return sect.peers?.[neighbor]?.pfxRcd ?? 0;
  }

  async addVpnRoute(r: VpnRouteSpec): Promise<void> {
    const rm = `RM-R${this.rmSeq++}`;
    await this.vtysh([
      'configure terminal',
      ...vpnRouteMap(rm, r),
      `router bgp ${this.localAs}`,
      `address-family ${AF[r.family].conf}`,
      vpnNetwork(r, rm),
      'end',
    ]);
    this.originated.set(`${r.family} ${routeKey(r)}`, { spec: r, rm });
  }

  async deleteVpnRoute(r: Pick<VpnRouteSpec, 'family' | 'rd' | 'prefix'>): Promise<void> {
    const key = `${r.family} ${routeKey(r)}`;
    const o = this.originated.get(key);
    if (!o) throw new Error(`${this.name}: no originated ${key}`);
    await this.vtysh([
      'configure terminal',
      `router bgp ${this.localAs}`,
      `address-family ${AF[r.family].conf}`,
      // The no-form takes no route-map.
      `no network ${o.spec.prefix} rd ${canonAdminValue(o.spec.rd)} label ${o.spec.label}`,
      'end',
    ]);
    if (!o.shared) await this.vtysh(['configure terminal', `no route-map ${o.rm}`, 'end']);
    this.originated.delete(key);
  }

  async shutdownNeighbor(neighbor: string): Promise<void> {
    await this.vtysh(['configure terminal', `router bgp ${this.localAs}`, `neighbor ${neighbor} shutdown`, 'end']);
  }

  async enableNeighbor(neighbor: string): Promise<void> {
    await this.vtysh(['configure terminal', `router bgp ${this.localAs}`, `no neighbor ${neighbor} shutdown`, 'end']);
  }
}

export async function startFrr(opts: PeerOptions): Promise<FrrPeer> {
  const p = new FrrPeer(opts);
  try {
    await p.start();
  } catch (e) {
    await p.stop().catch(() => undefined);
    throw e;
  }
  return p;
}
