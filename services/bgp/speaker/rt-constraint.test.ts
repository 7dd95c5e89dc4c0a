import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRd } from '../../common/vpn/rd.js';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import { AdjRibIn } from '../rib/adj-rib-in.js';
import type { Path } from '../rib/path.js';
import { decodeMessage } from '../wire/message.js';
import { parsePrefix } from '../wire/nlri.js';
import { DEFAULT_RT_MEMBERSHIP, decodeRtMembershipNlri, encodeRtMembershipNlri, type RtMembership } from '../wire/rt-membership-nlri.js';
import { MessageSplitter } from '../wire/splitter.js';
import { decodeUpdate, encodeUpdate, type UpdateMessage } from '../wire/update.js';
import { rtMembership } from '../vrf/rt-membership.js';
import { rtAttrs } from '../vrf/test-helpers.js';
import { AdjRibOut, type OutboundPeer, type OutboundSource } from './adj-rib-out.js';
import { IPV4_UNICAST, RTC, VPNV4 } from './config.js';
import { RtConstraintSession } from './rt-constraint.js';
import { UpdateWriter } from './update-writer.js';

const S = { fourOctetAs: true };
const FROM = '192.0.2.1';

/** VPN paths from FROM, one attribute set per call. */
function vpn(prefixes: string[], rts: string[]): Path[] {
  const routes = prefixes.map((p, i) => ({ ...parsePrefix(p), rd: parseRd('65000:1'), labels: [100 + i] }));
  const bytes = encodeUpdate({ attributes: rtAttrs(rts), mpReach: { ...VPNV4, nextHop: { address: '198.51.100.1' }, routes } }, S);
  const d = decodeMessage(bytes, S);
  assert.ok(d.ok && d.message.type === 'update');
  return new AdjRibIn(FROM).apply(d.message, [VPNV4], 0, bytes).announced;
}

function v4(prefix: string): Path[] {
  const bytes = encodeUpdate({ attributes: { origin: 0, asPath: [], localPref: 100, nextHop: '198.51.100.1' }, nlri: [parsePrefix(prefix)] }, S);
  const d = decodeMessage(bytes, S);
  assert.ok(d.ok && d.message.type === 'update');
  return new AdjRibIn(FROM).apply(d.message, [IPV4_UNICAST], 0, bytes).announced;
}

class Rib implements OutboundSource {
  readonly tables = new Map<number, Map<string, Path>>();
  readonly clusterId = '10.9.9.9';
  add(paths: Path[]): void {
    for (const p of paths) {
      const k = p.family.safi;
      if (!this.tables.has(k)) this.tables.set(k, new Map());
      this.tables.get(k)!.set(p.key, p);
    }
  }
  best = (f: { safi: number }, k: string) => this.tables.get(f.safi)?.get(k);
  bests = (f: { safi: number }) => (this.tables.get(f.safi) ?? new Map<string, Path>()).values();
  // eBGP source: every route goes to the iBGP peer under test.
  session = () => ({ address: FROM, external: true, client: false, routerId: '10.0.0.1' });
}

const PEER: OutboundPeer = { address: '192.0.2.9', external: false, client: false, nextHopSelf: false, localAs: 65000, remoteAs: 65000, localAddress: '127.0.0.9', session: S };

function wire() {
  const updates: UpdateMessage[] = [];
  const writer = new UpdateWriter(4096, (chunk) => {
    for (const m of new MessageSplitter().push(chunk).messages) {
      const d = decodeMessage(m, S);
      assert.ok(d.ok && d.message.type === 'update');
      updates.push(d.message);
    }
    return true;
  });
  const prefixes = (side: 'announce' | 'withdraw') => updates.flatMap((u) => u[side].flatMap((l) => (l.shape ? l.toRoutes().map((r) => r.prefix) : [])));
  return { writer, updates, announced: () => prefixes('announce'), withdrawn: () => prefixes('withdraw') };
}

const member = (rt: string): RtMembership => rtMembership(65001, parseRouteTarget(rt));

