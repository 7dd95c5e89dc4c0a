// What one peer sent us (RFC 4271 §3.2 Adj-RIB-In), built from decoded
// UPDATEs, with the receiving side of graceful restart (RFC 4724 §4.2):
// routes kept as stale across a restart and swept at End-of-RIB.
import type { AttributeSet, UpdateMessage } from '../wire/update.js';
import { Afi, Safi } from '../wire/constants.js';
import { Family, NlriList, familyKey } from '../wire/nlri.js';
import type { NextHop } from '../wire/next-hop.js';
import type { PathAttributes } from '../wire/attributes.js';
import { NO_LABEL, PathShared, RibPath, type Path } from './path.js';
import { attributeKey } from './attribute-key.js';
import { PathTable } from './table.js';

export interface RibChange {
  readonly announced: Path[];
  readonly withdrawn: Path[];
  /** Families whose End-of-RIB arrived. */
  readonly endOfRib: Family[];
  /** NLRI of families not negotiated or not parsed, ignored (RFC 4760 §7 lets us). */
  readonly ignored: number;
}

/** Decides, once per UPDATE, that its announcements are to be ignored (loop checks, RFC 4456 §8). */
export type AnnounceFilter = (attributes: Readonly<PathAttributes>) => boolean;

const EMPTY_RAW = new Uint8Array(0);

export class AdjRibIn {
  readonly table = new PathTable();
  /** Attribute sets in use, by wire form: paths of one attribute set share one PathShared. */
  private readonly pool = new Map<string, PathShared>();
  /** Destinations the peer announces whose announcement was refused (a loop), by family: counted, not held. */
  private readonly refused = new Map<number, Set<string>>();

  constructor(readonly source: string) {}

  /** Distinct attribute sets held (for tests and memory figures). */
  get attributeSets(): number {
    return this.pool.size;
  }

  /**
   * Applies one UPDATE the codec accepted (action ok, attribute-discard or
   * treat-as-withdraw: `update.withdraw` already holds the routes to drop).
   * `raw` is the whole message: its attribute octets identify the attribute
   * set without re-encoding it. Announcements that `reject` refuses are
   * withdrawals (a loop: the route must not stay as it was).
   */
  apply(update: UpdateMessage, negotiated: readonly Family[], now: number, raw?: Uint8Array, reject?: AnnounceFilter): RibChange {
    const change: { -readonly [K in keyof RibChange]: RibChange[K] } = { announced: [], withdrawn: [], endOfRib: [], ignored: 0 };
    let ignored = 0;
    const refused = update.announce.length > 0 && reject !== undefined && reject(update.attributes);
    for (const list of update.withdraw) ignored += this.withdrawList(list, negotiated, change, false);
    if (refused) for (const list of update.announce) ignored += this.withdrawList(list, negotiated, change, true);
    else {
      let attrKey: string | undefined;
      const seconds = Math.floor(now / 1000);
      for (const list of update.announce) {
        const family = allowed(negotiated, list);
        if (!family) {
          ignored += list.count || 1;
          continue;
        }
        // A negotiated family without a prefix table (RT membership) is the session's to handle.
        if (!list.shape) continue;
        const v4 = list.afi === Afi.IPV4 && list.safi === Safi.UNICAST;
        const shared = this.memoized(family, update.attributeSet) ?? this.intern(family, v4, update, (attrKey ??= this.keyOf(update, raw)));
        const labeled = list.shape.labeled;
        const wasRefused = this.refused.get(familyKey(family.afi, family.safi));
        for (let i = 0; i < list.count; i++) {
          if (wasRefused) wasRefused.delete(list.key(i));
          const label = !labeled ? NO_LABEL : list.labelCount(i) === 1 ? list.label(i) : list.labels(i);
          const path = new RibPath(list.key(i), label, shared, seconds);
          shared.refs++;
          const old = this.table.set(path);
          if (old) this.release(old);
          change.announced.push(path);
        }
      }
    }
    if (update.endOfRib) {
      const f = update.endOfRib;
      change.endOfRib.push({ afi: f.afi, safi: f.safi });
      for (const p of this.sweepStale(f)) change.withdrawn.push(p);
    }
    change.ignored = ignored;
    return change;
  }

