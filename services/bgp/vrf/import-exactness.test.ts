// Property tests: changing import RTs on the fly imports and withdraws
// exactly what a from-scratch computation says, touches no other
// destination, and the route stream stays a faithful copy of the tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Path } from '../rib/path.js';
import { Afi } from '../wire/constants.js';
import { routeTargetKeys, rtNumber } from './route-targets.js';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import { Pe, rtAttrs, vpnPath, vrf } from './test-helpers.js';

/** mulberry32: small, seeded, and good enough in its low bits. */
function rng(seed: number) {
  let a = seed >>> 0;
  return (k: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % k);
  };
}

const UNIVERSE = ['65000:1', '65000:2', '65000:3', '65000:4', '65000:5', '65000:6'];
const SOURCES = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

function subset(rnd: (k: number) => number, max: number): string[] {
  const n = rnd(max + 1);
  const out = new Set<string>();
  for (let i = 0; i < n; i++) out.add(UNIVERSE[rnd(UNIVERSE.length)]!);
  return [...out];
}

function matches(p: Path, imports: readonly string[]): boolean {
  const set = new Set(imports.map((r) => rtNumber(parseRouteTarget(r))));
  return routeTargetKeys(p.attributes).some((k) => set.has(k));
}

/** VPN keys of the imported paths a VRF holds. */
function importedKeys(pe: Pe, name: string): Set<string> {
  const out = new Set<string>();
  for (const afi of [Afi.IPV4, Afi.IPV6]) {
    const t = pe.manager.table(name, afi);
    if (t) for (const [, p] of t.allPaths()) if (p.family.safi === 128) out.add(p.key);
  }
  return out;
}

for (const seed of [1, 2, 3, 4, 5]) {
  test(`import RT changes are exact (random run, seed ${seed})`, () => {
    const rnd = rng(seed);
    const pe = new Pe();
    for (const s of SOURCES) pe.peers.set(s, { external: false, routerId: s });
    const imports = new Map<string, string[]>();
    const names = ['a', 'b', 'c', 'd'];
    names.forEach((n, i) => {
      const rts = subset(rnd, 3);
      imports.set(n, rts);
      pe.define(vrf(n, `65000:${i + 1}`, rts, []));
    });
    // VPN routes: 12 prefixes x 4 RDs, so VRF destinations collect several paths.
    const routes: Path[] = [];
    const newRoute = () => {
      const prefix = rnd(4) === 0 ? `2001:db8:${rnd(12)}::/48` : `10.${rnd(12)}.0.0/16`;
      return vpnPath(SOURCES[rnd(3)]!, `65100:${rnd(4)}`, prefix, rtAttrs(subset(rnd, 3), { localPref: 100 + rnd(3) }));
    };
    for (let i = 0; i < 150; i++) {
      const p = newRoute();
      routes.push(p);
      pe.receive(p);
    }
    for (let step = 0; step < 300; step++) {
      const op = rnd(10);
      if (op < 4) {
        // Change one VRF's import RTs and check the delta against from-scratch sets.
        const name = names[rnd(names.length)]!;
        const before = importedKeys(pe, name);
        const oldRts = imports.get(name)!;
        const newRts = subset(rnd, 4);
        const bests = [...pe.vpnBests()];
        const wantNew = bests.filter((p) => matches(p, newRts) && !matches(p, oldRts)).map((p) => p.key).sort();
        const wantGone = bests.filter((p) => matches(p, oldRts) && !matches(p, newRts)).map((p) => p.key).sort();
        const beforeBests = pe.bests(name);
        const eventsBefore = pe.routeEvents.length;
        const r = pe.define(vrf(name, `65000:${names.indexOf(name) + 1}`, newRts, []));
        imports.set(name, newRts);
        assert.deepEqual(r.imported.map((p) => p.key).sort(), wantNew, `step ${step}: imported exactly`);
        assert.deepEqual(r.withdrawn.map((p) => p.key).sort(), wantGone, `step ${step}: withdrawn exactly`);
        // Nothing else moved: one event at most per destination, only where the best differs.
        const afterBests = pe.bests(name);
        const events = pe.routeEvents.slice(eventsBefore);
        const seen = new Set<string>();
        for (const e of events) {
          assert.equal(e.vrf, name);
          assert.ok(!seen.has(e.dest), `step ${step}: one event per destination`);
          seen.add(e.dest);
          assert.notEqual(beforeBests.get(e.dest), afterBests.get(e.dest), `step ${step}: an event only where the best changed`);
        }
        for (const [d, p] of afterBests) if (beforeBests.get(d) !== p) assert.ok(seen.has(d), `step ${step}: every change reported`);
        for (const [d] of beforeBests) if (!afterBests.has(d)) assert.ok(seen.has(d));
        const after = importedKeys(pe, name);
        for (const k of before) if (!wantGone.includes(k)) assert.ok(after.has(k), 'kept what still matches');
      } else if (op < 7) {
        const p = newRoute();
        routes.push(p);
        pe.receive(p);
      } else if (op < 9) {
        const p = routes[rnd(routes.length)]!;
        pe.withdraw(p);
      } else {
        // Same RD + prefix re-announced with other RTs: import follows the new RTs.
        const p = routes[rnd(routes.length)]!;
        const q = { ...p, attributes: rtAttrs(subset(rnd, 3)) };
        routes.push(q);
        pe.receive(q);
      }
      // Invariant: every VRF holds exactly the VPN bests matching its import RTs.
      for (const name of names) {
        const want = new Set([...pe.vpnBests()].filter((p) => matches(p, imports.get(name)!)).map((p) => p.key));
        assert.deepEqual([...importedKeys(pe, name)].sort(), [...want].sort(), `step ${step}: VRF ${name} content`);
      }
      pe.checkMirror();
    }
  });
}
