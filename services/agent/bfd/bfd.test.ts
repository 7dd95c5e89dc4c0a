import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BfdDiag, BfdState, decodeControl, encodeControl, type BfdControl } from './packet.js';
import { BfdSession, type BfdEvent } from './session.js';
import { BfdSessions, type BfdClock } from './sessions.js';
import type { CoreDatagram, CoreIo } from '../driver.js';

const packet = (p: Partial<BfdControl> = {}): BfdControl => ({
  diag: BfdDiag.NONE,
  state: BfdState.DOWN,
  poll: false,
  final: false,
  cpi: false,
  demand: false,
  detectMult: 3,
  myDiscriminator: 7,
  yourDiscriminator: 0,
  desiredMinTxUs: 1_000_000,
  requiredMinRxUs: 100_000,
  requiredMinEchoRxUs: 0,
  ...p,
});

test('bfd packet: encodes RFC 5880 §4.1 and decodes back', () => {
  const p = packet({ state: BfdState.UP, poll: true, diag: BfdDiag.NEIGHBOR_SIGNALED_DOWN, yourDiscriminator: 9 });
  const b = encodeControl(p);
  assert.equal(b.length, 24);
  assert.equal(b[0], (1 << 5) | 3, 'version 1, diag 3');
  assert.equal(b[1], (3 << 6) | 0x20, 'Up, Poll');
  assert.deepEqual(decodeControl(b), { ok: true, packet: p });
});

test('bfd packet: the reception checks of §6.8.6 discard bad packets', () => {
  const bad = (p: Partial<BfdControl>, patch?: (b: Uint8Array) => void) => {
    const b = encodeControl(packet(p));
    patch?.(b);
    return decodeControl(b);
  };
  assert.equal(bad({}, (b) => (b[0] = (2 << 5))).ok, false, 'version 2');
  assert.equal(bad({ detectMult: 0 }).ok, false, 'detect multiplier 0');
  assert.equal(bad({ myDiscriminator: 0 }).ok, false, 'my discriminator 0');
  assert.equal(bad({ state: BfdState.UP, yourDiscriminator: 0 }).ok, false, 'your discriminator 0 while Up');
  assert.equal(bad({}, (b) => (b[1]! |= 0x04)).ok, false, 'authentication bit');
  assert.equal(bad({}, (b) => (b[1]! |= 0x01)).ok, false, 'multipoint bit');
  assert.equal(decodeControl(new Uint8Array(10)).ok, false, 'short');
  assert.equal(bad({}).ok, true);
});

/** Two sessions joined by a wire that can be cut; time moves in 1 ms steps. */
function pair(timers = { desiredMinTxUs: 50_000, requiredMinRxUs: 50_000, detectMult: 3 }) {
  let now = 0;
  const a = new BfdSession({ ...timers, localDiscriminator: 1, random: () => 0.5 }, now);
  const b = new BfdSession({ ...timers, localDiscriminator: 2, random: () => 0.5 }, now);
  const changes: { who: string; to: BfdState; diag: BfdDiag; at: number }[] = [];
  let cut = false;
  const deliver = (who: 'a' | 'b', events: BfdEvent[]) => {
    for (const e of events) {
      if (e.type === 'state') changes.push({ who, to: e.to, diag: e.diag, at: now });
      else if (!cut) {
        const other = who === 'a' ? b : a;
        deliver(who === 'a' ? 'b' : 'a', other.receive(e.packet, now));
      }
    }
  };
  const run = (ms: number) => {
    for (const end = now + ms; now < end; now++) {
      deliver('a', a.poll(now));
      deliver('b', b.poll(now));
    }
  };
  return { a, b, changes, run, cut: (v: boolean) => (cut = v), now: () => now };
}

test('bfd session: two ends come Up through Down -> Init -> Up (§6.2), then go to the fast interval by a Poll Sequence', () => {
  const p = pair();
  p.run(3000);
  assert.equal(p.a.state, BfdState.UP);
  assert.equal(p.b.state, BfdState.UP);
  assert.equal(p.changes.filter((c) => c.to === BfdState.UP).length, 2, 'each end came Up once');
  assert.ok(!p.changes.some((c) => c.to === BfdState.DOWN), 'and stayed Up on the fast timers');
  // Detection time now follows the fast timers: 3 x 50 ms.
  assert.equal(p.a.detectionTimeMs, 150);
});

