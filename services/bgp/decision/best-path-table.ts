// Per-destination candidate paths and their best (RFC 4271 §9.1.2, §9.1.3
// Loc-RIB): one table per family (or per VRF and address family). Changes
// are incremental: adding, replacing or removing one path re-runs the
// decision over that destination's paths only.
//
// Memory: a destination with one eligible path (the common case for a route
// reflector and for VRF imports) costs one Map entry holding the path
// itself; more paths, or an unreachable next hop, add a three-field entry
// and an array. The destination key is whatever string the caller gives
// (usually the path's own key, so it is shared, not copied).
import { DecisionOptions, DecisionPath, selectBestIndex } from './decision.js';

class Entry<P> {
  constructor(
    public first: P,
    public more: P[] | undefined,
    public best: P | undefined,
  ) {}
}

/**
 * The outcome of one call. The table reuses one object for it: read it
 * before the next call on the same table.
 */
export interface BestChange<P> {
  /** The best path object changed (including a replaced path staying best with new attributes). */
  readonly changed: boolean;
  readonly best: P | undefined;
  readonly previous: P | undefined;
  /** The path that the call replaced or removed, if any. */
  readonly replaced: P | undefined;
}

interface MutableChange<P> {
  changed: boolean;
  best: P | undefined;
  previous: P | undefined;
  replaced: P | undefined;
}

export class BestPathTable<P extends DecisionPath = DecisionPath> {
  /** A bare path: the sole path of its destination, eligible, hence the best. */
  private readonly entries = new Map<string, P | Entry<P>>();
  private readonly change: MutableChange<P> = { changed: false, best: undefined, previous: undefined, replaced: undefined };
  private cur: Entry<P> | undefined;
  private pathTotal = 0;
  private readonly at = (i: number): P => (i === 0 ? this.cur!.first : this.cur!.more![i - 1]!);

  constructor(private readonly options: DecisionOptions) {}

  /** Destinations with at least one path. */
  get size(): number {
    return this.entries.size;
  }

  /** Paths in the table. */
  get pathCount(): number {
    return this.pathTotal;
  }

  best(dest: string): P | undefined {
    const v = this.entries.get(dest);
    return v instanceof Entry ? v.best : v;
  }

  has(dest: string): boolean {
    return this.entries.has(dest);
  }

  /** Every candidate of a destination (allocates; for APIs and tests). */
  paths(dest: string): P[] {
    const v = this.entries.get(dest);
    if (!v) return [];
    if (!(v instanceof Entry)) return [v];
    return v.more ? [v.first, ...v.more] : [v.first];
  }

  /** The path of this identity at the destination, if any. `source` undefined matches any source. */
  find(dest: string, key: string, source?: string): P | undefined {
    const v = this.entries.get(dest);
    if (!v) return undefined;
    if (!(v instanceof Entry)) return same(v, key, source) ? v : undefined;
    const i = this.indexOf(v, key, source);
    return i < 0 ? undefined : i === 0 ? v.first : v.more![i - 1];
  }

  /** [destination, best] for every destination that has an eligible best. */
  *bests(): IterableIterator<[string, P]> {
    for (const [dest, v] of this.entries) {
      if (!(v instanceof Entry)) yield [dest, v];
      else if (v.best) yield [dest, v.best];
    }
  }

  /** Every path in the table, with its destination. */
  *allPaths(): IterableIterator<[string, P]> {
    for (const [dest, v] of this.entries) {
      if (!(v instanceof Entry)) {
        yield [dest, v];
        continue;
      }
      yield [dest, v.first];
      if (v.more) for (const p of v.more) yield [dest, p];
    }
  }

  destinations(): IterableIterator<string> {
    return this.entries.keys();
  }

  /**
   * Adds a path, replacing the one with the same key and source (any source
   * when `anySource`: a VRF holds at most one imported path per VPN key,
   * whichever peer it came from). Returns the change (reused object).
   */
  upsert(dest: string, path: P, anySource = false): BestChange<P> {
    const c = this.change;
    const v = this.entries.get(dest);
    c.replaced = undefined;
    if (!v) {
      this.pathTotal++;
      c.previous = undefined;
      return this.single(dest, path);
    }
    if (!(v instanceof Entry)) {
      c.previous = v;
      if (same(v, path.key, anySource ? undefined : path.source)) {
        c.replaced = v;
        return this.single(dest, path);
      }
      this.pathTotal++;
      const e = new Entry<P>(v, [path], v);
      this.entries.set(dest, e);
      return this.reselectEntry(dest, e);
    }
    const e = v;
    c.previous = e.best;
    const i = this.indexOf(e, path.key, anySource ? undefined : path.source);
    if (i === 0) {
      c.replaced = e.first;
      e.first = path;
    } else if (i > 0) {
      c.replaced = e.more![i - 1];
      e.more![i - 1] = path;
    } else {
      (e.more ??= []).push(path);
      this.pathTotal++;
    }
    return this.reselectEntry(dest, e);
  }

