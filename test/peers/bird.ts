// BIRD 2 as a harness peer.
//
// `bird -f -c CONF -s CTL -P PID` in the foreground; queries through
// `birdc -s CTL`. VPN routes live in `vpn4 table vpntab4` / `vpn6 table
// vpntab6` and go over `vpn4 mpls { }` / `vpn6 mpls { }` channels. BIRD
// cannot add a route at run time from its CLI, so originated routes are
// static routes in an included file that is rewritten and reloaded
// (`birdc configure`); BIRD only re-announces what changed.
//
// A static VPN route needs a next hop that BIRD considers reachable and an
// MPLS label: `via NH%lo onlink mpls LABEL` does both without touching the
// host's interfaces (a blackhole route with bgp_next_hop set is rejected on
// export as "Invalid route" because it has no label).

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
  findNeighbor,
  ident,
  parseAdminValue,
  routeKey,
  run,
  sortRts,
  startDaemon,
  tailFile,
} from './common.js';
import { eventually } from '../support/eventually.js';

const CHANNEL: Record<Family, { conf: string; show: string; table: string }> = {
  'ipv4-unicast': { conf: 'ipv4', show: 'ipv4', table: 'master4' },
  vpnv4: { conf: 'vpn4 mpls', show: 'vpn4-mpls', table: 'vpntab4' },
  vpnv6: { conf: 'vpn6 mpls', show: 'vpn6-mpls', table: 'vpntab6' },
};

export const birdProtocolName = (neighbor: string): string => `n_${ident(neighbor)}`;

function birdRt(rt: string): string {
  const v = parseAdminValue(rt);
  return `(rt, ${v.admin}, ${v.assigned})`;
}

/** One static route line (the attribute block sets RTs, LOCAL_PREF, MED). */
export function birdStaticVpnRoute(r: VpnRouteSpec): string {
  const attrs: string[] = r.routeTargets.map((rt) => `bgp_ext_community.add(${birdRt(rt)});`);
  if (r.localPref !== undefined) attrs.push(`bgp_local_pref = ${r.localPref};`);
  if (r.med !== undefined) attrs.push(`bgp_med = ${r.med};`);
  const block = attrs.length ? ` { ${attrs.join(' ')} }` : '';
  return `  route ${canonAdminValue(r.rd)} ${r.prefix} via ${r.nextHop}%lo onlink mpls ${r.label}${block};`;
}

function birdStaticIpv4Route(r: Ipv4RouteSpec): string {
  const attrs: string[] = [];
  if (r.localPref !== undefined) attrs.push(`bgp_local_pref = ${r.localPref};`);
  if (r.med !== undefined) attrs.push(`bgp_med = ${r.med};`);
  const block = attrs.length ? ` { ${attrs.join(' ')} }` : '';
  return `  route ${r.prefix} via ${r.nextHop}%lo onlink${block};`;
}

/** The included file with every originated route, one static protocol per table. */
export function birdRoutesConfig(vpn: Iterable<VpnRouteSpec>, v4: Ipv4RouteSpec[] = []): string {
  const v4vpn: string[] = [];
  const v6vpn: string[] = [];
  for (const r of vpn) (r.family === 'vpnv4' ? v4vpn : v6vpn).push(birdStaticVpnRoute(r));
  return [
    'protocol static static_vpn4 {',
    '  vpn4 { table vpntab4; };',
    ...v4vpn,
    '}',
    'protocol static static_vpn6 {',
    '  vpn6 { table vpntab6; };',
    ...v6vpn,
    '}',
    'protocol static static_ipv4 {',
    '  ipv4;',
    ...v4.map(birdStaticIpv4Route),
    '}',
    '',
  ].join('\n');
}

export function birdConfig(o: PeerOptions, dir: string): string {
  const port = o.port ?? 179;
  const l: string[] = [
    `log "${join(dir, 'bird.log')}" all;`,
    `router id ${o.routerId};`,
    'protocol device { }',
    'vpn4 table vpntab4;',
    'vpn6 table vpntab6;',
    `include "${join(dir, 'routes.conf')}";`,
  ];
  for (const n of o.neighbors) {
    l.push(
      `protocol bgp ${birdProtocolName(n.address)} {`,
      `  local ${o.address} port ${port} as ${o.localAs};`,
      `  neighbor ${n.address} port ${n.port ?? 179} as ${n.remoteAs};`,
      '  strict bind on;',
      // Defaults: 120 s connect retry, 5 s connect delay, and 60-300 s of
      // error wait after any NOTIFICATION: far too slow for tests.
      '  connect retry time 1;',
      '  connect delay time 1;',
      '  error wait time 1, 5;',
      '  error forget time 10;',
      '  debug { states };',
    );
    if (n.passive) l.push('  passive on;');
    if (n.gracefulRestart) l.push('  graceful restart on;');
    // BIRD takes a single-hop eBGP neighbour in 127/8 as "Invalid remote
    // address" (lo is not a direct network for it): use multihop.
    if (n.remoteAs !== o.localAs) l.push('  multihop;');
    if (n.disabled) l.push('  disabled;');
    if (n.routeReflectorClient) l.push('  rr client;', `  rr cluster id ${o.clusterId ?? o.routerId};`);
    for (const f of defaultFamilies(n)) {
      const c = CHANNEL[f];
      l.push(`  ${c.conf} { ${f === 'ipv4-unicast' ? '' : `table ${c.table}; `}import all; export all; };`);
    }
    l.push('}');
  }
  return l.join('\n') + '\n';
}

