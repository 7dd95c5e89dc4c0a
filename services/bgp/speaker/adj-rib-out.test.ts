import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRd } from '../../common/vpn/rd.js';
import { AdjRibIn } from '../rib/adj-rib-in.js';
import type { Path } from '../rib/path.js';
import { decodeMessage } from '../wire/message.js';
import { parsePrefix } from '../wire/nlri.js';
import { MessageSplitter } from '../wire/splitter.js';
import { encodeUpdate, type UpdateMessage } from '../wire/update.js';
import { AdjRibOut, type OutboundPeer, type OutboundSource } from './adj-rib-out.js';
import type { SourceSession } from './reflection.js';
import { UpdateWriter } from './update-writer.js';
import { VPNV4 } from './config.js';

const S = { fourOctetAs: true };
const CLIENT_A = '192.0.2.1';
const CLIENT_B = '192.0.2.2';
const NON_CLIENT = '192.0.2.3';

const sessions = new Map<string, SourceSession>([
  [CLIENT_A, { address: CLIENT_A, external: false, client: true, routerId: '10.0.0.1' }],
  [CLIENT_B, { address: CLIENT_B, external: false, client: true, routerId: '10.0.0.2' }],
  [NON_CLIENT, { address: NON_CLIENT, external: false, client: false, routerId: '10.0.0.3' }],
]);

/** A Loc-RIB stand-in: one best per key. */
class Rib implements OutboundSource {
  readonly table = new Map<string, Path>();
  readonly clusterId = '10.9.9.9';
  best = (_f: unknown, k: string) => this.table.get(k);
  bests = () => this.table.values();
  session = (s: string) => sessions.get(s);
}

function receive(from: string, prefixes: string[], labelBase = 100): Path[] {
  const rib = new AdjRibIn(from);
  const routes = prefixes.map((p, i) => ({ ...parsePrefix(p), rd: parseRd('65000:1'), labels: [labelBase + i] }));
  const bytes = encodeUpdate({ attributes: { origin: 0, asPath: [], localPref: 100 }, mpReach: { ...VPNV4, nextHop: { address: '198.51.100.1' }, routes } }, S);
  const d = decodeMessage(bytes, S);
  assert.ok(d.ok && d.message.type === 'update');
  return rib.apply(d.message, [VPNV4], 0, bytes).announced;
}

function peer(address: string, over: Partial<OutboundPeer> = {}): OutboundPeer {
  return { address, external: false, client: sessions.get(address)?.client ?? false, nextHopSelf: false, localAs: 65000, remoteAs: 65000, localAddress: '127.0.0.9', session: S, ...over };
}

/** Collects what the Adj-RIB-Out writes; `accept` decides the backpressure answer per chunk. */
function wire(accept: () => boolean = () => true) {
  const updates: UpdateMessage[] = [];
  let messages = 0;
  const writer = new UpdateWriter(4096, (chunk, n) => {
    messages += n;
    for (const m of new MessageSplitter().push(chunk).messages) {
      const d = decodeMessage(m, S);
      assert.ok(d.ok && d.message.type === 'update');
      updates.push(d.message);
    }
    return accept();
  });
  const announced = () => updates.flatMap((u) => u.announce.flatMap((l) => l.toRoutes().map((r) => ({ prefix: r.prefix, labels: r.labels, attrs: u.attributes, nh: u.mpReach?.nextHop?.address }))));
  const withdrawn = () => updates.flatMap((u) => u.withdraw.flatMap((l) => l.toRoutes().map((r) => r.prefix)));
  return { writer, updates, announced, withdrawn, messages: () => messages };
}

