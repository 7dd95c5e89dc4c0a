import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AsPath } from '../wire/as-path.js';
import type { PathAttributes } from '../wire/attributes.js';
import { AsPathSegmentType, Origin } from '../wire/constants.js';
import { BestPathTable } from './best-path-table.js';
import {
  DecisionOptions,
  DecisionPath,
  PeerRegistry,
  Step,
  addressRank,
  comparePaths,
  ipv4Number,
  neighbourAs,
  selectBest,
} from './decision.js';
import { REACHABLE, StaticNextHopResolver } from './resolver.js';

const SEQ = AsPathSegmentType.AS_SEQUENCE;
const SET = AsPathSegmentType.AS_SET;
const CSEQ = AsPathSegmentType.AS_CONFED_SEQUENCE;
const seq = (...asns: number[]): AsPath => [{ type: SEQ, asns }];

const peers = new PeerRegistry();
peers.set('10.0.0.1', { external: false, routerId: '1.1.1.1' });
peers.set('10.0.0.2', { external: false, routerId: '2.2.2.2' });
peers.set('10.0.0.3', { external: false, routerId: '3.3.3.3' });
peers.set('10.0.0.4', { external: false, routerId: '4.4.4.4' });
peers.set('192.0.2.1', { external: true, routerId: '9.9.9.9' });
peers.set('192.0.2.2', { external: true, routerId: '9.9.9.8' });
peers.set('10.0.0.9', { external: false, routerId: '1.1.1.1' }); // same router id as 10.0.0.1
peers.set('2001:db8::1', { external: false, routerId: '1.1.1.1' });
peers.set('10.0.0.10', { external: false, routerId: '1.1.1.1', weight: 500 });

function opts(extra: Partial<DecisionOptions> = {}): DecisionOptions {
  return { peers: peers.get, resolver: REACHABLE, ...extra };
}

let n = 0;
function path(source: string, attributes: PathAttributes, nextHop = '10.255.0.1', key = 'k'): DecisionPath {
  n++;
  return { key, source, nextHop: { address: nextHop }, attributes: { origin: Origin.IGP, asPath: seq(65001), ...attributes } };
}

function decides(a: DecisionPath, b: DecisionPath, step: number, o = opts()) {
  const r = comparePaths(a, b, o);
  assert.equal(r.winner, -1, `expected a to win, got ${r.winner} at ${r.stepName}`);
  assert.equal(r.step, step, `decided at ${r.stepName}`);
  const back = comparePaths(b, a, o);
  assert.equal(back.winner, 1);
  assert.equal(back.step, step);
  assert.equal(selectBest([b, a], o), a);
  assert.equal(selectBest([a, b], o), a);
}

test('helpers: ipv4Number, addressRank, neighbourAs', () => {
  assert.equal(ipv4Number('1.2.3.4'), 0x01020304);
  assert.equal(ipv4Number('255.255.255.255'), 0xffffffff);
  assert.equal(ipv4Number('1.2.3'), 0);
  assert.equal(ipv4Number('1.2.3.256'), 0);
  assert.ok(addressRank('10.0.0.2') < addressRank('10.0.0.10'));
  assert.ok(addressRank('9.0.0.0') < addressRank('10.0.0.0'));
  assert.ok(addressRank('255.0.0.0') < addressRank('2001:db8::1'));
  assert.equal(neighbourAs({ asPath: seq(65001, 65002) }), 65001);
  assert.equal(neighbourAs({ asPath: [] }), 0);
  assert.equal(neighbourAs({ asPath: [{ type: SET, asns: [65005] }] }), 0);
  assert.equal(neighbourAs({ asPath: [{ type: CSEQ, asns: [64512] }, { type: SEQ, asns: [65007] }] }), 65007);
});

test('0. a path whose next hop does not resolve is not eligible', () => {
  const resolver = new StaticNextHopResolver(undefined);
  resolver.set('10.255.0.1', 10);
  const o = opts({ resolver });
  const good = path('10.0.0.2', { localPref: 50 }, '10.255.0.1');
  const dead = path('10.0.0.1', { localPref: 500 }, '10.255.0.99');
  assert.equal(comparePaths(good, dead, o).step, Step.REACHABILITY);
  assert.equal(selectBest([dead, good], o), good);
  assert.equal(selectBest([dead], o), undefined);
});

test('1. weight: local paths (32768) and configured peer weight come first', () => {
  decides(path('local', { localPref: 10 }), path('10.0.0.1', { localPref: 500 }), Step.WEIGHT);
  decides(path('10.0.0.10', { localPref: 10 }), path('10.0.0.1', { localPref: 500 }), Step.WEIGHT);
});

