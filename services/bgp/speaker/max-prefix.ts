// max-prefix on one session (RFC 4486 §4): routes accepted per address
// family against the configured limit. At warning-percent of it a warning;
// past it (count > limit, as FRR and IOS count) either a warning-only report
// or the verdict to tear the session down with Cease / Maximum Number of
// Prefixes Reached. Each mark reports once per crossing and re-arms below
// it. Pure: the peer acts on the verdicts.
import type { MaxPrefix } from './config.js';
import { familyName } from './config.js';
import { familyKey, type Family } from '../wire/nlri.js';

export type MaxPrefixVerdict =
  | { readonly kind: 'warning'; readonly family: Family; readonly count: number; readonly limit: number }
  /** Over the limit: `teardown` for action limit, false for warning-only. */
  | { readonly kind: 'exceeded'; readonly family: Family; readonly count: number; readonly limit: number; readonly teardown: boolean };

export interface MaxPrefixCounters {
  warnings: number;
  exceeded: number;
  teardowns: number;
}

export class MaxPrefixGuard {
  private readonly warned = new Set<number>();
  private readonly over = new Set<number>();
  readonly counters: MaxPrefixCounters = { warnings: 0, exceeded: 0, teardowns: 0 };

  /** Some family is at or past its warning mark. */
  get warning(): boolean {
    return this.warned.size > 0;
  }

  /** Some family is past its limit (warning-only keeps the session). */
  get exceeded(): boolean {
    return this.over.size > 0;
  }

  /** The verdicts for a family now holding `count` accepted routes; nothing when no mark was crossed. */
  check(config: MaxPrefix | undefined, family: Family, count: number): MaxPrefixVerdict[] {
    const k = familyKey(family.afi, family.safi);
    if (!config) {
      this.warned.delete(k);
      this.over.delete(k);
      return [];
    }
    const out: MaxPrefixVerdict[] = [];
    const { limit } = config;
    const warnAt = Math.ceil((limit * config.warningPercent) / 100);
    if (count >= warnAt) {
      if (!this.warned.has(k)) {
        this.warned.add(k);
        this.counters.warnings++;
        out.push({ kind: 'warning', family, count, limit });
      }
    } else this.warned.delete(k);
    if (count > limit) {
      if (!this.over.has(k)) {
        this.over.add(k);
        this.counters.exceeded++;
        const teardown = config.action === 'limit';
        if (teardown) this.counters.teardowns++;
        out.push({ kind: 'exceeded', family, count, limit, teardown });
      }
    } else this.over.delete(k);
    return out;
  }

  /** The session ended: its routes are gone, so are the marks (counters stay). */
  clear(): void {
    this.warned.clear();
    this.over.clear();
  }
}

export function describeVerdict(v: MaxPrefixVerdict): string {
  const what = `${v.count} ${familyName(v.family)} routes`;
  if (v.kind === 'warning') return `max-prefix warning: ${what}, limit ${v.limit}`;
  return `maximum number of prefixes reached: ${what} > limit ${v.limit}${v.teardown ? '' : ' (warning-only)'}`;
}
