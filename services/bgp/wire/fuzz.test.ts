// Feeds random and mutated-valid messages through the splitter and every
// decoder: each must come back as a message or a structured error with a
// code/subcode pair the RFCs define, and never throw. Seeded, so a failure
// prints what reproduces it (FUZZ_SEED=... to replay, FUZZ_ROUNDS=... to scale).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRd } from '../../common/vpn/rd.js';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import { decodeMessage, DecodeResult } from './message.js';
import { MessageSplitter } from './splitter.js';
import { encodeOpen } from './open.js';
import { decodeOpen } from './open.js';
import { decodeUpdate, encodeEndOfRib, encodeUpdate, UpdateMessage } from './update.js';
import { NlriList, parsePrefix } from './nlri.js';
import { packAnnouncements } from './packer.js';
import { encodeNotification, shutdownData, shutdownCommunication } from './notification.js';
import { encodeRouteRefresh } from './route-refresh.js';
import { KEEPALIVE } from './header.js';
import { BgpError } from './notification.js';
import { toHex } from './test-helpers.js';

const VALID_SUBCODES: Record<number, readonly number[]> = {
  1: [1, 2, 3],
  2: [0, 1, 2, 3, 4, 6],
  3: [1, 2, 3, 4, 5, 6, 8, 9, 10, 11],
  7: [1],
};
const ACTIONS = new Set(['ok', 'attribute-discard', 'treat-as-withdraw', 'session-reset']);