/** An UPDATE from the peer carrying RT membership NLRI (announced or withdrawn), or its End-of-RIB. */
function fromPeer(announce: RtMembership[], withdraw: RtMembership[] = []): UpdateMessage {
  const nlri = (list: RtMembership[]) => encodeRtMembershipNlri(list);
  const mp: number[] = [];
  const attr = (type: number, value: Uint8Array) => mp.push(0x90, type, value.length >> 8, value.length & 0xff, ...value);
  if (withdraw.length) attr(15, Uint8Array.of(0, 1, 132, ...nlri(withdraw)));
  if (announce.length) attr(14, Uint8Array.of(0, 1, 132, 4, 192, 0, 2, 9, 0, ...nlri(announce)));
  const others = announce.length ? [0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 5, 4, 0, 0, 0, 100] : [];
  if (!announce.length && !withdraw.length) attr(15, Uint8Array.of(0, 1, 132)); // End-of-RIB
  const body = Uint8Array.of(0, 0, (mp.length + others.length) >> 8, (mp.length + others.length) & 0xff, ...mp, ...others);
  const u = decodeUpdate(body, S);
  assert.equal(u.action, 'ok', JSON.stringify(u.problems));
  return u;
}

test('RT constraint in the Adj-RIB-Out: VPN routes wait for the End-of-RIB, then only requested RTs go out', () => {
  const rib = new Rib();
  rib.add(vpn(['10.1.0.0/24', '10.1.1.0/24'], ['65000:100']));
  rib.add(vpn(['10.2.0.0/24'], ['65000:200', '65000:201']));
  rib.add(vpn(['10.9.0.0/24'], []));
  rib.add(v4('192.168.1.0/24'));
  const rtc = new RtConstraintSession({ ...PEER, maxMessageLength: 4096 });
  const out = new AdjRibOut(PEER, [IPV4_UNICAST, VPNV4, RTC], rib, rtc);
  const w = wire();
  out.startSync();
  assert.equal(out.produce(w.writer), true);
  // IPv4 unicast and the RTC family are not held back: routes and End-of-RIB; VPN waits (RFC 4684 §6).
  assert.deepEqual(w.announced(), ['192.168.1.0/24']);
  assert.deepEqual(
    w.updates.filter((u) => u.endOfRib).map((u) => u.endOfRib),
    [IPV4_UNICAST, RTC],
  );
  // Memberships before the End-of-RIB change nothing yet.
  rtc.receive(fromPeer([member('65000:201')]));
  assert.equal(out.routeTargetsChanged(), false);
  assert.equal(out.produce(w.writer), true);
  assert.equal(w.announced().length, 1);
  // End-of-RIB: the gate opens; only the 201 route goes, then the VPN End-of-RIB.
  assert.equal(rtc.receive(fromPeer([])).endOfRib, true);
  rtc.ready = true;
  assert.equal(out.routeTargetsChanged(), true);
  out.produce(w.writer);
  assert.deepEqual(w.announced().slice(1), ['10.2.0.0/24']);
  assert.deepEqual(w.updates.at(-1)!.endOfRib, VPNV4);
  // A new membership announces exactly what it newly allows.
  const mark = w.announced().length;
  assert.equal(rtc.receive(fromPeer([member('65000:100')])).changed, true);
  out.routeTargetsChanged();
  out.produce(w.writer);
  assert.deepEqual(w.announced().slice(mark).sort(), ['10.1.0.0/24', '10.1.1.0/24']);
  // Withdrawing one withdraws exactly what it alone allowed; no End-of-RIB again.
  const eors = w.updates.filter((u) => u.endOfRib).length;
  rtc.receive(fromPeer([], [member('65000:201')]));
  out.routeTargetsChanged();
  out.produce(w.writer);
  assert.deepEqual(w.withdrawn(), ['10.2.0.0/24']);
  assert.equal(w.updates.filter((u) => u.endOfRib).length, eors);
  assert.equal(out.count(VPNV4), 2);
  // The default membership: everything, RT-less routes included.
  rtc.receive(fromPeer([DEFAULT_RT_MEMBERSHIP]));
  out.routeTargetsChanged();
  out.produce(w.writer);
  assert.equal(out.count(VPNV4), 4);
});

test('RT constraint: a best that changes while filtered stays filtered; route refresh resends only what passed', () => {
  const rib = new Rib();
  const [a] = vpn(['10.1.0.0/24'], ['65000:100']);
  rib.add([a!]);
  const rtc = new RtConstraintSession({ ...PEER, maxMessageLength: 4096 });
  rtc.ready = true;
  rtc.receive(fromPeer([member('65000:100')]));
  const out = new AdjRibOut(PEER, [VPNV4], rib, rtc);
  const w = wire();
  out.startSync();
  out.produce(w.writer);
  assert.deepEqual(w.announced(), ['10.1.0.0/24']);
  // The destination's best now carries another RT: it is withdrawn, not replaced.
  const [b] = vpn(['10.1.0.0/24'], ['65000:300']);
  rib.add([b!]);
  out.mark(VPNV4, b!.key);
  out.produce(w.writer);
  assert.deepEqual(w.withdrawn(), ['10.1.0.0/24']);
  out.refresh(VPNV4);
  out.produce(w.writer);
  assert.equal(w.announced().length, 1);
});

