// The Loc-RIB (RFC 4271 §3.2, §9.1): one best-path table per family, fed
// by every Adj-RIB-In and the local paths, keyed by destination (Path.key).
// Reports each change of a destination's best to one sink, with the
// previous best, so the caller can queue Adj-RIB-Out work and notify.
import { BestPathTable } from '../decision/best-path-table.js';
import type { DecisionOptions } from '../decision/decision.js';
import { type Family, familyKey } from '../wire/nlri.js';
import type { Path } from './path.js';

export type BestSink = (family: Family, key: string, best: Path | undefined, previous: Path | undefined) => void;

const NONE: readonly Path[] = Object.freeze([]);

export class LocRib {
  private readonly tables = new Map<number, BestPathTable<Path>>();

  constructor(
    readonly decision: DecisionOptions,
    private readonly sink: BestSink,
  ) {}

  table(family: Family): BestPathTable<Path> {
    const fk = familyKey(family.afi, family.safi);
    let t = this.tables.get(fk);
    if (!t) this.tables.set(fk, (t = new BestPathTable<Path>(this.decision)));
    return t;
  }

  /** Adds or replaces a path (same key and source). */
  upsert(path: Path): void {
    const c = this.table(path.family).upsert(path.key, path);
    if (c.changed) this.sink(path.family, path.key, c.best, c.previous);
  }

  /** Removes the path of this key and source, if held. */
  remove(path: Path): void {
    const c = this.table(path.family).remove(path.key, path.key, path.source);
    if (c.changed) this.sink(path.family, path.key, c.best, c.previous);
  }

  best(family: Family, key: string): Path | undefined {
    return this.tables.get(familyKey(family.afi, family.safi))?.best(key);
  }

  *bests(family: Family): IterableIterator<Path> {
    const t = this.tables.get(familyKey(family.afi, family.safi));
    if (!t) return;
    for (const [, p] of t.bests()) yield p;
  }

  /** Every candidate path of a destination. */
  paths(family: Family, key: string): readonly Path[] {
    return this.tables.get(familyKey(family.afi, family.safi))?.paths(key) ?? NONE;
  }

  size(family: Family): number {
    return this.tables.get(familyKey(family.afi, family.safi))?.size ?? 0;
  }

  /** Re-runs selection wherever the next hop is one of `addresses` (IGP costs changed). */
  nextHopsChanged(addresses: ReadonlySet<string>): void {
    for (const [fk, t] of this.tables) {
      const family = { afi: fk >> 8, safi: fk & 0xff };
      t.nextHopsChanged(addresses, (dest, c) => this.sink(family, dest, c.best, c.previous));
    }
  }
}
