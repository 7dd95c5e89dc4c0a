// Route target constraint (RFC 4684) on one session: the memberships the
// peer sent (its outbound VPN filter) and the ones we advertise to it.
//
// Received memberships are not Loc-RIB paths: each peer's set is only the
// filter on what that peer is sent (the simplification GoBGP makes too: no
// route distribution graph over several paths of one membership, §3.2).
// Ours are originated, never reflected: see membershipsFor() in speaker.ts.
//
// RFC 4684 §6: VPN routes to a peer that negotiated the family wait for its
// RT membership End-of-RIB, so its first filter is complete, but only for a
// bounded time (bgp.rtc-wait-time, 60 s as the RFC suggests): some peers
// send End-of-RIB only with graceful restart (GoBGP).
// Pure: the peer writes the UPDATEs this builds.
import { encodeAttribute, encodeAttributes, type PathAttributes } from '../wire/attributes.js';
import { AsPathSegmentType, AttrFlag, AttrType, HEADER_LENGTH, MessageType, Origin } from '../wire/constants.js';
import { writeHeader } from '../wire/header.js';
import { writeUint16 } from '../wire/ip.js';
import { mpReachHead } from '../wire/mp-nlri.js';
import type { NlriList } from '../wire/nlri.js';
import { RT_CONSTRAINT_FAMILY, decodeRtMembershipNlri, encodeRtMembershipNlri, rtMembershipKey, type RtMembership } from '../wire/rt-membership-nlri.js';
import type { SessionOptions } from '../wire/session.js';
import type { UpdateMessage } from '../wire/update.js';
import { RtMembershipFilter } from '../vrf/rt-membership.js';
import { DEFAULT_LOCAL_PREF } from './export.js';
import { isRtc } from './config.js';

export interface RtcSessionPeer {
  readonly external: boolean;
  readonly localAs: number;
  /** Our address on the session: the MP_REACH_NLRI next hop (RFC 4684 §4). */
  readonly localAddress: string;
  readonly session: SessionOptions;
  readonly maxMessageLength: number;
}

export class RtConstraintSession {
  /** What the peer asked for: the filter on every VPN route it is sent. */
  readonly filter = new RtMembershipFilter();
  private readonly sent = new Map<string, RtMembership>();
  /** The peer's RT membership End-of-RIB arrived (or waiting was given up). */
  ready = false;

  constructor(private readonly peer: RtcSessionPeer) {}

  get sentCount(): number {
    return this.sent.size;
  }

  sentMemberships(): IterableIterator<RtMembership> {
    return this.sent.values();
  }

  /**
   * Applies the RT membership NLRI of one UPDATE the codec accepted (its
   * fields were checked there). `changed`: the filter may pass something
   * else now; `endOfRib`: the family's End-of-RIB.
   */
  receive(update: UpdateMessage): { changed: boolean; endOfRib: boolean } {
    let changed = false;
    for (const list of update.withdraw) if (isRtc(list)) for (const m of members(list)) changed = this.filter.remove(m) || changed;
    for (const list of update.announce) if (isRtc(list)) for (const m of members(list)) changed = this.filter.add(m) || changed;
    const endOfRib = update.endOfRib !== undefined && isRtc(update.endOfRib);
    return { changed, endOfRib };
  }

  /** UPDATEs bringing what the peer holds from us to `want`; `sent` follows. */
  advertise(want: readonly RtMembership[]): Uint8Array[] {
    const wanted = new Map<string, RtMembership>();
    for (const m of want) wanted.set(rtMembershipKey(m), m);
    const gone: RtMembership[] = [];
    const added: RtMembership[] = [];
    for (const [k, m] of this.sent) if (!wanted.has(k)) gone.push(m);
    for (const [k, m] of wanted) if (!this.sent.has(k)) added.push(m);
    for (const m of gone) this.sent.delete(rtMembershipKey(m));
    for (const [k, m] of wanted) this.sent.set(k, m);
    return [...this.withdrawals(gone), ...this.announcements(added)];
  }

  /** Every membership in `want` announced again (route refresh of the family, RFC 2918). */
  resend(want: readonly RtMembership[]): Uint8Array[] {
    this.sent.clear();
    return this.advertise(want);
  }

  /** RouteTargetGate: whether a VPN route with these attributes may go to the peer. */
  allows(attributes: Readonly<PathAttributes>): boolean {
    return this.filter.allows(attributes);
  }

  private *withdrawals(list: RtMembership[]): Iterable<Uint8Array> {
    const head = Uint8Array.of(0, RT_CONSTRAINT_FAMILY.afi, RT_CONSTRAINT_FAMILY.safi);
    for (const part of this.split(list, head.length + 4)) {
      yield update(encodeAttribute(AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, concat(head, encodeRtMembershipNlri(part))));
    }
  }

  private *announcements(list: RtMembership[]): Iterable<Uint8Array> {
    if (list.length === 0) return;
    const p = this.peer;
    // Our own origination: ORIGIN IGP, our AS on eBGP, LOCAL_PREF on iBGP.
    const a: PathAttributes = { origin: Origin.IGP, asPath: p.external ? [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [p.localAs] }] : [] };
    if (!p.external) a.localPref = DEFAULT_LOCAL_PREF;
    const attrs = encodeAttributes(a, p.session);
    const head = mpReachHead(RT_CONSTRAINT_FAMILY, { address: p.localAddress });
    for (const part of this.split(list, attrs.length + head.length + 4)) {
      yield update(encodeAttribute(AttrFlag.OPTIONAL, AttrType.MP_REACH_NLRI, concat(head, encodeRtMembershipNlri(part))), attrs);
    }
  }

  /** Cuts a list so each part's UPDATE fits the session's maximum size. */
  private *split(list: RtMembership[], overhead: number): Iterable<RtMembership[]> {
    const room = this.peer.maxMessageLength - HEADER_LENGTH - 4 - overhead;
    let part: RtMembership[] = [];
    let size = 0;
    for (const m of list) {
      const n = 1 + ((m.length + 7) >> 3);
      if (size + n > room && part.length) {
        yield part;
        part = [];
        size = 0;
      }
      part.push(m);
      size += n;
    }
    if (part.length) yield part;
  }
}

function members(list: NlriList): RtMembership[] {
  const r = decodeRtMembershipNlri(list.bytes);
  return typeof r === 'string' ? [] : r;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** An UPDATE with no IPv4 routes: MP attribute first (RFC 7606 §5.1), then the others. */
function update(mp: Uint8Array, attrs: Uint8Array = new Uint8Array(0)): Uint8Array {
  const aLen = mp.length + attrs.length;
  const out = new Uint8Array(HEADER_LENGTH + 4 + aLen);
  writeHeader(out, MessageType.UPDATE, out.length);
  writeUint16(out, HEADER_LENGTH + 2, aLen);
  out.set(mp, HEADER_LENGTH + 4);
  out.set(attrs, HEADER_LENGTH + 4 + mp.length);
  return out;
}
