// Outbound batching: routes to send to one peer (or one update group of
// peers with the same export policy and session options) collected per
// family and grouped by identical attribute sets, so wire/packer.ts fills
// each UPDATE with as many routes as fit (RFC 4271 §9.2: one attribute set
// per UPDATE). The last word per route wins inside a batch: announce then
// withdraw sends only the withdrawal; withdraw then announce only the announcement.
//
// Grouping is by the attributes object first (every route of one received
// UPDATE or one VRF export shares it), then by encoded content, so equal
// attribute sets built separately still share UPDATEs. No per-route object
// is allocated: a route costs two Map entries until the batch is built.
import { encodeAttributes, PathAttributes } from '../wire/attributes.js';
import { Afi, Safi } from '../wire/constants.js';
import type { NextHop } from '../wire/next-hop.js';
import { Family, Route, familyKey } from '../wire/nlri.js';
import { PackAnnounce, PackWithdraw, packAnnouncements, packWithdrawals } from '../wire/packer.js';
import type { SessionOptions } from '../wire/session.js';

interface Group {
  readonly attributes: PathAttributes;
  readonly nextHop: NextHop | undefined;
  readonly nhKey: string;
  routes: Route[];
}

class FamilyBatch {
  readonly routes = new Map<string, Route>();
  /** null: withdraw. */
  readonly groupOf = new Map<string, Group | null>();
  constructor(readonly family: Family) {}
}

function isV4Unicast(f: Family): boolean {
  return f.afi === Afi.IPV4 && f.safi === Safi.UNICAST;
}

/** Identity for peers that can share one batch's bytes (same outbound view and session encoding). */
export function updateGroupKey(p: {
  readonly external: boolean;
  readonly localAs: number;
  readonly localAddress: string;
  readonly routeReflectorClient?: boolean;
  readonly session: SessionOptions;
  /** Peers with their own outbound filter (RT constraint, policy) give its identity here. */
  readonly filterId?: string;
}): string {
  const s = p.session;
  return [p.external ? 'e' : 'i', p.localAs, p.localAddress, p.routeReflectorClient ? 'c' : '', s.fourOctetAs ? 4 : 2, s.maxMessageLength ?? 4096, s.multipleLabels ?? 1, p.filterId ?? ''].join('|');
}

export interface BatchGroups {
  readonly withdrawals: PackWithdraw[];
  readonly announcements: PackAnnounce[];
}

export class UpdateBatch {
  private readonly families = new Map<number, FamilyBatch>();
  private readonly groups = new Map<object, Map<string, Group>>();
  private count = 0;

  /** Routes pending (announcements and withdrawals). */
  get size(): number {
    return this.count;
  }

  private batch(family: Family): FamilyBatch {
    const fk = familyKey(family.afi, family.safi);
    let b = this.families.get(fk);
    if (!b) this.families.set(fk, (b = new FamilyBatch(family)));
    return b;
  }

  /**
   * Queues an announcement. `key` identifies the destination (Path.key);
   * `attributes` are the ones to send (after export rules), `nextHop` the
   * MP_REACH next hop (IPv4 unicast: copied into NEXT_HOP when the attributes lack it).
   */
  announce(family: Family, key: string, route: Route, nextHop: NextHop | undefined, attributes: PathAttributes): void {
    let byNh = this.groups.get(attributes);
    if (!byNh) this.groups.set(attributes, (byNh = new Map()));
    const nhKey = nextHop ? (nextHop.linkLocal ? `${nextHop.address}%${nextHop.linkLocal}` : nextHop.address) : '';
    let g = byNh.get(nhKey);
    if (!g) byNh.set(nhKey, (g = { attributes, nextHop, nhKey, routes: [] }));
    const b = this.batch(family);
    if (!b.groupOf.has(key)) this.count++;
    b.groupOf.set(key, g);
    b.routes.set(key, route);
  }

  withdraw(family: Family, key: string, route: Route): void {
    const b = this.batch(family);
    if (!b.groupOf.has(key)) this.count++;
    b.groupOf.set(key, null);
    b.routes.set(key, route);
  }

  clear(): void {
    this.families.clear();
    this.groups.clear();
    this.count = 0;
  }

  /** The batch as packer input: withdrawals per family, announcements per family and distinct attribute set. Clears the batch. */
  take(session: SessionOptions): BatchGroups {
    const withdrawals: PackWithdraw[] = [];
    const announcements: PackAnnounce[] = [];
    const encoded = new Map<PathAttributes, string>();
    for (const b of this.families.values()) {
      const withdrawn: Route[] = [];
      const touched: Group[] = [];
      for (const [key, g] of b.groupOf) {
        const route = b.routes.get(key)!;
        if (g === null) withdrawn.push(route);
        else {
          if (g.routes.length === 0) touched.push(g);
          g.routes.push(route);
        }
      }
      if (withdrawn.length) withdrawals.push({ family: b.family, routes: withdrawn });
      // Merge groups whose attributes encode the same for this session and share a next hop.
      const byContent = new Map<string, { nextHop: NextHop | undefined; attributes: PathAttributes; routes: Route[] }>();
      for (const g of touched) {
        let bytes = encoded.get(g.attributes);
        if (bytes === undefined) {
          bytes = Buffer.from(encodeAttributes(g.attributes, session)).toString('latin1');
          encoded.set(g.attributes, bytes);
        }
        const ck = `${g.nhKey}\u0000${bytes}`;
        const m = byContent.get(ck);
        if (m) for (const r of g.routes) m.routes.push(r);
        else byContent.set(ck, { nextHop: g.nextHop, attributes: g.attributes, routes: g.routes });
        g.routes = [];
      }
      for (const m of byContent.values()) {
        let attributes = m.attributes;
        if (isV4Unicast(b.family) && attributes.nextHop === undefined && m.nextHop) attributes = { ...attributes, nextHop: m.nextHop.address };
        announcements.push({ family: b.family, nextHop: m.nextHop, attributes, routes: m.routes });
      }
    }
    this.clear();
    return { withdrawals, announcements };
  }

  /** UPDATE messages for the batch: withdrawals first, then one run of full UPDATEs per attribute set. Clears the batch. */
  build(session: SessionOptions): Uint8Array[] {
    const { withdrawals, announcements } = this.take(session);
    const out: Uint8Array[] = [];
    for (const w of withdrawals) for (const m of packWithdrawals(w, session)) out.push(m);
    for (const a of announcements) for (const m of packAnnouncements(a, session)) out.push(m);
    return out;
  }
}
