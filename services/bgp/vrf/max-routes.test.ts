import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pe, localPath, rtAttrs, vpnPath, vrf } from './test-helpers.js';

function limited(pe: Pe, limit: number, extra: { warningPercent?: number; warningOnly?: boolean } = {}) {
  pe.peers.set('10.0.0.1', { external: false, routerId: '10.0.0.1' });
  pe.define(vrf('red', '65000:1', ['65000:100'], ['65000:100'], { maxRoutes: { limit, ...extra } }));
}

const types = (pe: Pe) => pe.events.map((e) => e.type);

test('hard limit: warning at the threshold, then new destinations refused and reported, never dropped silently', () => {
  const pe = new Pe();
  limited(pe, 3, { warningPercent: 60 });
  const r = (i: number) => vpnPath('10.0.0.1', '65000:11', `10.${i}.0.0/16`, rtAttrs(['65000:100']));
  pe.receive(r(1));
  assert.deepEqual(types(pe), []);
  pe.receive(r(2)); // 2 >= ceil(3 * 0.6) = 2
  assert.deepEqual(types(pe), ['max-routes-warning']);
  pe.receive(r(3));
  pe.receive(r(4));
  pe.receive(r(5));
  assert.equal(pe.manager.routeCount('red'), 3);
  assert.deepEqual(types(pe), ['max-routes-warning', 'max-routes-exceeded', 'route-refused', 'route-refused'], 'exceeded once, each refusal reported');
  const exceeded = pe.events[1]!;
  assert.ok(exceeded.type === 'max-routes-exceeded' && exceeded.refusing && exceeded.limit === 3);
  assert.deepEqual(pe.manager.refused('red').map((p) => p.key), [r(4).key, r(5).key]);
  assert.ok(!pe.has('red', '10.4.0.0/16'));
  // A second path for a destination already in the VRF is always accepted.
  const again = vpnPath('10.0.0.1', '65000:12', '10.1.0.0/16', rtAttrs(['65000:100']));
  pe.receive(again);
  assert.equal(pe.manager.table('red', 1)!.paths(again.key.charAt(0) + again.key.slice(9)).length, 2);
  // Room frees up: the oldest refused route goes in, and says so.
  pe.withdraw(r(2));
  assert.ok(pe.has('red', '10.4.0.0/16'));
  assert.ok(!pe.has('red', '10.5.0.0/16'));
  assert.equal(pe.events.at(-1)!.type, 'route-admitted');
  // A refused route that is withdrawn leaves the held-back list.
  pe.withdraw(r(5));
  assert.deepEqual(pe.manager.refused('red'), []);
  pe.withdraw(r(1));
  pe.withdraw(r(3));
  assert.equal(pe.manager.routeCount('red'), 2, '10.1/16 still has its RD 65000:12 path, and 10.4/16');
  pe.checkMirror();
});

test('raising the limit on the fly admits held-back routes; lowering it reports and keeps what is installed', () => {
  const pe = new Pe();
  limited(pe, 2);
  for (let i = 1; i <= 4; i++) pe.receive(vpnPath('10.0.0.1', '65000:11', `10.${i}.0.0/16`, rtAttrs(['65000:100'])));
  assert.equal(pe.manager.routeCount('red'), 2);
  pe.define(vrf('red', '65000:1', ['65000:100'], ['65000:100'], { maxRoutes: { limit: 10 } }));
  assert.equal(pe.manager.routeCount('red'), 4);
  assert.deepEqual(pe.manager.refused('red'), []);
  pe.events.length = 0;
  pe.define(vrf('red', '65000:1', ['65000:100'], ['65000:100'], { maxRoutes: { limit: 3 } }));
  assert.equal(pe.manager.routeCount('red'), 4, 'installed routes stay');
  assert.ok(types(pe).includes('max-routes-exceeded'));
  // Removing the limit admits everything.
  pe.define(vrf('red', '65000:1', ['65000:100'], ['65000:100'], { maxRoutes: { limit: 3 } }));
  pe.receive(vpnPath('10.0.0.1', '65000:11', '10.9.0.0/16', rtAttrs(['65000:100'])));
  assert.equal(pe.manager.refused('red').length, 1);
  pe.define(vrf('red', '65000:1', ['65000:100'], ['65000:100']));
  assert.equal(pe.manager.routeCount('red'), 5);
});

test('warning-only: routes past the limit are installed and the breach reported once', () => {
  const pe = new Pe();
  limited(pe, 2, { warningOnly: true });
  for (let i = 1; i <= 4; i++) pe.receive(vpnPath('10.0.0.1', '65000:11', `10.${i}.0.0/16`, rtAttrs(['65000:100'])));
  assert.equal(pe.manager.routeCount('red'), 4);
  assert.deepEqual(types(pe), ['max-routes-warning', 'max-routes-exceeded']);
  const e = pe.events[1]!;
  assert.ok(e.type === 'max-routes-exceeded' && !e.refusing);
  // Back under the limit and over again: reported again.
  for (let i = 2; i <= 4; i++) pe.withdraw(vpnPath('10.0.0.1', '65000:11', `10.${i}.0.0/16`, rtAttrs(['65000:100'])));
  for (let i = 2; i <= 4; i++) pe.receive(vpnPath('10.0.0.1', '65000:11', `10.${i}.0.0/16`, rtAttrs(['65000:100'])));
  assert.equal(types(pe).filter((t) => t === 'max-routes-exceeded').length, 2);
});

test('the limit covers local (CE) routes too; a refused local route is not exported until admitted', () => {
  const pe = new Pe();
  limited(pe, 1);
  assert.equal(pe.addLocal('red', localPath('10.1.0.0/16')), true);
  assert.equal(pe.addLocal('red', localPath('10.2.0.0/16')), false);
  assert.equal([...pe.manager.exports('red')].length, 1);
  pe.removeLocal('red', localPath('10.1.0.0/16'));
  assert.equal([...pe.manager.exports('red')].length, 1, 'the held-back route took the free slot and is exported');
  assert.ok(pe.has('red', '10.2.0.0/16'));
});
