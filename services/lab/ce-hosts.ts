// Keeps the lab's CE hosts configured as the intent says: a site on a lab PE
// port (created through REST, the CLI or the sample, before or after this
// start) gets its CE host addressed as the customer would configure its
// router — attachment address, default route towards the PE, the site's
// static prefixes on its loopback — and a deleted site's CE host loses them.
// The intent is read through the REST API, as an operator's tooling would.
import type { Logger } from '../common/logger.js';
import { ceAddressingOf, type CeAddressing } from './ce-addressing.js';
import type { CeHost } from './ovs-network.js';
import type { RestClient } from './rest-client.js';

/** What configures a CE host (OvsNetwork on the ovs driver). */
export interface CeHostNetwork {
  readonly ces: readonly CeHost[];
  addressCe(ce: CeHost, a: CeAddressing): Promise<void>;
  unaddressCe(ce: CeHost): Promise<void>;
}

/**
 * The addressing each CE host should have, from the sites of the intent: a
 * site on (node, port) without a VLAN addresses that port's CE host. Pure.
 */
export function ceAssignments(sites: readonly Record<string, any>[], ces: readonly CeHost[]): Map<string, CeAddressing | undefined> {
  const out = new Map<string, CeAddressing | undefined>(ces.map((c) => [c.namespace, undefined]));
  for (const c of ces) {
    const site = sites.find((s) => s.node === c.node && s.interface === c.port && !s.vlan && s.ipv4);
    if (site) out.set(c.namespace, ceAddressingOf(site));
  }
  return out;
}

export class CeHostKeeper {
  /** What each CE host was given, as JSON (a namespace absent: never touched). */
  private readonly applied = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly rest: RestClient,
    private readonly network: CeHostNetwork,
    private readonly log: Logger,
  ) {}

  /** Brings the CE hosts in line with the sites, then again every `intervalMs`. */
  start(intervalMs: number): void {
    const tick = () => {
      if (this.stopped) return;
      void this.sync()
        .catch((err: Error) => this.log.warn({ err: err.message }, 'CE hosts: reading the sites failed; trying again'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
        });
    };
    tick();
  }

  /** One pass: reads every site and addresses the CE hosts whose site changed. */
  sync(): Promise<void> {
    return this.serially(() => this.pass());
  }

  /** Addresses one site's CE host now (the sample, or a caller that does not want to wait for the next pass). */
  connect(site: Record<string, any>): Promise<CeHost | undefined> {
    return this.serially(async () => {
      const ce = this.network.ces.find((c) => c.node === String(site.node) && c.port === String(site.interface));
      const want = ce && ceAssignments([site], [ce]).get(ce.namespace);
      if (ce && want) await this.give(ce, want);
      return ce;
    });
  }

  /** Passes and connects never overlap: each runs after the one before it settled. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = (this.running ?? Promise.resolve()).catch(() => undefined).then(fn);
    this.running = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    const sites = await this.rest.list('/v1/sites');
    for (const [namespace, want] of ceAssignments(sites, this.network.ces)) {
      const ce = this.network.ces.find((c) => c.namespace === namespace)!;
      if (want) await this.give(ce, want);
      else if (this.applied.has(namespace)) {
        this.log.info({ namespace }, 'CE host: its site is gone; addresses removed');
        await this.network.unaddressCe(ce);
        this.applied.delete(namespace);
      }
    }
  }

  private async give(ce: CeHost, want: CeAddressing): Promise<void> {
    const json = JSON.stringify(want);
    if (this.applied.get(ce.namespace) === json) return;
    this.log.info({ namespace: ce.namespace, address: want.address, gateway: want.gateway, loopbacks: want.loopbacks }, 'CE host addressed for its site');
    await this.network.addressCe(ce, want);
    this.applied.set(ce.namespace, json);
  }
}