test('2. highest LOCAL_PREF; absent means 100; ignored from eBGP peers', () => {
  decides(path('10.0.0.2', { localPref: 200 }), path('10.0.0.1', { localPref: 100 }), Step.LOCAL_PREF);
  decides(path('10.0.0.2', {}), path('10.0.0.1', { localPref: 99 }), Step.LOCAL_PREF);
  // An eBGP path's LOCAL_PREF counts as 100 whatever it carries (RFC 4271 §5.1.5).
  decides(path('10.0.0.2', { localPref: 101 }), path('192.0.2.1', { localPref: 1000 }), Step.LOCAL_PREF);
  decides(path('10.0.0.2', { localPref: 150 }), path('10.0.0.1', {}), Step.LOCAL_PREF, opts({ defaultLocalPref: 120 }));
});

test('3. locally originated beats learned at equal weight and LOCAL_PREF', () => {
  const local = path('local', { asPath: seq(1, 2, 3) });
  const learned = path('10.0.0.10', { asPath: [] });
  const o = opts({ peers: (s) => (s === '10.0.0.10' ? { ...peers.get(s)!, weight: 32768 } : peers.get(s)) });
  decides(local, learned, Step.LOCAL_ORIGIN, o);
});

test('4. shortest AS_PATH: a set counts one, confederation segments none', () => {
  decides(path('10.0.0.2', { asPath: seq(1) }), path('10.0.0.1', { asPath: seq(1, 2) }), Step.AS_PATH);
  // {3,4,5} counts 1: 1 + 1 = 2 < 3.
  decides(path('10.0.0.2', { asPath: [{ type: SEQ, asns: [1] }, { type: SET, asns: [3, 4, 5] }] }), path('10.0.0.1', { asPath: seq(1, 2, 3) }), Step.AS_PATH);
  // (64512 64513) counts 0: the confed path is shorter than 7 8.
  decides(path('10.0.0.2', { asPath: [{ type: CSEQ, asns: [64512, 64513] }, { type: SEQ, asns: [7] }] }), path('10.0.0.1', { asPath: seq(7, 8) }), Step.AS_PATH);
});

test('5. lowest ORIGIN', () => {
  decides(path('10.0.0.2', { origin: Origin.IGP }), path('10.0.0.1', { origin: Origin.EGP }), Step.ORIGIN);
  decides(path('10.0.0.2', { origin: Origin.EGP }), path('10.0.0.1', { origin: Origin.INCOMPLETE }), Step.ORIGIN);
});

test('6. lowest MED, only between paths from the same neighbour AS; missing MED is 0', () => {
  decides(path('10.0.0.2', { med: 10 }), path('10.0.0.1', { med: 20 }), Step.MED);
  decides(path('10.0.0.2', {}), path('10.0.0.1', { med: 1 }), Step.MED);
  // Different neighbour AS: MED skipped, router id decides (1.1.1.1 < 2.2.2.2).
  const a = path('10.0.0.1', { asPath: seq(65002), med: 500 });
  const b = path('10.0.0.2', { asPath: seq(65001), med: 1 });
  decides(a, b, Step.ROUTER_ID);
  // With always-compare-med it decides.
  decides(b, a, Step.MED, opts({ alwaysCompareMed: true }));
  // missing-as-worst.
  decides(path('10.0.0.2', { med: 4000 }), path('10.0.0.1', {}), Step.MED, opts({ missingMedAsWorst: true }));
});

test('7. eBGP over iBGP', () => {
  decides(path('192.0.2.1', {}), path('10.0.0.1', {}), Step.EXTERNAL);
});

test('8. lowest IGP cost to the next hop', () => {
  const resolver = new StaticNextHopResolver(undefined);
  resolver.set('10.255.0.1', 20);
  resolver.set('10.255.0.2', 10);
  decides(path('10.0.0.2', {}, '10.255.0.2'), path('10.0.0.1', {}, '10.255.0.1'), Step.IGP_COST, opts({ resolver }));
});

test('9. lowest router id; ORIGINATOR_ID stands in for reflected routes (RFC 4456 §9)', () => {
  decides(path('10.0.0.1', {}), path('10.0.0.2', {}), Step.ROUTER_ID);
  // Reflected by 10.0.0.1 (id 1.1.1.1) but originated by 5.5.5.5: loses to 2.2.2.2.
  decides(path('10.0.0.2', {}), path('10.0.0.1', { originatorId: '5.5.5.5', clusterList: ['1.1.1.1'] }), Step.ROUTER_ID);
  // Two reflected copies: the lower ORIGINATOR_ID wins even via the higher peer id.
  decides(
    path('10.0.0.4', { originatorId: '3.0.0.1', clusterList: ['4.4.4.4'] }),
    path('10.0.0.1', { originatorId: '3.0.0.2', clusterList: ['1.1.1.1'] }),
    Step.ROUTER_ID,
  );
});

