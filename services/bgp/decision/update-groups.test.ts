import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRd } from '../../common/vpn/rd.js';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import type { PathAttributes } from '../wire/attributes.js';
import { decodeMessage } from '../wire/message.js';
import type { Route } from '../wire/nlri.js';
import { UpdateBatch, updateGroupKey } from './update-groups.js';

const VPNV4 = { afi: 1, safi: 128 };
const V4 = { afi: 1, safi: 1 };
const session = { fourOctetAs: true, maxMessageLength: 4096 };

const attrs = (rt: string, med?: number): PathAttributes => ({
  origin: 0,
  asPath: [{ type: 2, asns: [65001] }],
  localPref: 100,
  ...(med !== undefined ? { med } : {}),
  extendedCommunities: [{ kind: 'route-target', value: parseRouteTarget(rt) }],
});

function route(i: number): Route {
  return { prefix: Uint8Array.of(10, (i >> 8) & 0xff, i & 0xff, 0), length: 24, rd: parseRd('65000:1'), labels: [100 + i] };
}
const key = (i: number) => `k${i}`;

function decodeAll(msgs: Uint8Array[]) {
  const announced: string[] = [];
  const withdrawn: string[] = [];
  const attrSets = new Set<string>();
  for (const m of msgs) {
    const r = decodeMessage(m, session);
    assert.ok(r.ok && r.message.type === 'update');
    for (const l of r.message.announce) for (let i = 0; i < l.count; i++) announced.push(l.prefix(i));
    for (const l of r.message.withdraw) for (let i = 0; i < l.count; i++) withdrawn.push(l.prefix(i));
    if (r.message.announce.some((l) => l.count)) attrSets.add(JSON.stringify({ med: r.message.attributes.med, ec: r.message.attributes.extendedCommunities }));
  }
  return { announced: announced.sort(), withdrawn: withdrawn.sort(), attrSets };
}

test('routes are grouped by attribute content: equal sets built separately share UPDATEs', () => {
  const b = new UpdateBatch();
  const a1 = attrs('65000:1');
  const a2 = attrs('65000:1'); // same content, another object
  const a3 = attrs('65000:1', 7);
  for (let i = 0; i < 900; i++) b.announce(VPNV4, key(i), route(i), { address: '192.0.2.1' }, i % 3 === 0 ? a1 : i % 3 === 1 ? a2 : a3);
  assert.equal(b.size, 900);
  const g = new UpdateBatch();
  for (let i = 0; i < 900; i++) g.announce(VPNV4, key(i), route(i), { address: '192.0.2.1' }, i % 3 === 0 ? a1 : i % 3 === 1 ? a2 : a3);
  const groups = g.take(session);
  assert.equal(groups.announcements.length, 2);
  assert.deepEqual(groups.announcements.map((a) => [...a.routes].length).sort((x, y) => x - y), [300, 600]);
  const msgs = b.build(session);
  assert.equal(b.size, 0, 'build clears the batch');
  const d = decodeAll(msgs);
  assert.equal(d.announced.length, 900);
  assert.equal(d.attrSets.size, 2);
  // Full messages: 600 VPN /24s of 16 octets each need 3 UPDATEs, 300 need 2.
  assert.equal(msgs.length, 5);
});

test('a different next hop is a different group', () => {
  const b = new UpdateBatch();
  const a = attrs('65000:1');
  b.announce(VPNV4, key(1), route(1), { address: '192.0.2.1' }, a);
  b.announce(VPNV4, key(2), route(2), { address: '192.0.2.2' }, a);
  assert.equal(b.take(session).announcements.length, 2);
});

test('last word per route wins inside a batch; withdrawals go first', () => {
  const b = new UpdateBatch();
  const a = attrs('65000:1');
  b.announce(VPNV4, key(1), route(1), { address: '192.0.2.1' }, a);
  b.withdraw(VPNV4, key(1), route(1));
  b.withdraw(VPNV4, key(2), route(2));
  b.announce(VPNV4, key(2), route(2), { address: '192.0.2.1' }, a);
  b.announce(VPNV4, key(3), route(3), { address: '192.0.2.1' }, a);
  assert.equal(b.size, 3);
  const msgs = b.build(session);
  const first = decodeMessage(msgs[0]!, session);
  assert.ok(first.ok && first.message.type === 'update' && first.message.withdraw.length > 0);
  const d = decodeAll(msgs);
  assert.deepEqual(d.withdrawn, ['10.0.1.0/24']);
  assert.deepEqual(d.announced, ['10.0.2.0/24', '10.0.3.0/24']);
});

test('IPv4 unicast gets its NEXT_HOP attribute from the group next hop', () => {
  const b = new UpdateBatch();
  const a: PathAttributes = { origin: 0, asPath: [] };
  b.announce(V4, 'x', { prefix: Uint8Array.of(10, 0, 0, 0), length: 8 }, { address: '192.0.2.7' }, a);
  const [m] = b.build(session);
  const r = decodeMessage(m!, session);
  assert.ok(r.ok && r.message.type === 'update');
  assert.equal(r.message.attributes.nextHop, '192.0.2.7');
  assert.equal(a.nextHop, undefined, 'the caller\'s attributes are not modified');
});

test('update group key: peers that differ in what they are sent differ in key', () => {
  const base = { external: false, localAs: 65000, localAddress: '192.0.2.1', session };
  assert.equal(updateGroupKey(base), updateGroupKey({ ...base }));
  assert.notEqual(updateGroupKey(base), updateGroupKey({ ...base, external: true }));
  assert.notEqual(updateGroupKey(base), updateGroupKey({ ...base, session: { fourOctetAs: false } }));
  assert.notEqual(updateGroupKey(base), updateGroupKey({ ...base, routeReflectorClient: true }));
  assert.notEqual(updateGroupKey(base), updateGroupKey({ ...base, filterId: 'rtc:10.0.0.1' }));
});
