import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsPathSegmentType } from '../wire/constants.js';
import type { PathAttributes } from '../wire/attributes.js';
import { BestPathTable } from './best-path-table.js';
import { DecisionPath, PeerRegistry, selectBest } from './decision.js';
import { StaticNextHopResolver } from './resolver.js';

const peers = new PeerRegistry();
for (let i = 1; i <= 8; i++) peers.set(`10.0.0.${i}`, { external: false, routerId: `${i}.${i}.${i}.${i}` });

function mk(source: string, attributes: PathAttributes, nextHop = '10.255.0.1', key = 'k'): DecisionPath {
  return { key, source, nextHop: { address: nextHop }, attributes: { origin: 0, asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [65001] }], ...attributes } };
}

function table(resolver = new StaticNextHopResolver(0)) {
  return { resolver, t: new BestPathTable({ peers: peers.get, resolver }) };
}

test('add, replace, remove: best and changed flags', () => {
  const { t } = table();
  const a = mk('10.0.0.2', { localPref: 100 });
  let c = t.upsert('d', a);
  assert.deepEqual([c.changed, c.best, c.previous, c.replaced], [true, a, undefined, undefined]);
  const b = mk('10.0.0.3', { localPref: 50 });
  c = t.upsert('d', b);
  assert.deepEqual([c.changed, c.best], [false, a]);
  assert.equal(t.pathCount, 2);
  // Same source and key: replaced, not added; new attributes win now.
  const b2 = mk('10.0.0.3', { localPref: 200 });
  c = t.upsert('d', b2);
  assert.deepEqual([c.changed, c.best, c.previous, c.replaced], [true, b2, a, b]);
  assert.equal(t.pathCount, 2);
  // Replacing the best with new attributes is a change even if it stays best.
  const b3 = mk('10.0.0.3', { localPref: 300 });
  c = t.upsert('d', b3);
  assert.deepEqual([c.changed, c.best, c.previous], [true, b3, b2]);
  // Removing a non-best path: no change.
  c = t.remove('d', a.key, a.source);
  assert.deepEqual([c.changed, c.best, c.replaced], [false, b3, a]);
  // Removing an unknown path: no change, nothing replaced.
  c = t.remove('d', 'k', '10.0.0.7');
  assert.deepEqual([c.changed, c.best, c.replaced], [false, b3, undefined]);
  c = t.remove('d', b3.key, b3.source);
  assert.deepEqual([c.changed, c.best, c.previous], [true, undefined, b3]);
  assert.equal(t.size, 0);
  assert.equal(t.pathCount, 0);
});

test('anySource: one path per key whichever peer sent it (VRF import)', () => {
  const { t } = table();
  const x = mk('10.0.0.1', {}, undefined, 'rd1');
  const y = mk('10.0.0.2', {}, undefined, 'rd1');
  t.upsert('d', x, true);
  const c = t.upsert('d', y, true);
  assert.equal(c.replaced, x);
  assert.equal(t.pathCount, 1);
  assert.equal(t.remove('d', 'rd1').replaced, y);
});

test('next hop cost changes re-run selection only where a path uses that next hop', () => {
  const { t, resolver } = table(new StaticNextHopResolver(undefined));
  resolver.set('192.0.2.1', 10);
  resolver.set('192.0.2.2', 20);
  const near = mk('10.0.0.5', {}, '192.0.2.1');
  const far = mk('10.0.0.1', {}, '192.0.2.2');
  t.upsert('d1', near);
  t.upsert('d1', far);
  t.upsert('d2', mk('10.0.0.3', {}, '192.0.2.3')); // unreachable: no best, still held
  assert.equal(t.best('d1'), near);
  assert.equal(t.best('d2'), undefined);
  assert.equal(t.size, 2);
  resolver.set('192.0.2.1', 30);
  const seen: string[] = [];
  const n = t.nextHopsChanged(new Set(['192.0.2.1']), (dest, c) => {
    seen.push(dest);
    assert.equal(c.previous, near);
    assert.equal(c.best, far);
  });
  assert.equal(n, 1);
  assert.deepEqual(seen, ['d1']);
  // The next hop of d2 becomes reachable.
  resolver.set('192.0.2.3', 1);
  t.nextHopsChanged(new Set(['192.0.2.3']), (dest) => seen.push(dest));
  assert.deepEqual(seen, ['d1', 'd2']);
  assert.ok(t.best('d2'));
  // Losing both next hops of d1 leaves it without a best.
  resolver.set('192.0.2.1', undefined);
  resolver.set('192.0.2.2', undefined);
  t.nextHopsChanged(new Set(['192.0.2.1', '192.0.2.2']), (dest, c) => {
    assert.equal(dest, 'd1');
    assert.equal(c.best, undefined);
  });
  assert.equal(t.best('d1'), undefined);
});

test('random adds and removes: the table always agrees with selection from scratch', () => {
  let seed = 11;
  const rnd = (k: number) => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % k;
  };
  const resolver = new StaticNextHopResolver(undefined);
  for (let i = 0; i < 4; i++) resolver.set(`192.0.2.${i}`, rnd(3));
  const t = new BestPathTable({ peers: peers.get, resolver });
  const truth = new Map<string, Map<string, DecisionPath>>();
  for (let step = 0; step < 5000; step++) {
    const dest = `d${rnd(5)}`;
    const source = `10.0.0.${1 + rnd(8)}`;
    const m = truth.get(dest) ?? new Map<string, DecisionPath>();
    truth.set(dest, m);
    if (rnd(3) === 0) {
      t.remove(dest, 'k', source);
      m.delete(source);
    } else if (rnd(20) === 0) {
      const nh = `192.0.2.${rnd(5)}`;
      resolver.set(nh, rnd(4) === 0 ? undefined : rnd(3));
      t.nextHopsChanged(new Set([nh]), () => {});
    } else {
      const p = mk(source, { asPath: [{ type: 2, asns: [100 + rnd(3)] }], med: rnd(3), localPref: 100 + rnd(2) }, `192.0.2.${rnd(5)}`);
      t.upsert(dest, p);
      m.set(source, p);
    }
    for (const [d, paths] of truth) {
      assert.equal(t.best(d), selectBest([...paths.values()], { peers: peers.get, resolver }), `step ${step} ${d}`);
      assert.equal(t.paths(d).length, paths.size);
    }
  }
});