test('reflects a client route to another client with ORIGINATOR_ID and CLUSTER_LIST, then End-of-RIB', () => {
  const rib = new Rib();
  for (const p of receive(CLIENT_A, ['10.1.0.0/24', '10.2.0.0/24'])) rib.table.set(p.key, p);
  const out = new AdjRibOut(peer(CLIENT_B), [VPNV4], rib);
  const w = wire();
  out.startSync();
  assert.equal(out.produce(w.writer), true);
  const a = w.announced();
  assert.deepEqual(a.map((x) => [x.prefix, x.labels]), [['10.1.0.0/24', [100]], ['10.2.0.0/24', [101]]]);
  assert.equal(a[0]!.attrs.originatorId, '10.0.0.1');
  assert.deepEqual(a[0]!.attrs.clusterList, ['10.9.9.9']);
  assert.equal(a[0]!.nh, '198.51.100.1', 'a reflector leaves the next hop alone');
  assert.equal(w.updates.length, 2, 'one UPDATE for both routes, then End-of-RIB');
  assert.deepEqual(w.updates[1]!.endOfRib, VPNV4);
  assert.equal(out.count(VPNV4), 2);
});

test('never back to the sender; a non-client route reaches clients only', () => {
  const rib = new Rib();
  for (const p of receive(CLIENT_A, ['10.1.0.0/24'])) rib.table.set(p.key, p);
  for (const p of receive(NON_CLIENT, ['10.3.0.0/24'])) rib.table.set(p.key, p);
  const toA = new AdjRibOut(peer(CLIENT_A), [VPNV4], rib);
  const toNonClient = new AdjRibOut(peer('192.0.2.4'), [VPNV4], rib);
  const wa = wire();
  const wn = wire();
  toA.startSync();
  toNonClient.startSync();
  toA.produce(wa.writer);
  toNonClient.produce(wn.writer);
  assert.deepEqual(wa.announced().map((x) => x.prefix), ['10.3.0.0/24']);
  assert.deepEqual(wn.announced().map((x) => x.prefix), ['10.1.0.0/24']);
});

test('next-hop-self toward an iBGP peer; withdrawals only for what was sent', () => {
  const rib = new Rib();
  const [p] = receive(CLIENT_A, ['10.1.0.0/24']);
  rib.table.set(p!.key, p!);
  const out = new AdjRibOut(peer(CLIENT_B, { nextHopSelf: true }), [VPNV4], rib);
  const w = wire();
  out.startSync();
  out.produce(w.writer);
  assert.equal(w.announced()[0]!.nh, '127.0.0.9');
  rib.table.delete(p!.key);
  out.mark(VPNV4, p!.key);
  out.mark(VPNV4, 'never-sent');
  out.produce(w.writer);
  assert.deepEqual(w.withdrawn(), ['10.1.0.0/24']);
  assert.equal(out.count(VPNV4), 0);
});

test('route refresh is answered from the Adj-RIB-Out; an unchanged best is not sent twice', () => {
  const rib = new Rib();
  for (const p of receive(CLIENT_A, ['10.1.0.0/24', '10.2.0.0/24'])) rib.table.set(p.key, p);
  const out = new AdjRibOut(peer(CLIENT_B), [VPNV4], rib);
  const w = wire();
  out.startSync();
  out.produce(w.writer);
  const before = w.announced().length;
  for (const k of rib.table.keys()) out.mark(VPNV4, k);
  out.produce(w.writer);
  assert.equal(w.announced().length, before, 'nothing new to say');
  out.refresh(VPNV4);
  out.produce(w.writer);
  assert.deepEqual(w.announced().slice(before).map((x) => x.prefix), ['10.1.0.0/24', '10.2.0.0/24']);
});

test('backpressure: production stops when the sink pushes back and resumes where it stopped', () => {
  const rib = new Rib();
  const prefixes = Array.from({ length: 20_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  for (let i = 0; i < prefixes.length; i += 200) for (const p of receive(CLIENT_A, prefixes.slice(i, i + 200), i)) rib.table.set(p.key, p);
  const out = new AdjRibOut(peer(CLIENT_B), [VPNV4], rib);
  let open = false;
  const w = wire(() => open);
  out.startSync();
  assert.equal(out.produce(w.writer), false, 'stopped at the first full buffer');
  const first = w.announced().length;
  assert.ok(first > 0 && first < prefixes.length);
  open = true;
  w.writer.writable = true;
  assert.equal(out.produce(w.writer), true);
  assert.equal(w.announced().length, prefixes.length);
  assert.ok(w.updates.length < prefixes.length / 100, `packed: ${w.updates.length} UPDATEs`);
});
