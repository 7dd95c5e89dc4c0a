// A customer's own router inside a CE namespace of the lab, speaking eBGP
// to the PE address(es) on its access link(s) exactly as a CE on a real
// link would: BIRD 2 or FRR's bgpd, started with `ip netns exec`, the LAN
// prefixes it announces with their addresses on the namespace's lo (so
// they answer pings), and what it learns installed in the namespace's kernel
// table (BIRD's kernel protocol; bgpd runs without zebra and installs
// nothing, so its namespace keeps the default route the lab gave it).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, makeDir, run, startDaemon, tailFile, type Daemon } from '../peers/common.js';
import { eventually } from '../support/eventually.js';
import { canonicalPrefix } from '../../services/common/desired-state/prefix.js';

export interface CeNeighbour {
  /** The PE's address on the access link. */
  pe: string;
  /** The CE's own address on that link. */
  local: string;
}

export interface CeRouterOptions {
  namespace: string;
  as: number;
  routerId: string;
  /** LAN prefixes behind the CE, as "address/len" (IPv4 or IPv6): the address is put on lo and the prefix announced over the sessions of its family. */
  lans: string[];
  neighbours: CeNeighbour[];
  providerAs: number;
}

export interface CeRouter {
  readonly kind: 'bird' | 'frr';
  /** Neighbour address -> session state as the CE's own CLI tells it ('Established' or something else). */
  sessionState(pe: string): Promise<string>;
  /** Prefixes the CE received from `pe` (its Adj-RIB-In after policy). */
  received(pe: string): Promise<string[]>;
  /** Withdraws (false) or announces (true) a prefix: one of its LANs, or any other (announced only, not on lo: nothing answers there). */
  announce(lan: string, on: boolean): Promise<void>;
  stop(): Promise<void>;
  /** For failure messages: the daemon's own view of its sessions and routes, and its log. */
  debug(): Promise<string>;
}

async function inNs(ns: string, ...cmd: string[]): Promise<void> {
  const r = await run('ip', ['netns', 'exec', ns, ...cmd]);
  if (r.code !== 0) throw new Error(`in ${ns}: ${cmd.join(' ')}: ${r.stderr || r.stdout}`);
}

/** The LAN addresses as host addresses on lo (this kernel has no dummy interfaces); the router announces their prefixes. */
async function addLans(o: CeRouterOptions): Promise<void> {
  for (const l of o.lans) {
    const v6 = l.includes(':');
    if (v6) await inNs(o.namespace, 'sh', '-c', 'echo 0 > /proc/sys/net/ipv6/conf/lo/disable_ipv6');
    await inNs(o.namespace, 'ip', 'addr', 'add', `${l.split('/')[0]}/${v6 ? 128 : 32}`, 'dev', 'lo');
  }
}

/** "10.141.0.1/24" -> "10.141.0.0/24", "2001:db8:141::1/64" -> "2001:db8:141::/64". */
const prefixOf = (lan: string): string => canonicalPrefix(lan.replace(/^([^/]+)\/(\d+)$/, (_m, a: string, n: string) => `${maskedAddress(a, Number(n))}/${n}`));

function maskedAddress(address: string, length: number): string {
  if (!address.includes(':')) {
    const value = address.split('.').map(Number).reduce((v, o) => ((v << 8) | o) >>> 0, 0);
    const masked = length === 0 ? 0 : (value & (~0 << (32 - length))) >>> 0;
    return [24, 16, 8, 0].map((s) => (masked >>> s) & 255).join('.');
  }
  const [head, tail = ''] = address.split('::');
  const groups = (t: string) => (t ? t.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head!);
  const t = groups(tail);
  const all = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.map((g, i) => g & (0xffff << Math.max(0, Math.min(16, 16 - (length - i * 16)))) & 0xffff).map((g) => g.toString(16)).join(':');
}

const isV6 = (address: string) => address.includes(':');

function birdConf(o: CeRouterOptions, announced: ReadonlySet<string>): string {
  const lines = [
    `router id ${o.routerId};`,
    'protocol device { }',
    'protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }',
    'protocol kernel { ipv6 { import none; export where source = RTS_BGP; }; }',
    'protocol static lans { ipv4;',
    // A blackhole: only originates the prefix (the kernel delivers its address locally; nothing exports this to it).
    ...[...announced].filter((l) => !isV6(l)).map((l) => `  route ${prefixOf(l)} blackhole;`),
    '}',
    'protocol static lans6 { ipv6;',
    ...[...announced].filter(isV6).map((l) => `  route ${prefixOf(l)} blackhole;`),
    '}',
  ];
  o.neighbours.forEach((n, i) =>
    lines.push(
      `protocol bgp pe${i} {`,
      `  local ${n.local} as ${o.as};`,
      `  neighbor ${n.pe} as ${o.providerAs};`,
      '  graceful restart on;',
      // A lab CE retries at once rather than after BIRD's defaults (120 s, then 60..300 s after an error).
      '  connect retry time 2;',
      '  error wait time 1, 5;',
      isV6(n.pe) ? '  ipv6 { import all; export where proto = "lans6"; };' : '  ipv4 { import all; export where proto = "lans"; };',
      '}',
    ),
  );
  return lines.join('\n') + '\n';
}