/** xorshift32: small, fast, reproducible. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return { next, int: (n: number) => next() % n, chance: (p: number) => next() / 0x100000000 < p };
}

function checkError(e: BgpError): void {
  const subs = VALID_SUBCODES[e.code];
  assert.ok(subs, `error code ${e.code}`);
  assert.ok(subs.includes(e.subcode), `subcode ${e.code}/${e.subcode}`);
  assert.ok(e.data instanceof Uint8Array);
}

function touch(l: NlriList): void {
  for (let i = 0; i < l.count; i++) {
    l.prefix(i);
    l.key(i);
    l.entry(i);
    if (l.shape?.labeled) l.labels(i);
    if (l.shape?.hasRd) l.rdText(i);
    if (l.afi === 1) l.ipv4(i);
  }
}

function checkUpdate(u: UpdateMessage): void {
  assert.ok(ACTIONS.has(u.action));
  for (const p of u.problems) {
    assert.ok(ACTIONS.has(p.action));
    assert.ok(VALID_SUBCODES[3]!.includes(p.subcode), `update subcode ${p.subcode}`);
  }
  if (u.action === 'session-reset') checkError(u.notification!);
  else assert.equal(u.notification, undefined);
  for (const l of u.announce) touch(l);
  for (const l of u.withdraw) touch(l);
}

function checkResult(r: DecodeResult): void {
  if (r.ok) {
    if (r.message.type === 'update') checkUpdate(r.message);
  } else {
    checkError(r.error);
    if (r.update) checkUpdate(r.update);
  }
}

function corpus(): Uint8Array[] {
  const rd = parseRd('65000:100');
  const attributes = {
    origin: 0 as const,
    asPath: [
      { type: 2 as const, asns: [65001, 4200000001] },
      { type: 1 as const, asns: [65010, 65011] },
    ],
    med: 10,
    localPref: 100,
    aggregator: { as: 4200000001, address: '198.51.100.2' },
    communities: [0xfde80064],
    originatorId: '10.0.0.1',
    clusterList: ['10.0.0.2'],
    extendedCommunities: [
      { kind: 'route-target' as const, value: parseRouteTarget('65000:100') },
      { kind: 'route-origin' as const, value: parseRouteTarget('192.0.2.1:5') },
      { kind: 'other' as const, bytes: Uint8Array.of(0x03, 0x0c, 0, 0, 0, 0, 0, 8) },
    ],
    unknown: [{ flags: 0xc0, type: 99, value: Uint8Array.of(1, 2, 3) }],
  };
  const vpn = (i: number) => ({ prefix: Uint8Array.of(10, i, i, 0), length: 24, rd, labels: [16 + i] });
  const out: Uint8Array[] = [
    KEEPALIVE,
    encodeOpen({
      as: 4200000001,
      holdTime: 90,
      bgpId: '10.0.0.1',
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 128 },
        { kind: 'multiprotocol', afi: 2, safi: 128 },
        { kind: 'route-refresh', code: 2 },
        { kind: 'four-octet-as', as: 4200000001 },
        { kind: 'graceful-restart', restarting: false, notification: true, restartTime: 120, families: [{ afi: 1, safi: 128, forwardingPreserved: true }] },
        { kind: 'extended-message' },
      ],
    }),
    encodeNotification({ code: 6, subcode: 2, data: shutdownData('bye') }),
    encodeRouteRefresh(1, 128),
    encodeEndOfRib(1, 1),
    encodeEndOfRib(2, 128),
    encodeUpdate({ mpReach: { afi: 1, safi: 128, nextHop: { address: '198.51.100.1' }, routes: [vpn(1), vpn(2), vpn(3)] }, attributes }, { fourOctetAs: true }),
    encodeUpdate({ mpReach: { afi: 1, safi: 128, nextHop: { address: '198.51.100.1' }, routes: [vpn(1)] }, attributes }, { fourOctetAs: false }),
    encodeUpdate({ mpUnreach: { afi: 1, safi: 128, routes: [vpn(4), vpn(5)] } }, { fourOctetAs: true }),
    encodeUpdate(
      {
        mpReach: {
          afi: 2,
          safi: 128,
          nextHop: { address: '2001:db8::1', linkLocal: 'fe80::1' },
          routes: [{ ...parsePrefix('2001:db8:5::/48'), rd, labels: [100, 200] }],
        },
        attributes,
      },
      { fourOctetAs: true },
    ),
    encodeUpdate(
      { withdrawn: [parsePrefix('192.168.0.0/16')], nlri: [parsePrefix('10.0.0.0/8'), parsePrefix('10.9.9.9/32')], attributes: { ...attributes, nextHop: '198.51.100.1' } },
      { fourOctetAs: false },
    ),
    encodeUpdate({ mpReach: { afi: 2, safi: 1, nextHop: { address: '2001:db8::1' }, routes: [parsePrefix('2001:db8::/32')] }, attributes }, { fourOctetAs: true }),
    packAnnouncements(
      { family: { afi: 1, safi: 128 }, nextHop: { address: '198.51.100.1' }, attributes, routes: Array.from({ length: 300 }, (_, i) => vpn(i & 0xff)) },
      { fourOctetAs: true },
    )[0]!,
  ];
  return out;
}

function mutate(r: ReturnType<typeof rng>, base: Uint8Array, corpusList: Uint8Array[]): Uint8Array {
  let m = Uint8Array.from(base);
  const ops = 1 + r.int(3);
  for (let k = 0; k < ops; k++) {
    switch (r.int(8)) {
      case 0: // bit flips
        for (let i = 1 + r.int(4); i > 0; i--) m[r.int(m.length)]! ^= 1 << r.int(8);
        break;
      case 1: // random byte values, biased to the body
        for (let i = 1 + r.int(4); i > 0; i--) m[19 + r.int(Math.max(1, m.length - 19)) % m.length] = r.int(256);
        break;
      case 2: // truncate, and keep the header length consistent most of the time
        m = m.slice(0, r.int(m.length + 1));
        if (r.chance(0.8) && m.length >= 19) (m[16] = m.length >> 8), (m[17] = m.length & 0xff);
        break;
      case 3: // corrupt the header length field
        m[16] = r.chance(0.5) ? r.int(256) : m[16]!;
        m[17] = r.int(256);
        break;
      case 4: {
        // corrupt an interior 1- or 2-octet length: withdrawn/attribute lengths, attribute lengths
        const at = 19 + r.int(Math.max(1, Math.min(m.length - 19, 64)));
        if (at < m.length) m[at] = r.chance(0.5) ? m[at]! + (r.int(5) - 2) : r.int(256);
        break;
      }
      case 5: {
        // insert or delete octets in the body, fix the header length
        const at = Math.min(m.length, 19 + r.int(Math.max(1, m.length - 19)));
        const n = 1 + r.int(8);
        const ins = r.chance(0.5);
        const next = new Uint8Array(Math.max(19, ins ? m.length + n : m.length - n));
        next.set(m.subarray(0, Math.min(at, next.length)));
        if (ins) {
          for (let i = 0; i < n; i++) next[at + i] = r.int(256);
          next.set(m.subarray(at), at + n);
        } else if (at + n < m.length) next.set(m.subarray(at + n), at);
        m = next;
        if (m.length >= 19) (m[16] = m.length >> 8), (m[17] = m.length & 0xff);
        break;
      }
      case 6: {
        // splice the tail of another message
        const other = corpusList[r.int(corpusList.length)]!;
        const cut = Math.min(m.length, 19 + r.int(Math.max(1, m.length - 19)));
        const from = 19 + r.int(Math.max(1, other.length - 19));
        const next = new Uint8Array(cut + Math.max(0, other.length - from));
        next.set(m.subarray(0, cut));
        next.set(other.subarray(from), cut);
        m = next.length > 4096 ? next.slice(0, 4096) : next;
        if (m.length >= 19) (m[16] = m.length >> 8), (m[17] = m.length & 0xff);
        break;
      }
      default: // set the message type
        if (m.length > 18) m[18] = r.chance(0.9) ? 1 + r.int(5) : r.int(256);
    }
  }
  return m;
}

const SESSIONS = [
  { fourOctetAs: true },
  { fourOctetAs: false },
  { fourOctetAs: true, multipleLabels: 3, maxMessageLength: 65535 },
];

test('fuzz: mutated and random input never throws and always yields a valid outcome', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 0xffffffff);
  const rounds = Number(process.env.FUZZ_ROUNDS ?? 500_000);
  const r = rng(seed);
  const base = corpus();
  for (const m of base) {
    const clean = SESSIONS.slice(0, 2).some((session) => {
      const res = decodeMessage(m, session);
      return res.ok && (res.message.type !== 'update' || res.message.action === 'ok');
    });
    assert.ok(clean, `corpus message decodes cleanly: ${toHex(m)}`);
  }
  const started = Date.now();
  let current: Uint8Array = new Uint8Array(0);
  let stage = '';
  const counts = { ok: 0, error: 0, streamErrors: 0, body: 0 };
  const outcomes = new Map<string, number>();
  try {
    for (let i = 0; i < rounds; i++) {
      const session = SESSIONS[i % SESSIONS.length]!;
      if (i % 10 === 9) {
        // Pure random bodies straight into the body decoders (past the header checks).
        stage = 'body';
        current = new Uint8Array(r.int(96));
        for (let k = 0; k < current.length; k++) current[k] = r.int(256);
        if (r.chance(0.5) && current.length >= 4) (current[0] = 0), (current[1] = r.int(3) * 4);
        checkUpdate(decodeUpdate(current, session));
        const open = decodeOpen(current);
        if (!('type' in open)) checkError(open);
        counts.body++;
        continue;
      }
      stage = 'message';
      current = mutate(r, base[r.int(base.length)]!, base);
      const res = decodeMessage(current, session);
      checkResult(res);
      const key = res.ok ? (res.message.type === 'update' ? `update:${res.message.action}` : res.message.type) : `error:${res.error.code}/${res.error.subcode}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      if (res.ok) {
        counts.ok++;
        if (res.message.type === 'notification') shutdownCommunication(res.message);
      } else counts.error++;
    }
    // Streams: mutated messages back to back, cut into random chunks.
    stage = 'stream';
    for (let s = 0; s < rounds / 20; s++) {
      const parts: Uint8Array[] = [];
      for (let k = 0; k < 1 + r.int(6); k++) parts.push(r.chance(0.7) ? base[r.int(base.length)]! : mutate(r, base[r.int(base.length)]!, base));
      const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) (stream.set(p, o), (o += p.length));
      current = stream;
      const splitter = new MessageSplitter(r.chance(0.2) ? 65535 : 4096);
      for (let at = 0; at < stream.length; ) {
        const size = 1 + r.int(r.chance(0.5) ? 40 : 5000);
        const out = splitter.push(stream.subarray(at, at + size));
        at += size;
        for (const msg of out.messages) checkResult(decodeMessage(msg, SESSIONS[s % SESSIONS.length]!));
        if (out.error) {
          checkError(out.error);
          counts.streamErrors++;
          break;
        }
      }
    }
  } catch (err) {
    throw new Error(`fuzz failure (FUZZ_SEED=${seed}) at ${stage}, input ${toHex(current).slice(0, 2000)}: ${(err as Error).stack}`);
  }
  const elapsed = Date.now() - started;
  assert.ok(counts.ok > rounds / 20, `some mutated messages still decode: ${JSON.stringify(counts)}`);
  assert.ok(counts.error > rounds / 20, `many mutated messages are rejected: ${JSON.stringify(counts)}`);
  console.log(`fuzz seed ${seed}: ${rounds} messages + ${rounds / 20} streams in ${elapsed} ms ${JSON.stringify(counts)}`);
  console.log(`fuzz outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}`);
});
