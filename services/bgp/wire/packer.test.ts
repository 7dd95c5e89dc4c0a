import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRd } from '../../common/vpn/rd.js';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import { decodeMessage } from './message.js';
import { Route } from './nlri.js';
import { packAnnouncements, packWithdrawals } from './packer.js';
import { encodeUpdate } from './update.js';
import { toHex } from './test-helpers.js';

function vpnRoutes(n: number): Route[] {
  const out: Route[] = [];
  for (let i = 0; i < n; i++) {
    const prefix = Uint8Array.of(10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
    out.push({ prefix, length: 32 - (i % 9), rd: parseRd(`65000:${i % 50}`), labels: [16 + (i % 1000)] });
  }
  return out;
}

const attributes = {
  origin: 0 as const,
  asPath: [{ type: 2 as const, asns: [65001] }],
  localPref: 100,
  extendedCommunities: [{ kind: 'route-target' as const, value: parseRouteTarget('65000:100') }],
};

function decodeAll(messages: Uint8Array[], session: { fourOctetAs: boolean; maxMessageLength?: number }, side: 'announce' | 'withdraw') {
  const got: string[] = [];
  for (const m of messages) {
    const r = decodeMessage(m, session);
    assert.ok(r.ok && r.message.type === 'update');
    assert.equal(r.message.action, 'ok');
    for (const l of r.message[side]) for (let i = 0; i < l.count; i++) got.push(`${l.rdText(i)} ${l.prefix(i)} ${side === 'announce' ? l.label(i) : ''}`);
  }
  return got;
}

const expected = (routes: Route[], side: 'announce' | 'withdraw') =>
  routes.map((r) => {
    const p = Uint8Array.from(r.prefix);
    if (r.length < 32) p[Math.floor(r.length / 8)]! &= 0xff << (8 - (r.length % 8));
    for (let k = Math.floor(r.length / 8) + 1; k < 4; k++) p[k] = 0;
    return `65000:${r.rd!.assigned} ${p.join('.')}/${r.length} ${side === 'announce' ? r.labels![0] : ''}`;
  });

test('packs 10,000 VPN-IPv4 routes into full 4096-octet UPDATEs and reads them back', () => {
  const routes = vpnRoutes(10000);
  const messages = packAnnouncements({ family: { afi: 1, safi: 128 }, nextHop: { address: '198.51.100.1' }, attributes, routes }, { fourOctetAs: true });
  for (const m of messages) assert.ok(m.length <= 4096);
  for (const m of messages.slice(0, -1)) assert.ok(m.length > 4096 - 16, 'no room for one more route');
  assert.ok(messages.length < 10000 / 200);
  assert.deepEqual(decodeAll(messages, { fourOctetAs: true }, 'announce'), expected(routes, 'announce'));
});

test('packed UPDATE equals encodeUpdate for the same content', () => {
  const routes = vpnRoutes(3);
  const family = { afi: 1, safi: 128 };
  const nextHop = { address: '198.51.100.1' };
  const [packed] = packAnnouncements({ family, nextHop, attributes, routes }, { fourOctetAs: true });
  const single = encodeUpdate({ mpReach: { ...family, nextHop, routes }, attributes }, { fourOctetAs: true });
  assert.equal(toHex(packed!), toHex(single));
  const [w] = packWithdrawals({ family, routes }, { fourOctetAs: true });
  assert.equal(toHex(w!), toHex(encodeUpdate({ mpUnreach: { ...family, routes } }, { fourOctetAs: true })));
});

test('withdrawals pack too, and extended messages hold more', () => {
  const routes = vpnRoutes(20000);
  const family = { afi: 1, safi: 128 };
  const w = packWithdrawals({ family, routes }, { fourOctetAs: true });
  assert.deepEqual(decodeAll(w, { fourOctetAs: true }, 'withdraw'), expected(routes, 'withdraw'));
  const ext = { fourOctetAs: true, maxMessageLength: 65535 };
  const big = packAnnouncements({ family, nextHop: { address: '198.51.100.1' }, attributes, routes }, ext);
  assert.ok(big.length <= 5);
  assert.equal(decodeAll(big, ext, 'announce').length, 20000);
});

test('IPv4 unicast packs into the NLRI and Withdrawn Routes fields', () => {
  const routes: Route[] = Array.from({ length: 3000 }, (_, i) => ({ prefix: Uint8Array.of(10, i >> 8, i & 0xff, 0), length: 24 }));
  const family = { afi: 1, safi: 1 };
  const a = packAnnouncements({ family, attributes: { ...attributes, nextHop: '198.51.100.1' }, routes }, { fourOctetAs: true });
  const got = a.flatMap((m) => {
    const r = decodeMessage(m, { fourOctetAs: true });
    assert.ok(r.ok && r.message.type === 'update' && r.message.action === 'ok');
    return r.message.nlri.toRoutes().map((x) => x.prefix);
  });
  assert.equal(got.length, 3000);
  assert.equal(got[2999], '10.11.183.0/24');
  const w = packWithdrawals({ family, routes }, { fourOctetAs: true });
  assert.equal(w.reduce((n, m) => { const r = decodeMessage(m, { fourOctetAs: true }); return n + (r.ok && r.message.type === 'update' ? r.message.withdrawn.count : 0); }, 0), 3000);
});