export async function startBirdCe(o: CeRouterOptions): Promise<CeRouter> {
  await addLans(o);
  const dir = makeDir(`ce-bird-${o.namespace}`);
  const conf = join(dir, 'bird.conf');
  const ctl = join(dir, 'bird.ctl');
  const announced = new Set(o.lans);
  writeFileSync(conf, birdConf(o, announced));
  const daemon: Daemon = startDaemon('ip', ['netns', 'exec', o.namespace, BIN.bird, '-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird.pid')], join(dir, 'bird.out'), dir);
  const birdc = async (...args: string[]) => {
    const r = await run(BIN.birdc, ['-s', ctl, ...args], 5000);
    if (r.code !== 0) throw new Error(`birdc ${args.join(' ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  await eventually(`BIRD in ${o.namespace} up`, async () => (await run(BIN.birdc, ['-s', ctl, 'show', 'status'], 3000)).code === 0, { timeoutMs: 15_000, intervalMs: 200 });
  const protocol = (pe: string) => `pe${o.neighbours.findIndex((n) => n.pe === pe)}`;
  return {
    kind: 'bird',
    async sessionState(pe) {
      const out = await birdc('show', 'protocols', protocol(pe));
      return /\bEstablished\b/.test(out) ? 'Established' : out.trim().split('\n').at(-1) ?? '';
    },
    async received(pe) {
      const out = await birdc('show', 'route', 'protocol', protocol(pe));
      return [...out.matchAll(/^([0-9a-f]*[.:][0-9a-f.:]*\/\d+)/gim)].map((m) => m[1]!);
    },
    async announce(lan, on) {
      if (on) announced.add(lan);
      else announced.delete(lan);
      writeFileSync(conf, birdConf(o, announced));
      await birdc('configure');
    },
    stop: () => daemon.stop(),
    debug: async () =>
      [await birdc('show', 'protocols', 'all').catch(String), await birdc('show', 'route', 'all').catch(String), tailFile(join(dir, 'bird.out'))].join('\n'),
  };
}

function frrConf(o: CeRouterOptions, log: string): string {
  const lines = [`log file ${log}`, `router bgp ${o.as}`, ` bgp router-id ${o.routerId}`, ' no bgp ebgp-requires-policy', ' no bgp network import-check', ' bgp graceful-restart'];
  for (const n of o.neighbours) lines.push(` neighbor ${n.pe} remote-as ${o.providerAs}`, ` neighbor ${n.pe} update-source ${n.local}`, ` neighbor ${n.pe} disable-connected-check`, ` neighbor ${n.pe} timers connect 2`);
  lines.push(' address-family ipv4 unicast');
  for (const n of o.neighbours.filter((x) => isV6(x.pe))) lines.push(`  no neighbor ${n.pe} activate`);
  for (const l of o.lans.filter((x) => !isV6(x))) lines.push(`  network ${prefixOf(l)}`);
  lines.push(' exit-address-family', ' address-family ipv6 unicast');
  for (const n of o.neighbours.filter((x) => isV6(x.pe))) lines.push(`  neighbor ${n.pe} activate`);
  for (const l of o.lans.filter(isV6)) lines.push(`  network ${prefixOf(l)}`);
  lines.push(' exit-address-family', 'exit');
  return lines.join('\n') + '\n';
}

export async function startFrrCe(o: CeRouterOptions): Promise<CeRouter> {
  await addLans(o);
  const dir = makeDir(`ce-frr-${o.namespace}`);
  const conf = join(dir, 'bgpd.conf');
  const log = join(dir, 'bgpd.log');
  writeFileSync(conf, frrConf(o, log));
  // No listener of its own (-p 0): the CE opens the sessions, as the PE side is passive.
  const daemon = startDaemon('ip', ['netns', 'exec', o.namespace, BIN.bgpd, '-Z', '-S', '-p', '0', '-P', '0', '--vty_socket', dir, '-f', conf, '-i', join(dir, 'bgpd.pid')], log, dir);
  const vtysh = async (...cmds: string[]) => {
    const args = ['--vty_socket', dir];
    for (const c of cmds) args.push('-c', c);
    const r = await run(BIN.vtysh, args, 5000);
    if (r.code !== 0) throw new Error(`vtysh ${cmds.join('; ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  await eventually(`bgpd in ${o.namespace} up`, async () => (await run(BIN.vtysh, ['--vty_socket', dir, '-c', 'show bgp summary json'], 3000)).code === 0, { timeoutMs: 15_000, intervalMs: 200 });
  return {
    kind: 'frr',
    async sessionState(pe) {
      const j = JSON.parse(await vtysh(`show bgp neighbors ${pe} json`)) as Record<string, { bgpState?: string }>;
      return j[pe]?.bgpState ?? 'unknown';
    },
    async received(pe) {
      const j = JSON.parse(await vtysh(`show bgp ${isV6(pe) ? 'ipv6' : 'ipv4'} unicast neighbors ${pe} routes json`)) as { routes?: Record<string, unknown> };
      return Object.keys(j.routes ?? {});
    },
    async announce(lan, on) {
      await vtysh('configure terminal', `router bgp ${o.as}`, `address-family ${isV6(lan) ? 'ipv6' : 'ipv4'} unicast`, `${on ? '' : 'no '}network ${prefixOf(lan)}`);
    },
    stop: () => daemon.stop(),
    debug: async () => [await vtysh('show bgp summary').catch(String), await vtysh('show bgp ipv4 unicast').catch(String), tailFile(log)].join('\n'),
  };
}