  /** Removes the path with this key (and source, unless undefined). Returns the change (reused object). */
  remove(dest: string, key: string, source?: string): BestChange<P> {
    const c = this.change;
    const v = this.entries.get(dest);
    c.replaced = undefined;
    if (!v) return this.unchanged(undefined);
    if (!(v instanceof Entry)) {
      if (!same(v, key, source)) return this.unchanged(v);
      this.entries.delete(dest);
      this.pathTotal--;
      c.replaced = v;
      c.previous = v;
      c.best = undefined;
      c.changed = true;
      return c;
    }
    const e = v;
    const i = this.indexOf(e, key, source);
    if (i < 0) return this.unchanged(e.best);
    c.previous = e.best;
    this.pathTotal--;
    if (i === 0) {
      c.replaced = e.first;
      if (!e.more) {
        this.entries.delete(dest);
        c.best = undefined;
        c.changed = c.previous !== undefined;
        return c;
      }
      e.first = e.more.pop()!;
    } else {
      c.replaced = e.more![i - 1];
      const last = e.more!.pop()!;
      if (i - 1 < e.more!.length) e.more![i - 1] = last;
    }
    if (e.more!.length === 0) e.more = undefined;
    // A removed path that was not the best can still change the best under
    // deterministic MED (its group's next winner may beat another group's), so always re-run.
    return this.reselectEntry(dest, e);
  }

  /** Re-runs selection for one destination (its next hops' costs changed). */
  reselect(dest: string): BestChange<P> {
    const v = this.entries.get(dest);
    this.change.replaced = undefined;
    if (!v) return this.unchanged(undefined);
    if (!(v instanceof Entry)) {
      this.change.previous = v;
      return this.single(dest, v);
    }
    this.change.previous = v.best;
    return this.reselectEntry(dest, v);
  }

  /**
   * Re-runs selection wherever a path matches `affected` (for example: its
   * next hop is one whose IGP cost changed) and calls `changed` for every
   * destination whose best changed. One pass over the table; nothing is
   * indexed per next hop, which keeps a path's memory at what it holds.
   */
  reselectWhere(affected: (p: P) => boolean, changed: (dest: string, c: BestChange<P>) => void): number {
    let n = 0;
    for (const [dest, v] of this.entries) {
      let hit: boolean;
      if (!(v instanceof Entry)) hit = affected(v);
      else {
        hit = affected(v.first);
        if (!hit && v.more) for (const p of v.more) if ((hit = affected(p))) break;
      }
      if (!hit) continue;
      const c = this.reselect(dest);
      if (c.changed) {
        n++;
        changed(dest, c);
      }
    }
    return n;
  }

  /** reselectWhere for a set of next-hop addresses whose cost or reachability changed. */
  nextHopsChanged(addresses: ReadonlySet<string>, changed: (dest: string, c: BestChange<P>) => void): number {
    return this.reselectWhere((p) => p.nextHop !== undefined && addresses.has(p.nextHop.address), changed);
  }

  /** Removes every path; calls `removed` for each destination that had a best. */
  clear(removed?: (dest: string, best: P) => void): void {
    if (removed) for (const [dest, best] of this.bests()) removed(dest, best);
    this.entries.clear();
    this.pathTotal = 0;
  }

  private indexOf(e: Entry<P>, key: string, source: string | undefined): number {
    if (same(e.first, key, source)) return 0;
    const more = e.more;
    if (more) {
      for (let i = 0; i < more.length; i++) if (same(more[i]!, key, source)) return i + 1;
    }
    return -1;
  }

  private unchanged(best: P | undefined): BestChange<P> {
    const c = this.change;
    c.changed = false;
    c.best = best;
    c.previous = best;
    return c;
  }

  /** Stores a destination's only path: bare when its next hop resolves (RFC 4271 §9.1.2), else wrapped without a best. */
  private single(dest: string, path: P): BestChange<P> {
    const c = this.change;
    const ok = this.options.resolver.cost(path) !== undefined;
    this.entries.set(dest, ok ? path : new Entry<P>(path, undefined, undefined));
    c.best = ok ? path : undefined;
    c.changed = c.best !== c.previous;
    return c;
  }

  /** Runs selection over the entry; change.previous must be set. */
  private reselectEntry(dest: string, e: Entry<P>): BestChange<P> {
    if (!e.more) return this.single(dest, e.first);
    const c = this.change;
    this.cur = e;
    const i = selectBestIndex(e.more.length + 1, this.at, this.options);
    const best = i < 0 ? undefined : this.at(i);
    this.cur = undefined;
    e.best = best;
    c.best = best;
    c.changed = best !== c.previous;
    return c;
  }
}

/** Same path: same key and source (any source when undefined). One path per peer and key: no add-path. */
function same(p: DecisionPath, key: string, source: string | undefined): boolean {
  return p.key === key && (source === undefined || p.source === source);
}
