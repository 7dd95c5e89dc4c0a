// The PE-CE eBGP sessions' state for reads (site status per access, the
// session metric): one ListPeers of the bgp service shared by every read
// within `maxAgeMs`, so a status read or a scrape costs at most one call
// however many sites it shows.
import type { Logger } from '../../common/logger.js';
import { canonicalAddress } from '../../common/desired-state/prefix.js';
import type { AccessBgpSession, SiteView } from '../intent/types.js';
import type { SiteSessionsSource } from '../intent/intent-service.js';
import type { BgpCePeers, CeSessionStatus } from './bgp-ce-peers.js';

export interface CeSessionsSource {
  /** Every relayed session of this controller; undefined while the bgp service cannot be asked. */
  sessions(): Promise<CeSessionStatus[] | undefined>;
}

export class CachedCeSessions implements CeSessionsSource, SiteSessionsSource {
  private cached: { at: number; value: CeSessionStatus[] | undefined } | undefined;
  private inFlight: Promise<CeSessionStatus[] | undefined> | undefined;

  constructor(
    private readonly peers: Pick<BgpCePeers, 'sessions'>,
    private readonly log: Logger,
    private readonly maxAgeMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  sessions(): Promise<CeSessionStatus[] | undefined> {
    if (this.cached && this.now() - this.cached.at < this.maxAgeMs) return Promise.resolve(this.cached.value);
    this.inFlight ??= this.peers
      .sessions()
      .catch((err: Error) => {
        this.log.warn({ err: err.message }, 'PE-CE session states not read from the bgp service; shown as unknown');
        return undefined;
      })
      .then((value) => {
        this.cached = { at: this.now(), value };
        return value;
      })
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  async withSessions(site: SiteView): Promise<SiteView> {
    return withBgpSessions(site, await this.sessions());
  }
}

function canonical(address: string): string {
  try {
    return canonicalAddress(address);
  } catch {
    return address;
  }
}

/** The site with each access's sessions (one per CE address) when it peers eBGP; 'unknown' for a session the speaker does not report (not configured yet, or not answering). */
export function withBgpSessions(site: SiteView, sessions: readonly CeSessionStatus[] | undefined): SiteView {
  if (!site.routing?.bgp) return site;
  const byKey = new Map((sessions ?? []).map((s) => [JSON.stringify([s.vpn, s.node, s.ceAddress]), s]));
  return {
    ...site,
    accesses: site.accesses.map((a) => {
      const list: AccessBgpSession[] = [];
      for (const att of [a.ipv4, a.ipv6]) {
        if (!att) continue;
        const ce = canonical(att.ceAddress);
        const s = byKey.get(JSON.stringify([site.vpn, a.node, ce]));
        list.push(
          s
            ? {
                ceAddress: ce,
                state: s.state,
                prefixesReceived: s.prefixesReceived,
                prefixesAccepted: s.prefixesAccepted,
                prefixesAdvertised: s.prefixesAdvertised,
                ...(s.maxPrefix ? { maxPrefix: s.maxPrefix } : {}),
                ...(s.lastError ? { lastError: s.lastError } : {}),
              }
            : { ceAddress: ce, state: 'unknown', prefixesReceived: 0, prefixesAccepted: 0, prefixesAdvertised: 0, ...(sessions ? {} : { lastError: 'the bgp service cannot be asked' }) },
        );
      }
      return { ...a, bgpSessions: list };
    }),
  };
}

/** Per access, whether every one of its sessions is established (the l3vpn_site_access_bgp_session_up gauge). */
export function accessesUp(sessions: readonly CeSessionStatus[]): Map<string, { vpn: string; site: string; access: string; up: boolean }> {
  const out = new Map<string, { vpn: string; site: string; access: string; up: boolean }>();
  for (const s of sessions) {
    const key = JSON.stringify([s.vpn, s.site, s.access]);
    const prev = out.get(key);
    out.set(key, { vpn: s.vpn, site: s.site, access: s.access, up: (prev?.up ?? true) && s.state === 'established' });
  }
  return out;
}