/** Parses `birdc show route all table T` (text) into normalised routes (primary routes only). */
export function parseBirdRoutes(text: string): VpnRoute[] {
  const out: VpnRoute[] = [];
  let cur: (VpnRoute & { primary: boolean; via?: string; viaLabels?: number[] }) | undefined;
  const flush = (): void => {
    if (!cur) return;
    if (cur.primary) {
      const { primary: _p, via, viaLabels, ...r } = cur;
      if (!r.nextHop && via) r.nextHop = via;
      if (!r.labels.length && viaLabels) r.labels = viaLabels;
      out.push(r);
    }
    cur = undefined;
  };
  let lastNet: { rd: string; prefix: string } | undefined;
  for (const line of text.split('\n')) {
    const head = /^(\S+) (\S+\/\d+)\s+\S+ \[[^\]]*\]( \*)?/.exec(line);
    const alt = /^\s+\S+ \[[^\]]*\]( \*)?/.exec(line);
    if (head || (alt && !line.startsWith('\t'))) {
      flush();
      if (head) lastNet = { rd: head[1] as string, prefix: head[2] as string };
      if (!lastNet) continue;
      cur = {
        rd: canonAdminValue(lastNet.rd),
        prefix: lastNet.prefix,
        labels: [],
        nextHop: '',
        routeTargets: [],
        asPath: [],
        primary: Boolean((head ?? alt)?.[head ? 3 : 1]),
      };
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    let m: RegExpExecArray | null;
    if ((m = /^via (\S+)(?: on \S+)?(?: mpls (\S+))?/.exec(t))) {
      cur.via = m[1];
      if (m[2]) cur.viaLabels = m[2].split('/').map(Number);
    } else if ((m = /^BGP\.next_hop: (\S+)/.exec(t))) {
      cur.nextHop = m[1] as string;
    } else if ((m = /^BGP\.mpls_label_stack: (.*)$/.exec(t))) {
      cur.labels = (m[1] as string).split(/[\s/]+/).filter(Boolean).map(Number);
    } else if ((m = /^BGP\.as_path:(.*)$/.exec(t))) {
      cur.asPath = (m[1] as string).split(/[\s{}]+/).filter((x) => /^\d+$/.test(x)).map(Number);
    } else if ((m = /^BGP\.local_pref: (\d+)/.exec(t))) {
      cur.localPref = Number(m[1]);
    } else if ((m = /^BGP\.med: (\d+)/.exec(t))) {
      cur.med = Number(m[1]);
    } else if ((m = /^BGP\.ext_community: (.*)$/.exec(t))) {
      const rts: string[] = [];
      for (const e of (m[1] as string).matchAll(/\(rt, ([^,]+), (\d+)\)/g)) rts.push(`${e[1]}:${e[2]}`);
      cur.routeTargets = sortRts(rts);
    }
  }
  flush();
  return out;
}

export class BirdPeer extends BasePeer {
  readonly kind = 'bird' as const;
  readonly ctl: string;
  private readonly originated = new Map<string, VpnRouteSpec>();

  constructor(opts: PeerOptions) {
    super(opts, 'bird');
    this.ctl = join(this.dir, 'bird.ctl');
  }

  /** `birdc -s CTL ARGS...`; throws on a BIRD error reply. */
  async birdc(args: string[], timeoutMs = 60000): Promise<string> {
    const r = await run(BIN.birdc, ['-s', this.ctl, ...args], timeoutMs);
    if (r.code !== 0 || /^(syntax error|.*: No such|Unknown command)/m.test(r.stdout)) {
      throw new Error(`birdc ${args.join(' ')}: exit ${r.code}: ${(r.stdout + r.stderr).trim().slice(0, 2000)}`);
    }
    return r.stdout;
  }

  private writeRoutes(): void {
    writeFileSync(join(this.dir, 'routes.conf'), birdRoutesConfig(this.originated.values(), this.opts.ipv4Routes ?? []));
  }