test('10. shortest CLUSTER_LIST when the ORIGINATOR_ID ties', () => {
  decides(
    path('10.0.0.3', { originatorId: '7.7.7.7', clusterList: ['1.1.1.1'] }),
    path('10.0.0.2', { originatorId: '7.7.7.7', clusterList: ['2.2.2.2', '1.1.1.1'] }),
    Step.CLUSTER_LIST,
  );
});

test('11. lowest peer address, compared numerically', () => {
  // 10.0.0.1 and 10.0.0.9 share router id 1.1.1.1.
  decides(path('10.0.0.1', {}), path('10.0.0.9', {}), Step.PEER_ADDRESS);
  decides(path('10.0.0.9', {}), path('2001:db8::1', {}), Step.PEER_ADDRESS);
});

test('12. two paths of one peer: lowest key; identical paths are equal', () => {
  decides(path('10.0.0.1', {}, undefined, 'a'), path('10.0.0.1', {}, undefined, 'b'), Step.PATH_KEY);
  assert.equal(comparePaths(path('10.0.0.1', {}), path('10.0.0.1', {}), opts()).step, Step.EQUAL);
});

test('an unknown source is iBGP with its address as router id', () => {
  decides(path('10.1.0.1', {}), path('10.1.0.2', {}), Step.ROUTER_ID);
});

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  const out: T[][] = [];
  xs.forEach((x, i) => {
    for (const rest of permutations([...xs.slice(0, i), ...xs.slice(i + 1)])) out.push([x, ...rest]);
  });
  return out;
}

test('deterministic MED: the classic non-transitive triple gives one answer in every arrival order', () => {
  // A and B from AS 100 (MED decides between them), C from AS 200.
  // Pairwise: B beats A by MED, A beats C by router id, C beats B by router id: a cycle.
  const A = path('10.0.0.1', { asPath: seq(100), med: 200 });
  const B = path('10.0.0.3', { asPath: seq(100), med: 100 });
  const C = path('10.0.0.2', { asPath: seq(200), med: 50 });
  assert.equal(comparePaths(B, A, opts()).step, Step.MED);
  assert.equal(comparePaths(A, C, opts()).winner, -1);
  assert.equal(comparePaths(C, B, opts()).winner, -1);
  // Group AS 100 -> B; group AS 200 -> C; B vs C without MED -> C (2.2.2.2 < 3.3.3.3).
  for (const order of permutations([A, B, C])) assert.equal(selectBest(order, opts()), C);
  // Through the table, in every arrival order and after removals.
  for (const order of permutations([A, B, C])) {
    const t = new BestPathTable(opts());
    for (const p of order) t.upsert('d', p);
    assert.equal(t.best('d'), C);
    t.remove('d', C.key, C.source);
    assert.equal(t.best('d'), B);
    // Removing B (the AS 100 winner) makes A the group winner; A beats nothing else.
    t.remove('d', B.key, B.source);
    assert.equal(t.best('d'), A);
  }
});

test('deterministic MED: random paths give the same best in every order', () => {
  let seed = 7;
  const rnd = (k: number) => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % k;
  };
  const sources = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '192.0.2.1', '192.0.2.2'];
  for (let round = 0; round < 200; round++) {
    const ps = sources.slice(0, 2 + rnd(5)).map((s) =>
      path(s, { asPath: seq(100 + rnd(3)), med: rnd(3) * 10, localPref: 100 + rnd(2), origin: rnd(2) as 0 | 1 }),
    );
    const expected = selectBest(ps, opts());
    for (let k = 0; k < 10; k++) {
      const shuffled = [...ps].sort(() => rnd(3) - 1);
      assert.equal(selectBest(shuffled, opts()), expected);
    }
  }
});

test('removing a non-best path can change the best (deterministic MED) and the table sees it', () => {
  // Group 100: X (MED 0, id 3.3.3.3) beats Y (MED 10, id 1.1.1.1). Group 200: Z (id 2.2.2.2).
  // Winners X vs Z without MED -> Z. Remove X: group 100 -> Y, Y vs Z -> Y (1.1.1.1).
  const X = path('10.0.0.3', { asPath: seq(100), med: 0 });
  const Y = path('10.0.0.1', { asPath: seq(100), med: 10 });
  const Z = path('10.0.0.2', { asPath: seq(200) });
  const t = new BestPathTable(opts());
  t.upsert('d', X);
  t.upsert('d', Y);
  t.upsert('d', Z);
  assert.equal(t.best('d'), Z);
  const c = t.remove('d', X.key, X.source);
  assert.equal(c.changed, true);
  assert.equal(c.previous, Z);
  assert.equal(c.best, Y);
  assert.equal(c.replaced, X);
});