test('bfd session: silence for the detection time takes the session Down with diag 1; the wire back brings it Up', () => {
  const p = pair();
  p.run(3000);
  p.cut(true);
  const cutAt = p.now();
  p.run(1000);
  const down = p.changes.find((c) => c.who === 'a' && c.at >= cutAt);
  assert.ok(down, 'a went down');
  assert.equal(down.to, BfdState.DOWN);
  assert.equal(down.diag, BfdDiag.CONTROL_DETECTION_TIME_EXPIRED);
  // Within the detection time (3 x 50 ms) plus one transmit interval at most.
  assert.ok(down.at - cutAt <= 150 + 50, `down after ${down.at - cutAt} ms`);
  p.cut(false);
  p.run(5000);
  assert.equal(p.a.state, BfdState.UP);
  assert.equal(p.b.state, BfdState.UP);
});

test('bfd session: a neighbour signalling Down takes the session Down with diag 3', () => {
  const p = pair();
  p.run(3000);
  const events = p.a.receive(packet({ myDiscriminator: 2, yourDiscriminator: 1, state: BfdState.DOWN }), p.now());
  const change = events.find((e) => e.type === 'state');
  assert.ok(change && change.type === 'state');
  assert.equal(change.to, BfdState.DOWN);
  assert.equal(change.diag, BfdDiag.NEIGHBOR_SIGNALED_DOWN);
  assert.ok(events.some((e) => e.type === 'send'), 'the change goes out at once');
});

test('bfd session: a Poll is answered with Final at once (§6.8.7)', () => {
  const s = new BfdSession({ desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3, localDiscriminator: 5 }, 0);
  const events = s.receive(packet({ myDiscriminator: 8, poll: true }), 10);
  const sent = events.filter((e) => e.type === 'send');
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.type === 'send' && sent[0]!.packet.final, true);
});

test('bfd sessions: packets demultiplex by interface and source, and only TTL 255 is accepted (RFC 5881 §5)', async () => {
  let now = 0;
  const clock: BfdClock = { now: () => now, setTimer: () => ({ cancel: () => undefined }) };
  const sent: CoreDatagram[] = [];
  let deliver: (d: CoreDatagram) => void = () => undefined;
  const io: CoreIo = {
    bind: async () => undefined,
    send: (d) => void sent.push(d),
    onDatagram: (fn) => void (deliver = fn),
  };
  const changes: string[] = [];
  const s = new BfdSessions(io, { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3 }, (v) => changes.push(`${v.peer.interface}:${v.state}`), clock);
  await s.setPeers([{ interface: 'core0', local: '10.0.0.0', remote: '10.0.0.1' }]);
  assert.equal(sent.length, 1, 'the first packet goes out at once');
  assert.equal(sent[0]!.ttl, 255);
  assert.equal(sent[0]!.destinationPort, 3784);
  assert.ok(sent[0]!.sourcePort >= 49152);
  const from = (over: Partial<CoreDatagram>): CoreDatagram => ({
    interface: 'core0',
    source: '10.0.0.1',
    destination: '10.0.0.0',
    sourcePort: 50000,
    destinationPort: 3784,
    ttl: 255,
    payload: encodeControl(packet({ myDiscriminator: 99 })),
    ...over,
  });
  now = 5;
  deliver(from({ ttl: 254 }));
  deliver(from({ source: '10.0.0.9' }));
  deliver(from({ interface: 'core1' }));
  assert.deepEqual(changes, []);
  assert.equal(s.discarded, 3);
  deliver(from({}));
  assert.deepEqual(changes, ['core0:2'], 'Down -> Init on the neighbour\'s Down');
  s.close();
});

test('bfd session: an end that stops sends AdminDown (§6.8.16); the other goes Down marked as no failure (RFC 5882 §3.2), and Up again clears the mark', () => {
  const p = pair();
  p.run(3000);
  const farewell = p.b.adminDown();
  assert.equal(farewell.state, BfdState.ADMIN_DOWN);
  assert.equal(farewell.diag, BfdDiag.ADMINISTRATIVELY_DOWN);
  assert.equal(p.a.neighborAdminDown, false);
  const change = p.a.receive(farewell, p.now()).find((e) => e.type === 'state');
  assert.ok(change && change.type === 'state');
  assert.equal(change.to, BfdState.DOWN);
  assert.equal(p.a.neighborAdminDown, true, 'a knows the remote stopped rather than failed');
  // A fresh session at b's end (a restarted agent) brings a Up again.
  const restarted = new BfdSession({ desiredMinTxUs: 50_000, requiredMinRxUs: 50_000, detectMult: 3, localDiscriminator: 3, random: () => 0.5 }, p.now());
  let now = p.now();
  for (let i = 0; i < 3000 && p.a.state !== BfdState.UP; i++, now++) {
    for (const e of restarted.poll(now)) if (e.type === 'send') for (const r of p.a.receive(e.packet, now)) if (r.type === 'send') restarted.receive(r.packet, now);
    for (const e of p.a.poll(now)) if (e.type === 'send') restarted.receive(e.packet, now);
  }
  assert.equal(p.a.state, BfdState.UP);
  assert.equal(p.a.neighborAdminDown, false);
});
