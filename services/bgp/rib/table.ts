// Paths by family and destination key: Adj-RIB-In of one peer, or the local
// paths. One path per destination per table (no add-path).
import { Family, familyKey } from '../wire/nlri.js';
import type { Path } from './path.js';

export class PathTable {
  private readonly byFamily = new Map<number, Map<string, Path>>();

  /** Stores the path; returns the one it replaced. */
  set(path: Path): Path | undefined {
    const fk = familyKey(path.family.afi, path.family.safi);
    let t = this.byFamily.get(fk);
    if (!t) this.byFamily.set(fk, (t = new Map()));
    const old = t.get(path.key);
    t.set(path.key, path);
    return old;
  }

  get(family: Family, key: string): Path | undefined {
    return this.byFamily.get(familyKey(family.afi, family.safi))?.get(key);
  }

  delete(family: Family, key: string): Path | undefined {
    const t = this.byFamily.get(familyKey(family.afi, family.safi));
    const old = t?.get(key);
    if (old) t!.delete(key);
    return old;
  }

  paths(family: Family): IterableIterator<Path> {
    return (this.byFamily.get(familyKey(family.afi, family.safi)) ?? new Map<string, Path>()).values();
  }

  *all(): IterableIterator<Path> {
    for (const t of this.byFamily.values()) yield* t.values();
  }

  count(family: Family): number {
    return this.byFamily.get(familyKey(family.afi, family.safi))?.size ?? 0;
  }

  /** Removes every path of the family (all families when omitted); returns them. */
  clear(family?: Family): Path[] {
    const out: Path[] = [];
    for (const [fk, t] of this.byFamily) {
      if (family && fk !== familyKey(family.afi, family.safi)) continue;
      for (const p of t.values()) out.push(p);
      this.byFamily.delete(fk);
    }
    return out;
  }

  families(): Family[] {
    return [...this.byFamily.keys()].map((fk) => ({ afi: fk >> 8, safi: fk & 0xff }));
  }
}
