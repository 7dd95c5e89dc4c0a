import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRd, parseRd } from '../../common/vpn/rd.js';
import { decodeMessage } from '../wire/message.js';
import { parsePrefix } from '../wire/nlri.js';
import { encodeEndOfRib, encodeUpdate, type UpdateMessage } from '../wire/update.js';
import { AdjRibIn } from './adj-rib-in.js';
import { RibPath, routeKey } from './path.js';

const VPNV4 = { afi: 1, safi: 128 };
const S = { fourOctetAs: true };
const route = (p: string, label = 10) => ({ ...parsePrefix(p), rd: parseRd('65000:1'), labels: [label] });
const upd = (bytes: Uint8Array): UpdateMessage => {
  const d = decodeMessage(bytes, S);
  assert.ok(d.ok && d.message.type === 'update');
  return d.message;
};
const announce = (...prefixes: string[]) =>
  upd(encodeUpdate({ attributes: { origin: 0, asPath: [], localPref: 100 }, mpReach: { ...VPNV4, nextHop: { address: '198.51.100.1' }, routes: prefixes.map((p) => route(p)) } }, S));
const withdraw = (...prefixes: string[]) => upd(encodeUpdate({ mpUnreach: { ...VPNV4, routes: prefixes.map((p) => route(p)) } }, S));

test('announcements and withdrawals by destination, labels ignored in the key', () => {
  const rib = new AdjRibIn('192.0.2.9');
  const c = rib.apply(announce('10.1.0.0/24', '10.2.0.0/24'), [VPNV4], 1);
  assert.equal(c.announced.length, 2);
  const p = rib.table.get(VPNV4, routeKey(VPNV4, route('10.1.0.0/24', 99)))!;
  assert.deepEqual([p.route.labels, p.nextHop?.address, p.source, p.attributes.localPref], [[10], '198.51.100.1', '192.0.2.9', 100]);
  const w = rib.apply(withdraw('10.1.0.0/24', '10.9.0.0/24'), [VPNV4], 2);
  assert.equal(w.withdrawn.length, 1);
  assert.equal(rib.table.count(VPNV4), 1);
});

test('a family not negotiated is ignored (RFC 4760 §7)', () => {
  const rib = new AdjRibIn('x');
  const c = rib.apply(announce('10.1.0.0/24'), [{ afi: 1, safi: 1 }], 1);
  assert.equal(c.ignored, 1);
  assert.equal(rib.table.count(VPNV4), 0);
});

test('graceful restart: stale paths survive until End-of-RIB, re-announced ones are fresh (RFC 4724 §4.2)', () => {
  const rib = new AdjRibIn('x');
  rib.apply(announce('10.1.0.0/24', '10.2.0.0/24'), [VPNV4], 1);
  assert.equal(rib.markStale([VPNV4]), 2);
  rib.apply(announce('10.2.0.0/24'), [VPNV4], 2);
  assert.equal(rib.staleCount(VPNV4), 1);
  const eor = rib.apply(upd(encodeEndOfRib(1, 128)), [VPNV4], 3);
  assert.deepEqual(eor.endOfRib, [VPNV4]);
  assert.deepEqual(eor.withdrawn.map((p) => p.key), [routeKey(VPNV4, route('10.1.0.0/24'))]);
  assert.equal(rib.table.count(VPNV4), 1);
});

test('paths of one UPDATE share one attribute object; labels and routes come back from the compact form', () => {
  const rib = new AdjRibIn('192.0.2.9');
  const bytes = encodeUpdate({ attributes: { origin: 0, asPath: [], localPref: 100 }, mpReach: { ...VPNV4, nextHop: { address: '198.51.100.1' }, routes: [route('10.1.0.0/24', 16), route('10.2.0.0/23', 17)] } }, S);
  const again = encodeUpdate({ attributes: { origin: 0, asPath: [], localPref: 100 }, mpReach: { ...VPNV4, nextHop: { address: '198.51.100.1' }, routes: [route('10.3.0.0/24', 18)] } }, S);
  const [a, b] = rib.apply(upd(bytes), [VPNV4], 1, bytes).announced;
  const [c] = rib.apply(upd(again), [VPNV4], 2, again).announced;
  assert.ok(a instanceof RibPath && b instanceof RibPath && c instanceof RibPath);
  assert.equal(a.shared, c.shared, 'same attribute octets: one shared object across UPDATEs');
  assert.equal(rib.attributeSets, 1);
  assert.deepEqual([b.route.length, b.route.labels, formatRd(b.route.rd!)], [23, [17], '65000:1']);
  assert.equal(routeKey(VPNV4, b.route), b.key, 'the route rebuilt from the key keys the same');
  rib.clear();
  assert.equal(rib.attributeSets, 0, 'unused attribute sets are dropped');
});

test('announcements a loop check refuses are withdrawals (RFC 4456 §8)', () => {
  const rib = new AdjRibIn('192.0.2.9');
  rib.apply(announce('10.1.0.0/24'), [VPNV4], 1);
  const looped = encodeUpdate({ attributes: { origin: 0, asPath: [], originatorId: '10.0.0.1' }, mpReach: { ...VPNV4, nextHop: { address: '198.51.100.1' }, routes: [route('10.1.0.0/24'), route('10.2.0.0/24')] } }, S);
  const c = rib.apply(upd(looped), [VPNV4], 2, looped, (a) => a.originatorId === '10.0.0.1');
  assert.deepEqual([c.announced.length, c.withdrawn.length], [0, 1]);
  assert.equal(rib.table.count(VPNV4), 0);
});

test('refused announcements are counted (received = accepted + refused) until withdrawn, accepted or the session ends', () => {
  const rib = new AdjRibIn('192.0.2.9');
  const loop = (a: { originatorId?: string }) => a.originatorId === '10.0.0.1';
  const looped = (...prefixes: string[]) =>
    upd(encodeUpdate({ attributes: { origin: 0, asPath: [], originatorId: '10.0.0.1' }, mpReach: { ...VPNV4, nextHop: { address: '198.51.100.1' }, routes: prefixes.map((p) => route(p)) } }, S));
  rib.apply(announce('10.1.0.0/24'), [VPNV4], 1, undefined, loop);
  rib.apply(looped('10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24'), [VPNV4], 2, undefined, loop);
  assert.deepEqual([rib.table.count(VPNV4), rib.refusedCount(VPNV4)], [1, 3]);
  rib.apply(looped('10.2.0.0/24'), [VPNV4], 3, undefined, loop);
  assert.equal(rib.refusedCount(VPNV4), 3, 'counted once per destination');
  rib.apply(withdraw('10.2.0.0/24'), [VPNV4], 4, undefined, loop);
  rib.apply(announce('10.3.0.0/24'), [VPNV4], 5, undefined, loop);
  assert.deepEqual([rib.table.count(VPNV4), rib.refusedCount(VPNV4)], [2, 1]);
  rib.clear();
  assert.equal(rib.refusedCount(VPNV4), 0);
});