  /** Withdraws the list's destinations; `refuse`: they were announced and refused, and are counted as such. */
  private withdrawList(list: NlriList, negotiated: readonly Family[], change: RibChange, refuse: boolean): number {
    const family = allowed(negotiated, list);
    if (!family) return list.count || 1;
    if (!list.shape) return 0;
    const fk = familyKey(family.afi, family.safi);
    let refused = this.refused.get(fk);
    if (refuse && !refused) this.refused.set(fk, (refused = new Set()));
    for (let i = 0; i < list.count; i++) {
      const key = list.key(i);
      if (refuse) refused!.add(key);
      else refused?.delete(key);
      const old = this.table.delete(family, key);
      if (old) {
        this.release(old);
        change.withdrawn.push(old);
      }
    }
    return 0;
  }

  /** The attribute key; computed once per cached attribute set of the session. */
  private keyOf(update: UpdateMessage, raw: Uint8Array | undefined): string {
    const set = update.attributeSet;
    if (!set) return attributeKey(raw ?? EMPTY_RAW, update);
    return (set.key ??= attributeKey(raw ?? EMPTY_RAW, update));
  }

  /** The PathShared last interned for this session-cached attribute set, while still pooled here. */
  private memoized(family: Family, set: AttributeSet | undefined): PathShared | undefined {
    const s = set?.memo;
    if (!(s instanceof PathShared) || s.family.afi !== family.afi || s.family.safi !== family.safi) return undefined;
    return this.pool.get(s.internKey) === s ? s : undefined;
  }

  private intern(family: Family, v4: boolean, update: UpdateMessage, attrKey: string): PathShared {
    const k = `${familyKey(family.afi, family.safi)}|${attrKey}`;
    let s = this.pool.get(k);
    if (!s) {
      const nextHop: NextHop | undefined = v4
        ? update.attributes.nextHop !== undefined
          ? { address: update.attributes.nextHop }
          : undefined
        : update.mpReach?.nextHop;
      s = new PathShared(family, nextHop, update.attributes, this.source, k);
      this.pool.set(k, s);
    }
    if (update.attributeSet) update.attributeSet.memo = s;
    return s;
  }

  private release(p: Path): void {
    if (!(p instanceof RibPath)) return;
    const s = p.shared;
    if (--s.refs === 0 && this.pool.get(s.internKey) === s) this.pool.delete(s.internKey);
  }

  /** Destinations of the family the peer announces whose announcement was refused as a loop. */
  refusedCount(family: Family): number {
    return this.refused.get(familyKey(family.afi, family.safi))?.size ?? 0;
  }

  /** Removes every path of the family (all when omitted); returns them. */
  clear(family?: Family): Path[] {
    if (family) this.refused.delete(familyKey(family.afi, family.safi));
    else this.refused.clear();
    const out = this.table.clear(family);
    for (const p of out) this.release(p);
    return out;
  }

  /** Marks every path of the families stale; returns how many. */
  markStale(families: readonly Family[]): number {
    // The session that refused them is over.
    this.refused.clear();
    let n = 0;
    for (const f of families) {
      for (const p of this.table.paths(f)) {
        p.stale = true;
        n++;
      }
    }
    return n;
  }

  /** Removes the stale paths of one family (all families when omitted). */
  sweepStale(family?: Family): Path[] {
    const out: Path[] = [];
    for (const f of family ? [family] : this.table.families()) {
      for (const p of [...this.table.paths(f)]) {
        if (!p.stale) continue;
        this.table.delete(f, p.key);
        this.release(p);
        out.push(p);
      }
    }
    return out;
  }

  staleCount(family: Family): number {
    let n = 0;
    for (const p of this.table.paths(family)) if (p.stale) n++;
    return n;
  }
}

function allowed(negotiated: readonly Family[], f: Family): Family | undefined {
  for (const n of negotiated) if (n.afi === f.afi && n.safi === f.safi) return n;
  return undefined;
}
