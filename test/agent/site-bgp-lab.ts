// The dual-homed lab of site-failover-lab.ts with the CE of site `home`
// speaking real eBGP (BIRD or FRR, test/e2e/ce-routers.ts) to both PEs'
// access addresses: the site has routing.bgp and two dual-stack accesses,
// the CE has an IPv4 and an IPv6 session on each and announces its LANs
// (10.70.0.0/24 and 2001:db8:70::/64 on its lo, more when asked) and nothing
// is configured statically for it. The PEs' agents relay the
// sessions to the bgp service (BGP-as-a-service). Shared by
// test/agent/site-bgp.test.ts and bench/ce-bgp-failover.ts. Run under
// flock /tmp/l3vpn-net.lock.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startBirdCe, startFrrCe, type CeRouter } from '../e2e/ce-routers.js';
import { HOME_NS, type SiteFailoverLab, startSiteFailoverLab } from './site-failover-lab.js';
import type { AccessBgpSession } from '../../services/vpn/intent/types.js';

const run = promisify(execFile);

export const CUSTOMER_AS = 65160;
export const PROVIDER_AS = 65000;
export const LAN = { address: '10.70.0.1', prefix: '10.70.0.0/24', cidr: '10.70.0.1/24' };
/** The CE's IPv6 LAN, announced over its IPv6 sessions (6VPE). */
export const LAN6 = { address: '2001:db8:70::1', prefix: '2001:db8:70::/64', cidr: '2001:db8:70::1/64' };
/** A second LAN the CE can announce (max-prefix). */
export const LAN2 = { address: '10.71.0.1', prefix: '10.71.0.0/24', cidr: '10.71.0.1/24' };
/** The PE's address on each access, the CE's session neighbour. */
export const PE_ADDRESS = { primary: '192.168.61.1', backup: '192.168.62.1' } as const;
export const SITE_OF_ORIGIN = '65000:60';

export interface SiteBgpOptions {
  kind: 'bird' | 'frr';
  multihoming?: 'single-active' | 'all-active';
  /** LANs the CE announces (default: LAN). */
  lans?: string[];
  agentEnv?: Record<string, string>;
  vpnEnv?: Record<string, string>;
}

export interface SiteBgpLab extends SiteFailoverLab {
  ce: CeRouter;
}

/** The two accesses of `home`, dual-stack: the CE has one session per family on each (IPv4 ones first: pe0, pe1; then IPv6: pe2, pe3). */
const accesses = [
  { id: 'primary', node: 'PE1', interface: 'blu0', priority: 200, ipv4: { peAddress: '192.168.61.1/30', ceAddress: '192.168.61.2' }, ipv6: { peAddress: '2001:db8:61::1/64', ceAddress: '2001:db8:61::2' } },
  { id: 'backup', node: 'PE2', interface: 'blu0', ipv4: { peAddress: '192.168.62.1/30', ceAddress: '192.168.62.2' }, ipv6: { peAddress: '2001:db8:62::1/64', ceAddress: '2001:db8:62::2' } },
];

/**
 * The CE's LAN interface `lan0`, made here as one end of a veth pair:
 * ce-routers.ts makes it a dummy interface, which this machine's kernel
 * does not have (no dummy module; its `ip link add` fails unreported), and
 * then brings `lan0` up and gives it the LAN addresses, which works on any
 * existing interface.
 */
async function lanInterface(): Promise<void> {
  await run('ip', ['netns', 'exec', HOME_NS, 'ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan0p']);
  await run('ip', ['netns', 'exec', HOME_NS, 'ip', 'link', 'set', 'lan0p', 'up']);
}

export async function startSiteBgpLab(o: SiteBgpOptions): Promise<SiteBgpLab> {
  let ce: CeRouter | undefined;
  const lans = o.lans ?? [LAN.cidr, LAN6.cidr];
  const families: (4 | 6)[] = lans.some((l) => l.includes(':')) ? [4, 6] : [4];
  const f = await startSiteFailoverLab({
    agentEnv: { AGENT_HEARTBEAT_SECONDS: '1', ...o.agentEnv },
    vpnEnv: { VPN_LINK_HOLD_DOWN_MS: '500', ...o.vpnEnv },
    home: {
      accesses,
      multihoming: o.multihoming ?? 'single-active',
      siteOfOrigin: SITE_OF_ORIGIN,
      routing: { bgp: { peerAs: CUSTOMER_AS } },
    },
    startCe: async () => {
      await lanInterface();
      const start = o.kind === 'bird' ? startBirdCe : startFrrCe;
      ce = await start({
        namespace: HOME_NS,
        as: CUSTOMER_AS,
        routerId: LAN.address,
        lans,
        neighbours: [
          { pe: PE_ADDRESS.primary, local: '192.168.61.2' },
          { pe: PE_ADDRESS.backup, local: '192.168.62.2' },
          { pe: '2001:db8:61::1', local: '2001:db8:61::2' },
          { pe: '2001:db8:62::1', local: '2001:db8:62::2' },
        ],
        providerAs: PROVIDER_AS,
      });
    },
    converged: { families, prefix: { 4: LAN.prefix, 6: LAN6.prefix }, address: { 4: LAN.address, 6: LAN6.address }, anyPe: o.multihoming === 'all-active' },
  }).catch(async (err: Error) => {
    await ce?.stop().catch(() => undefined);
    throw new Error(`${err.message}\nCE:\n${ce ? await ce.debug() : '(not started)'}`);
  });
  const stop = f.stop;
  return Object.assign(f, {
    ce: ce!,
    async stop() {
      await ce?.stop().catch(() => undefined);
      await stop();
    },
  });
}

export type SessionView = AccessBgpSession;

/** Each access's BGP sessions as GET /v1/sites/home shows them. */
export async function sessions(f: SiteFailoverLab): Promise<Record<string, SessionView[]>> {
  const body = (await f.h.call('GET', '/v1/sites/home')).body as { accesses: { id: string; bgpSessions?: SessionView[] }[] };
  return Object.fromEntries(body.accesses.map((a) => [a.id, a.bgpSessions ?? []]));
}