test('our memberships: exactly the difference is announced or withdrawn, split to the message size', () => {
  const rtc = new RtConstraintSession({ external: false, localAs: 65000, localAddress: '192.0.2.10', session: S, maxMessageLength: 4096 });
  const decode = (m: Uint8Array) => {
    const d = decodeMessage(m, S);
    assert.ok(d.ok && d.message.type === 'update' && d.message.action === 'ok');
    return d.message;
  };
  const nlri = (u: UpdateMessage, side: 'announce' | 'withdraw') =>
    u[side].flatMap((l) => {
      const r = decodeRtMembershipNlri(l.bytes);
      assert.ok(Array.isArray(r));
      return r.map((m) => `${m.originAs}/${m.length}/${Buffer.from(m.target).toString('hex')}`);
    });
  const own = (rt: string) => rtMembership(65000, parseRouteTarget(rt));
  const first = rtc.advertise([own('65000:1'), own('65000:2')]).map(decode);
  assert.equal(first.length, 1);
  assert.deepEqual(nlri(first[0]!, 'announce'), ['65000/96/0002fde800000001', '65000/96/0002fde800000002']);
  assert.deepEqual([first[0]!.mpReach?.rawNextHop, first[0]!.attributes.localPref, first[0]!.attributes.asPath], [Uint8Array.of(192, 0, 2, 10), 100, []]);
  assert.deepEqual(rtc.advertise([own('65000:1'), own('65000:2')]), [], 'unchanged: nothing');
  const next = rtc.advertise([own('65000:2'), own('65000:3')]).map(decode);
  assert.deepEqual(next.map((u) => [nlri(u, 'withdraw'), nlri(u, 'announce')]), [
    [['65000/96/0002fde800000001'], []],
    [[], ['65000/96/0002fde800000003']],
  ]);
  assert.equal(rtc.sentCount, 2);
  // 1000 memberships of 13 octets do not fit one 4096-octet UPDATE.
  const many = Array.from({ length: 1000 }, (_, i) => own(`65000:${1000 + i}`));
  const big = rtc.advertise(many);
  assert.ok(big.length >= 4 && big.every((m) => m.length <= 4096), `${big.length} UPDATEs`);
  assert.equal(big.map(decode).reduce((n, u) => n + nlri(u, 'announce').length + nlri(u, 'withdraw').length, 0), 1000 + 2);
  // eBGP: our AS in AS_PATH, no LOCAL_PREF.
  const e = new RtConstraintSession({ external: true, localAs: 65000, localAddress: '192.0.2.10', session: S, maxMessageLength: 4096 });
  const [eu] = e.advertise([DEFAULT_RT_MEMBERSHIP]).map(decode);
  assert.deepEqual([eu!.attributes.asPath, eu!.attributes.localPref, nlri(eu!, 'announce')], [[{ type: 2, asns: [65000] }], undefined, ['0/0/0000000000000000']]);
});

test('a malformed RT membership NLRI resets the session; a withdrawn one reaches the session', () => {
  const bad = Uint8Array.of(0, 0, 0, 22, 0x90, 14, 0, 11, 0, 1, 132, 4, 192, 0, 2, 9, 0, 8, 1, 0x40, 1, 1, 0, 0x40, 2, 0);
  const u = decodeUpdate(bad, S);
  assert.equal(u.action, 'session-reset');
  assert.deepEqual([u.notification?.code, u.notification?.subcode], [3, 9]);
  const w = fromPeer([], [member('65000:7')]);
  assert.equal(w.withdraw.length, 1);
  assert.equal(w.endOfRib, undefined);
  const rtc = new RtConstraintSession({ ...PEER, maxMessageLength: 4096 });
  rtc.receive(fromPeer([member('65000:7')]));
  assert.deepEqual(rtc.receive(w), { changed: true, endOfRib: false });
  assert.equal(rtc.filter.size, 0);
});
