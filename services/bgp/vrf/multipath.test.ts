// VRF multipath (VrfConfig.multipath): an all-active site's PEs export its
// prefix under their own RDs at equal preference; an importing VRF keeps
// the best and uses the equal paths with it, and says so when the set
// changes even though the best does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Afi } from '../wire/constants.js';
import { multipathEqual, selectMultipath } from '../decision/decision.js';
import { vrfConfig, VrfConfigError } from './config.js';
import { Pe, destOf, rtAttrs, vpnPath, vrf } from './test-helpers.js';

const RT = ['65000:100'];
const DEST = destOf('10.9.0.0/16');

function pe(multipath?: number): Pe {
  const p = new Pe();
  for (const a of ['10.0.0.2', '10.0.0.3', '10.0.0.4']) p.peers.set(a, { external: false, routerId: a });
  p.define(vrf('red', '65000:1', RT, RT, multipath === undefined ? {} : { multipath }));
  return p;
}

const mp = (p: Pe) => p.manager.multipath('red', Afi.IPV4, DEST);

test('multipath: equal LOCAL_PREF and AS_PATH from two PEs under two RDs: the best and the other together', () => {
  const p = pe(4);
  const a = vpnPath('10.0.0.2', '65000:2', '10.9.0.0/16', rtAttrs(RT), 200);
  const b = vpnPath('10.0.0.3', '65000:3', '10.9.0.0/16', rtAttrs(RT), 300);
  p.receive(a);
  assert.deepEqual(mp(p), []);
  const before = p.routeEvents.length;
  p.receive(b);
  // Router id breaks the tie for the best (10.0.0.2); 10.0.0.3 joins it.
  assert.equal(p.manager.table('red', Afi.IPV4)!.best(DEST), a);
  assert.deepEqual(mp(p), [b]);
  // The best did not change, yet the VRF reported the destination again (its multipath set changed).
  assert.equal(p.routeEvents.length, before + 1);
  assert.equal(p.routeEvents.at(-1)!.best, a);
  // The other path leaves: reported again, set empty.
  p.withdraw(b);
  assert.deepEqual(mp(p), []);
  assert.equal(p.routeEvents.length, before + 2);
  p.checkMirror();
});

test('multipath: unequal LOCAL_PREF, AS_PATH length, ORIGIN or MED: best alone', () => {
  const cases: [string, object][] = [
    ['local-pref', { localPref: 200 }],
    ['as-path', { asPath: [{ type: 2, asns: [65100, 65100] }] }],
    ['origin', { origin: 2 }],
    ['med', { med: 50 }],
  ];
  for (const [name, extra] of cases) {
    const p = pe(4);
    const a = vpnPath('10.0.0.2', '65000:2', '10.9.0.0/16', rtAttrs(RT), 200);
    const b = vpnPath('10.0.0.3', '65000:3', '10.9.0.0/16', rtAttrs(RT, extra), 300);
    p.receive(a);
    p.receive(b);
    const best = p.manager.table('red', Afi.IPV4)!.best(DEST)!;
    assert.deepEqual(mp(p), [], name);
    assert.equal(multipathEqual(best, best === a ? b : a, p.decision), false, name);
  }
});

test('multipath: off by default and at 1; at most multipath - 1 others; one per next hop; turning it on reports the destination', () => {
  const off = pe();
  const paths = ['10.0.0.2', '10.0.0.3', '10.0.0.4'].map((nh, i) => vpnPath(nh, `65000:${i + 2}`, '10.9.0.0/16', rtAttrs(RT), 200 + i));
  for (const x of paths) off.receive(x);
  assert.deepEqual(mp(off), []);
  const n = off.routeEvents.length;
  off.define(vrf('red', '65000:1', RT, RT, { multipath: 2 }));
  assert.equal(mp(off).length, 1);
  assert.equal(off.routeEvents.length, n + 1, 'a multipath change is reported');
  off.define(vrf('red', '65000:1', RT, RT, { multipath: 8 }));
  assert.deepEqual(mp(off), [paths[1], paths[2]]);
  // Two RDs through one PE (same next hop) never count twice.
  const best = paths[0]!;
  const twin = vpnPath('10.0.0.3', '65000:33', '10.9.0.0/16', rtAttrs(RT), 333);
  assert.deepEqual(selectMultipath([best, paths[1]!, twin], best, 8, off.decision).length, 1);
  assert.throws(() => vrfConfig({ ...vrf('x', '65000:9', RT, RT), multipath: 65 }), VrfConfigError);
  assert.equal(vrfConfig({ ...vrf('x', '65000:9', RT, RT), multipath: 1 }).multipath, undefined);
});

test('multipath: an unreachable next hop is never a member', () => {
  const p = pe(4);
  const a = vpnPath('10.0.0.2', '65000:2', '10.9.0.0/16', rtAttrs(RT), 200);
  const b = vpnPath('10.0.0.3', '65000:3', '10.9.0.0/16', rtAttrs(RT), 300);
  p.resolver.setDefault(undefined);
  p.resolver.set('10.0.0.2', 0);
  p.receive(a);
  p.receive(b);
  assert.deepEqual(mp(p), []);
});