  async start(): Promise<void> {
    for (const r of this.opts.vpnRoutes ?? []) this.originated.set(`${r.family} ${routeKey(r)}`, r);
    this.writeRoutes();
    const conf = join(this.dir, 'bird.conf');
    writeFileSync(conf, birdConfig(this.opts, this.dir));
    this.daemon = startDaemon(BIN.bird, ['-f', '-c', conf, '-s', this.ctl, '-P', join(this.dir, 'bird.pid')], join(this.dir, 'bird.out'), this.dir);
    await eventually(
      () => `bird on ${this.ctl} not up; log:\n${this.logTail(30)}`,
      async () => {
        this.checkAlive();
        const r = await run(BIN.birdc, ['-s', this.ctl, 'show', 'status'], 3000);
        return r.code === 0 && /Daemon is up and running/.test(r.stdout) ? true : undefined;
      },
      { timeoutMs: 30000, intervalMs: 50 },
    );
  }

  override logTail(lines = 40): string {
    return `${super.logTail(10)}\n--- bird.log:\n${tailFile(join(this.dir, 'bird.log'), lines)}`;
  }

  private async reconfigure(): Promise<void> {
    this.writeRoutes();
    const out = await this.birdc(['configure']);
    if (!/Reconfigur/.test(out)) throw new Error(`bird configure: ${out.trim()}`);
  }

  async neighborInfo(neighbor: string): Promise<NeighborInfo> {
    const nb = findNeighbor(this.opts, neighbor);
    const r = await run(BIN.birdc, ['-s', this.ctl, 'show', 'protocols', 'all', birdProtocolName(neighbor)], 5000);
    if (r.code !== 0) return { state: 'Unknown', families: [] };
    const m = /BGP state:\s+(\S+)/.exec(r.stdout);
    const raw = m?.[1] ?? 'Unknown';
    const known: SessionState[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];
    const state: SessionState = known.includes(raw as SessionState) ? (raw as SessionState) : raw === 'Down' || raw === 'Close' ? 'Idle' : 'Unknown';
    if (state !== 'Established') return { state, families: [] };
    const families = defaultFamilies(nb).filter((f) =>
      new RegExp(`Channel ${CHANNEL[f].show}\\n\\s+State:\\s+UP`).test(r.stdout),
    );
    return { state, families };
  }

  async vpnRoutes(family: VpnFamily): Promise<VpnRoute[]> {
    return parseBirdRoutes(await this.birdc(['show', 'route', 'all', 'table', CHANNEL[family].table, 'primary']));
  }

  async receivedCount(neighbor: string, family: Family): Promise<number> {
    const out = await this.birdc(['show', 'protocols', 'all', birdProtocolName(neighbor)]);
    const i = out.indexOf(`Channel ${CHANNEL[family].show}\n`);
    if (i < 0) return 0;
    const m = /Routes:\s+(\d+) imported/.exec(out.slice(i));
    return m ? Number(m[1]) : 0;
  }

  async addVpnRoute(r: VpnRouteSpec): Promise<void> {
    this.originated.set(`${r.family} ${routeKey(r)}`, r);
    await this.reconfigure();
  }

  /** Adds many routes with one reload (BIRD parses 100,000 static routes in well under a second). */
  async addVpnRoutes(rs: Iterable<VpnRouteSpec>): Promise<void> {
    for (const r of rs) this.originated.set(`${r.family} ${routeKey(r)}`, r);
    await this.reconfigure();
  }

  async deleteVpnRoute(r: Pick<VpnRouteSpec, 'family' | 'rd' | 'prefix'>): Promise<void> {
    const key = `${r.family} ${routeKey(r)}`;
    if (!this.originated.delete(key)) throw new Error(`${this.name}: no originated ${key}`);
    await this.reconfigure();
  }

  async deleteAllVpnRoutes(): Promise<void> {
    this.originated.clear();
    await this.reconfigure();
  }

  /**
   * Wall-clock ms of the latest "State changed to up" for this neighbour in
   * bird.log (millisecond timestamps, `debug { states }`), or undefined.
   */
  sessionUpAt(neighbor: string): number | undefined {
    const text = tailFile(join(this.dir, 'bird.log'), 400);
    const re = new RegExp(`^(\\d{4}-\\d\\d-\\d\\d) (\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) <TRACE> ${birdProtocolName(neighbor)}: State changed to up$`, 'gm');
    let at: number | undefined;
    for (const m of text.matchAll(re)) at = new Date(`${m[1]}T${m[2]}`).getTime();
    return at;
  }

  async shutdownNeighbor(neighbor: string): Promise<void> {
    await this.birdc(['disable', birdProtocolName(neighbor)]);
  }

  async enableNeighbor(neighbor: string): Promise<void> {
    await this.birdc(['enable', birdProtocolName(neighbor)]);
  }
}

export async function startBird(opts: PeerOptions): Promise<BirdPeer> {
  const p = new BirdPeer(opts);
  try {
    await p.start();
  } catch (e) {
    await p.stop().catch(() => undefined);
    throw e;
  }
  return p;
}
