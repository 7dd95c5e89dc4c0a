// What one peer sent us (RFC 4271 §3.2 Adj-RIB-In), built from decoded
// UPDATEs, with the receiving side of graceful restart (RFC 4724 §4.2):
// routes kept as stale across a restart and swept at End-of-RIB.
import type { UpdateMessage } from '../wire/update.js';
import { Afi, Safi } from '../wire/constants.js';
import { Family, NlriList, Route, familyKey } from '../wire/nlri.js';
import type { NextHop } from '../wire/next-hop.js';
import type { Path } from './path.js';
import { PathTable } from './table.js';

export interface RibChange {
  readonly announced: Path[];
  readonly withdrawn: Path[];
  /** Families whose End-of-RIB arrived. */
  readonly endOfRib: Family[];
  /** NLRI of families not negotiated or not parsed, ignored (RFC 4760 §7 lets us). */
  readonly ignored: number;
}

function routeAt(list: NlriList, i: number): Route {
  const route: Route = { prefix: list.prefixBytes(i), length: list.prefixLength(i) };
  if (!list.shape!.labeled) return route;
  return list.shape!.hasRd ? { ...route, rd: list.rd(i), labels: list.labels(i) } : { ...route, labels: list.labels(i) };
}

export class AdjRibIn {
  readonly table = new PathTable();

  constructor(readonly source: string) {}

  /**
   * Applies one UPDATE the codec accepted (action ok, attribute-discard or
   * treat-as-withdraw: `update.withdraw` already holds the routes to drop).
   */
  apply(update: UpdateMessage, negotiated: readonly Family[], now: number): RibChange {
    const allowed = new Set(negotiated.map((f) => familyKey(f.afi, f.safi)));
    const change: RibChange = { announced: [], withdrawn: [], endOfRib: [], ignored: 0 };
    let ignored = 0;
    for (const list of update.withdraw) {
      if (!list.shape || !allowed.has(familyKey(list.afi, list.safi))) {
        ignored += list.count;
        continue;
      }
      const family = { afi: list.afi, safi: list.safi };
      for (let i = 0; i < list.count; i++) {
        const old = this.table.delete(family, list.key(i));
        if (old) change.withdrawn.push(old);
      }
    }
    for (const list of update.announce) {
      if (!list.shape || !allowed.has(familyKey(list.afi, list.safi))) {
        ignored += list.count || 1;
        continue;
      }
      const family = { afi: list.afi, safi: list.safi };
      const v4 = list.afi === Afi.IPV4 && list.safi === Safi.UNICAST;
      const nextHop: NextHop | undefined = v4
        ? update.attributes.nextHop !== undefined
          ? { address: update.attributes.nextHop }
          : undefined
        : update.mpReach?.nextHop;
      for (let i = 0; i < list.count; i++) {
        const path: Path = { family, key: list.key(i), route: routeAt(list, i), nextHop, attributes: update.attributes, source: this.source, since: now, stale: false };
        this.table.set(path);
        change.announced.push(path);
      }
    }
    if (update.endOfRib) {
      const f = update.endOfRib;
      change.endOfRib.push({ afi: f.afi, safi: f.safi });
      change.withdrawn.push(...this.sweepStale(f));
    }
    return { ...change, ignored };
  }

  /** Marks every path of the families stale; returns how many. */
  markStale(families: readonly Family[]): number {
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
