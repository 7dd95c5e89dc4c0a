import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRd, parseRd } from '../../common/vpn/rd.js';
import { formatRouteTarget } from '../../common/vpn/route-target.js';
import { routeKey } from '../rib/path.js';
import { routeTargets } from '../wire/communities.js';
import { Afi } from '../wire/constants.js';
import { vrfConfig, VrfConfigError } from './config.js';
import { ExportedPath, vpnKeyToDest, VPNV4_FAMILY } from './manager.js';
import { Pe, V4, connect, destOf, localPath, rtAttrs, vpnPath, vrf } from './test-helpers.js';

const rtTexts = (p: { attributes: { extendedCommunities?: Parameters<typeof routeTargets>[0] } }) => routeTargets(p.attributes.extendedCommunities).map(formatRouteTarget);

test('a VPN route imports into the VRFs with a matching import RT, and nowhere else', () => {
  const pe = new Pe();
  pe.peers.set('10.0.0.1', { external: false, routerId: '10.0.0.1' });
  pe.define(vrf('red', '65000:1', ['65000:100'], ['65000:100']));
  pe.define(vrf('blue', '65000:2', ['65000:200', '65000:201'], ['65000:200']));
  const r1 = vpnPath('10.0.0.1', '65000:11', '10.1.0.0/16', rtAttrs(['65000:100']));
  const r2 = vpnPath('10.0.0.1', '65000:12', '10.2.0.0/16', rtAttrs(['65000:201', '65000:999']));
  const r3 = vpnPath('10.0.0.1', '65000:13', '10.3.0.0/16', rtAttrs(['65000:100', '65000:200']));
  const stray = vpnPath('10.0.0.1', '65000:14', '10.4.0.0/16', rtAttrs(['65000:999']));
  const bare = vpnPath('10.0.0.1', '65000:15', '10.5.0.0/16', rtAttrs([]));
  for (const r of [r1, r2, r3, stray, bare]) pe.receive(r);
  assert.deepEqual(pe.manager.importTargets(r1), ['red']);
  assert.deepEqual(pe.manager.importTargets(r2), ['blue']);
  assert.deepEqual(pe.manager.importTargets(r3).sort(), ['blue', 'red']);
  assert.deepEqual(pe.manager.importTargets(stray), []);
  assert.deepEqual(pe.manager.importTargets(bare), []);
  assert.ok(pe.has('red', '10.1.0.0/16') && pe.has('red', '10.3.0.0/16') && !pe.has('red', '10.2.0.0/16'));
  assert.ok(pe.has('blue', '10.2.0.0/16') && pe.has('blue', '10.3.0.0/16') && !pe.has('blue', '10.1.0.0/16'));
  // The stray and RT-less routes are in no VRF at all.
  for (const name of ['red', 'blue']) {
    assert.ok(!pe.has(name, '10.4.0.0/16') && !pe.has(name, '10.5.0.0/16'));
  }
  assert.equal(pe.manager.routeCount('red') + pe.manager.routeCount('blue'), 4);
  // The VRF keeps the VPN path itself: RD, label and PE next hop for the forwarding agent.
  const best = pe.manager.table('red', Afi.IPV4)!.best(destOf('10.1.0.0/16'))!;
  assert.equal(best, r1);
  assert.equal(formatRd(best.route.rd!), '65000:11');
  // Withdrawal takes it out.
  pe.withdraw(r1);
  assert.ok(!pe.has('red', '10.1.0.0/16'));
  pe.checkMirror();
});

test('the same prefix under two RDs gives the VRF two paths; best path picks one', () => {
  const pe = new Pe();
  pe.peers.set('10.0.0.1', { external: false, routerId: '10.0.0.1' });
  pe.peers.set('10.0.0.2', { external: false, routerId: '10.0.0.2' });
  pe.resolver.set('10.0.0.1', 20);
  pe.resolver.set('10.0.0.2', 10);
  pe.define(vrf('red', '65000:1', ['65000:100'], []));
  const a = vpnPath('10.0.0.1', '65000:11', '10.9.0.0/16', rtAttrs(['65000:100']));
  const b = vpnPath('10.0.0.2', '65000:12', '10.9.0.0/16', rtAttrs(['65000:100']));
  pe.receive(a);
  pe.receive(b);
  const t = pe.manager.table('red', Afi.IPV4)!;
  assert.equal(t.paths(destOf('10.9.0.0/16')).length, 2);
  assert.equal(t.best(destOf('10.9.0.0/16')), b, 'lower IGP cost to 10.0.0.2');
  pe.resolver.set('10.0.0.2', 30);
  t.nextHopsChanged(new Set(['10.0.0.2']), () => {});
  assert.equal(t.best(destOf('10.9.0.0/16')), a);
  // A VPN best moving to another peer for the same RD + prefix replaces the imported path.
  const a2 = vpnPath('10.0.0.2', '65000:11', '10.9.0.0/16', rtAttrs(['65000:100'], { localPref: 300 }));
  pe.receive(a2);
  assert.equal(t.paths(destOf('10.9.0.0/16')).length, 2);
  assert.equal(t.best(destOf('10.9.0.0/16')), a2);
});

test('local routes export as VPN routes: RD, export RTs appended, per-vrf label, next-hop-self', () => {
  const pe = new Pe();
  pe.define(vrf('red', '65000:1', ['65000:100'], ['65000:100', '65000:101'], { label: 777 }));
  const attrs = rtAttrs(['65000:101', '65000:555'], { med: 5 });
  pe.addLocal('red', localPath('172.16.1.0/24', attrs, '203.0.113.2', '203.0.113.2'));
  pe.addLocal('red', localPath('172.16.2.0/24', attrs, '203.0.113.2', '203.0.113.2'));
  const ex = [...pe.manager.exports('red')];
  assert.equal(ex.length, 2);
  const e = ex[0]!;
  assert.equal(e.family, VPNV4_FAMILY);
  assert.equal(formatRd(e.route.rd!), '65000:1');
  assert.deepEqual(e.route.labels, [777]);
  assert.equal(e.nextHop, undefined);
  assert.equal(e.source, 'local');
  assert.equal(e.vrf, 'red');
  assert.equal(e.key, routeKey(VPNV4_FAMILY, e.route));
  assert.equal(vpnKeyToDest(e.key), destOf('172.16.1.0/24'));
  // Existing RTs kept, export RTs appended without duplicates; other attributes kept.
  assert.deepEqual(rtTexts(e), ['65000:101', '65000:555', '65000:100']);
  assert.equal(e.attributes.med, 5);
  // Both routes share one exported attribute object, so they pack into one UPDATE.
  assert.equal(ex[0]!.attributes, ex[1]!.attributes);
  // The VRF does not import its own export even though it imports 65000:100.
  const t = pe.manager.table('red', Afi.IPV4)!;
  assert.equal(t.paths(destOf('172.16.1.0/24')).length, 1);
  // Removing the local route withdraws the export.
  pe.removeLocal('red', localPath('172.16.1.0/24', attrs, '203.0.113.2'));
  assert.equal([...pe.manager.exports('red')].length, 1);
  assert.equal(pe.announced.size, 1);
  pe.checkMirror();
});

test('a local route is exported even when an imported path is the VRF best (best-external)', () => {
  const pe = new Pe();
  pe.peers.set('10.0.0.1', { external: false, routerId: '10.0.0.1' });
  pe.peers.set('203.0.113.2', { external: true, routerId: '203.0.113.2' });
  pe.define(vrf('red', '65000:1', ['65000:100'], ['65000:100']));
  pe.receive(vpnPath('10.0.0.1', '65000:11', '172.16.1.0/24', rtAttrs(['65000:100'], { localPref: 500, asPath: [] })));
  pe.addLocal('red', localPath('172.16.1.0/24', { origin: 0, asPath: [{ type: 2, asns: [65010] }] }, '203.0.113.2', '203.0.113.2'));
  const best = pe.manager.table('red', Afi.IPV4)!.best(destOf('172.16.1.0/24'))!;
  assert.equal(best.source, '10.0.0.1', 'the iBGP path with LOCAL_PREF 500 wins inside the VRF');
  assert.equal([...pe.manager.exports('red')].length, 1, 'but the CE route is still exported');
});

test('label modes: per-prefix labels are stable per prefix; per-ce labels are shared per CE; both are released', () => {
  const pe = new Pe();
  pe.define(vrf('p', '65000:1', [], ['65000:1'], { labelMode: 'per-prefix', label: undefined }));
  const a = localPath('10.0.1.0/24', { origin: 0, asPath: [] });
  const b = localPath('10.0.2.0/24', { origin: 0, asPath: [] });
  pe.addLocal('p', a);
  pe.addLocal('p', b);
  const la = pe.announced.get([...pe.manager.exports('p')][0]!.key)!.route.labels![0];
  const labels = [...pe.manager.exports('p')].map((e) => e.route.labels![0]);
  assert.equal(new Set(labels).size, 2);
  // An update of the same prefix keeps its label.
  pe.addLocal('p', localPath('10.0.1.0/24', { origin: 1, asPath: [] }));
  assert.equal([...pe.manager.exports('p')].find((e) => vpnKeyToDest(e.key) === a.key)!.route.labels![0], la);
  assert.equal(pe.labels.inUse, 2);
  pe.removeLocal('p', a);
  assert.equal(pe.labels.inUse, 1);

  pe.define(vrf('c', '65000:2', [], ['65000:2'], { labelMode: 'per-ce', label: undefined }));
  pe.addLocal('c', localPath('10.1.1.0/24', undefined, '203.0.113.2', '203.0.113.2'));
  pe.addLocal('c', localPath('10.1.2.0/24', undefined, '203.0.113.2', '203.0.113.2'));
  pe.addLocal('c', localPath('10.1.3.0/24', undefined, '203.0.113.3', '203.0.113.3'));
  const byDest = new Map([...pe.manager.exports('c')].map((e) => [vpnKeyToDest(e.key), e.route.labels![0]]));
  assert.equal(byDest.get(destOf('10.1.1.0/24')), byDest.get(destOf('10.1.2.0/24')));
  assert.notEqual(byDest.get(destOf('10.1.1.0/24')), byDest.get(destOf('10.1.3.0/24')));
  assert.equal(pe.labels.inUse, 1 + 2);
  pe.removeLocal('c', localPath('10.1.1.0/24', undefined, '203.0.113.2'));
  assert.equal(pe.labels.inUse, 3, 'CE .2 still has a route');
  pe.removeLocal('c', localPath('10.1.2.0/24', undefined, '203.0.113.2'));
  assert.equal(pe.labels.inUse, 2);
  // Switching the mode to per-vrf gives every label back.
  pe.define(vrf('c', '65000:2', [], ['65000:2'], { labelMode: 'per-vrf', label: 900 }));
  pe.define(vrf('p', '65000:1', [], ['65000:1'], { labelMode: 'per-vrf', label: 901 }));
  assert.equal(pe.labels.inUse, 0);
  assert.deepEqual([...pe.manager.exports('c')].map((e) => e.route.labels![0]), [900]);
});

test('RD change withdraws every export under the old RD and announces it under the new one', () => {
  const pe = new Pe();
  pe.define(vrf('red', '65000:1', [], ['65000:100']));
  pe.addLocal('red', localPath('10.0.1.0/24'));
  pe.addLocal('red', localPath('10.0.2.0/24'));
  const before = [...pe.announced.keys()];
  pe.define(vrf('red', '65000:9', [], ['65000:100']));
  const after = [...pe.announced.values()];
  assert.equal(after.length, 2);
  for (const e of after) assert.equal(formatRd(e.route.rd!), '65000:9');
  for (const k of before) assert.ok(!pe.announced.has(k), 'old-RD route withdrawn');
  // The VPN Loc-RIB holds only the new ones.
  assert.deepEqual([...pe.vpnBests()].map((p) => formatRd(p.route.rd!)), ['65000:9', '65000:9']);
});

test('export RT change re-announces every export with the new RTs and withdraws nothing', () => {
  const pe = new Pe();
  pe.define(vrf('red', '65000:1', [], ['65000:100']));
  pe.addLocal('red', localPath('10.0.1.0/24'));
  const withdrawn: ExportedPath[] = [];
  const announced: ExportedPath[] = [];
  const m = pe.manager as unknown as { o: { listener: { exportWithdraw: (p: ExportedPath) => void; exportAnnounce: (p: ExportedPath) => void } } };
  const l = m.o.listener;
  const [w, a] = [l.exportWithdraw, l.exportAnnounce];
  l.exportWithdraw = (p) => (withdrawn.push(p), w(p));
  l.exportAnnounce = (p) => (announced.push(p), a(p));
  pe.define(vrf('red', '65000:1', [], ['65000:100', '65000:200']));
  assert.equal(withdrawn.length, 0);
  assert.equal(announced.length, 1);
  assert.deepEqual(rtTexts(announced[0]!), ['65000:100', '65000:200']);
});

test('configuration checks: RD unique per speaker, per-vrf needs a label, limit sane', () => {
  const pe = new Pe();
  pe.define(vrf('red', '65000:1', [], []));
  assert.throws(() => pe.define(vrf('blue', '65000:1', [], [])), VrfConfigError);
  assert.throws(() => vrfConfig({ name: 'x', rd: '65000:3', labelMode: 'per-vrf' }), /label/);
  assert.throws(() => vrfConfig({ name: 'x', rd: '65000:3', label: 20, maxRoutes: { limit: 0 } }), /limit/);
  assert.throws(() => vrfConfig({ name: 'x', rd: 'nonsense', label: 20 }), /rd/);
  assert.deepEqual(vrfConfig({ name: 'x', rd: '65000:3', label: 20, importRts: ['1:1', '1:1'] }).importRts.length, 1);
});

test('deleting a VRF reports every route gone and withdraws its exports', () => {
  const pe = new Pe();
  pe.peers.set('10.0.0.1', { external: false, routerId: '10.0.0.1' });
  pe.define(vrf('red', '65000:1', ['65000:100'], ['65000:100']));
  pe.receive(vpnPath('10.0.0.1', '65000:11', '10.1.0.0/16', rtAttrs(['65000:100'])));
  pe.addLocal('red', localPath('10.0.1.0/24'));
  pe.removeVrf('red');
  assert.equal(pe.announced.size, 0);
  assert.equal(pe.mirror.get('red')!.size, 0);
  assert.equal(pe.manager.importTargets(vpnPath('10.0.0.1', '65000:11', '10.1.0.0/16', rtAttrs(['65000:100']))).length, 0);
});

test('hub and spoke from route targets alone, across three PEs', () => {
  const [pe1, pe2, pe3] = [new Pe('192.0.2.1'), new Pe('192.0.2.2'), new Pe('192.0.2.3')];
  connect([pe1, pe2, pe3]);
  // Spokes export RT-spoke and import RT-hub; the hub imports RT-spoke and exports RT-hub.
  pe1.define(vrf('spoke', '65000:1', ['65000:1000'], ['65000:2000']));
  pe2.define(vrf('spoke', '65000:2', ['65000:1000'], ['65000:2000']));
  pe3.define(vrf('hub', '65000:3', ['65000:2000'], ['65000:1000']));
  pe1.addLocal('spoke', localPath('10.1.0.0/16'));
  pe2.addLocal('spoke', localPath('10.2.0.0/16'));
  pe3.addLocal('hub', localPath('0.0.0.0/0'));
  // Spoke routes reach the hub only.
  assert.ok(pe3.has('hub', '10.1.0.0/16') && pe3.has('hub', '10.2.0.0/16'));
  assert.ok(!pe2.has('spoke', '10.1.0.0/16'), 'spoke 2 does not learn spoke 1 directly');
  assert.ok(!pe1.has('spoke', '10.2.0.0/16'));
  // The hub's routes reach every spoke: spoke-to-spoke traffic goes through the hub.
  assert.ok(pe1.has('spoke', '0.0.0.0/0') && pe2.has('spoke', '0.0.0.0/0'));
  // The hub CE re-advertises spoke 1's prefix: spoke 2 learns it with the hub PE as next hop.
  pe3.addLocal('hub', localPath('10.1.0.0/16', { origin: 0, asPath: [{ type: 2, asns: [65003] }] }, '203.0.113.9', '203.0.113.9'));
  const via = pe2.manager.table('spoke', Afi.IPV4)!.best(destOf('10.1.0.0/16'))!;
  assert.equal(via.nextHop!.address, '192.0.2.3');
  // Spoke 1 hears its own prefix back from the hub, but its local route wins.
  assert.equal(pe1.manager.table('spoke', Afi.IPV4)!.best(destOf('10.1.0.0/16'))!.source, 'local');
  for (const pe of [pe1, pe2, pe3]) pe.checkMirror();
});

test('hub and spoke on one PE: exports leak between its VRFs by RT, never into the exporter', () => {
  const pe = new Pe();
  pe.define(vrf('s1', '65000:1', ['65000:1000'], ['65000:2000']));
  pe.define(vrf('s2', '65000:2', ['65000:1000'], ['65000:2000']));
  pe.define(vrf('hub', '65000:3', ['65000:2000'], ['65000:1000']));
  pe.addLocal('s1', localPath('10.1.0.0/16'));
  pe.addLocal('s2', localPath('10.2.0.0/16'));
  pe.addLocal('hub', localPath('0.0.0.0/0'));
  assert.ok(pe.has('hub', '10.1.0.0/16') && pe.has('hub', '10.2.0.0/16'));
  assert.ok(!pe.has('s1', '10.2.0.0/16') && !pe.has('s2', '10.1.0.0/16'));
  assert.ok(pe.has('s1', '0.0.0.0/0') && pe.has('s2', '0.0.0.0/0'));
  // The hub's imported copy of 10.1/16 is the VPN path (RD 65000:1), not a re-export.
  const p = pe.manager.table('hub', Afi.IPV4)!.best(destOf('10.1.0.0/16'))!;
  assert.equal(formatRd(p.route.rd!), '65000:1');
  assert.equal([...pe.manager.exports('hub')].length, 1);
  // Withdrawing the spoke route takes it out of the hub.
  pe.removeLocal('s1', localPath('10.1.0.0/16'));
  assert.ok(!pe.has('hub', '10.1.0.0/16'));
  pe.checkMirror();
});

test('extranet: a VRF that imports another VPN\'s RT gets its routes; nothing leaks the other way', () => {
  const [pe1, pe2] = [new Pe('192.0.2.1'), new Pe('192.0.2.2')];
  connect([pe1, pe2]);
  pe1.define(vrf('acme', '65000:1', ['65000:100'], ['65000:100']));
  pe2.define(vrf('acme', '65000:2', ['65000:100'], ['65000:100']));
  pe1.define(vrf('shared', '65000:3', ['65000:300'], ['65000:300']));
  // acme on pe2 also imports the shared-services VPN.
  pe2.define(vrf('acme', '65000:2', ['65000:100', '65000:300'], ['65000:100']));
  pe1.addLocal('acme', localPath('10.1.0.0/16'));
  pe2.addLocal('acme', localPath('10.2.0.0/16'));
  pe1.addLocal('shared', localPath('192.168.0.0/24'));
  assert.ok(pe2.has('acme', '192.168.0.0/24'), 'acme on pe2 reaches shared services');
  assert.ok(!pe1.has('acme', '192.168.0.0/24'), 'acme on pe1 does not import RT 300');
  assert.ok(!pe1.has('shared', '10.2.0.0/16') && !pe1.has('shared', '10.1.0.0/16'), 'shared does not import acme');
  assert.ok(pe1.has('acme', '10.2.0.0/16') && pe2.has('acme', '10.1.0.0/16'));
  // The extranet import is taken back on the fly.
  pe2.define(vrf('acme', '65000:2', ['65000:100'], ['65000:100']));
  assert.ok(!pe2.has('acme', '192.168.0.0/24'));
  assert.ok(pe2.has('acme', '10.1.0.0/16'));
});

test('VRF route changes work for IPv6 too (VPN-IPv6 import, IPv6 export)', () => {
  const pe = new Pe();
  pe.peers.set('10.0.0.1', { external: false, routerId: '10.0.0.1' });
  pe.define(vrf('red', '65000:1', ['65000:100'], ['65000:100']));
  pe.receive(vpnPath('10.0.0.1', '65000:11', '2001:db8:1::/48', rtAttrs(['65000:100'])));
  pe.addLocal('red', localPath('2001:db8:2::/48'));
  assert.ok(pe.has('red', '2001:db8:1::/48') && pe.has('red', '2001:db8:2::/48'));
  const e = [...pe.manager.exports('red')][0]!;
  assert.equal(e.family.afi, Afi.IPV6);
  assert.equal(e.key, routeKey(e.family, e.route));
  assert.ok(!pe.manager.table('red', Afi.IPV4)!.size);
  pe.checkMirror();
});

test('a per-vrf VRF with an IPv6 label exports VPN-IPv6 routes with it and VPN-IPv4 ones with its label; 0 is the label for both; checked', () => {
  const pe = new Pe();
  pe.define(vrf('red', '65000:1', [], ['65000:100'], { label: 777, ipv6Label: 778 }));
  pe.addLocal('red', localPath('172.16.1.0/24'));
  pe.addLocal('red', localPath('2001:db8:2::/48'));
  const labelOf = (afi: number) => [...pe.manager.exports('red')].find((e) => e.family.afi === afi)!.route.labels;
  assert.deepEqual([labelOf(Afi.IPV4), labelOf(Afi.IPV6)], [[777], [778]]);
  // Without it (0 over the API): the VRF label for both, as before.
  pe.define(vrf('red', '65000:1', [], ['65000:100'], { label: 777 }));
  assert.deepEqual([labelOf(Afi.IPV4), labelOf(Afi.IPV6)], [[777], [777]]);
  assert.equal(vrfConfig({ name: 'x', rd: '65000:3', label: 20, ipv6Label: 0 }).ipv6Label, undefined);
  assert.throws(() => vrfConfig({ name: 'x', rd: '65000:3', label: 20, ipv6Label: 15 }), /ipv6_label/);
  assert.throws(() => vrfConfig({ name: 'x', rd: '65000:3', label: 20, ipv6Label: 20 }), /ipv6_label.*label 20/);
  assert.throws(() => vrfConfig({ name: 'x', rd: '65000:3', labelMode: 'per-ce', labelBlock: { first: 100, last: 200 }, ipv6Label: 30 }), /ipv6_label.*per-ce/);
  pe.checkMirror();
});

test('an unknown VRF is an error for addLocal and a no-op for removeLocal', () => {
  const pe = new Pe();
  assert.throws(() => pe.manager.addLocal('nope', localPath('10.0.0.0/8')), VrfConfigError);
  assert.equal(pe.manager.removeLocal('nope', V4, destOf('10.0.0.0/8'), 'local'), false);
  assert.equal(parseRd('65000:1').form, 0);
});

test('one speaker for many PEs: exports carry their VRF\'s next hop and the label their path was added with; VRFs of two PEs import each other, never themselves', () => {
  const pe = new Pe();
  pe.define(vrf('acme@pe1', '65000:1', ['65000:100'], ['65000:100'], { labelMode: 'per-ce', nextHop: '198.51.100.1' }));
  pe.define(vrf('acme@pe2', '65000:2', ['65000:100'], ['65000:100'], { nextHop: '198.51.100.2' }));
  assert.throws(() => pe.manager.addLocal('acme@pe1', localPath('10.1.0.0/16'), 15), (e: Error) => e instanceof VrfConfigError && e.field === 'label');
  pe.manager.addLocal('acme@pe1', localPath('10.1.0.0/16'), 7001);
  pe.manager.addLocal('acme@pe1', localPath('2001:db8:1::/48'), 7002);
  pe.manager.addLocal('acme@pe2', localPath('10.2.0.0/16'));
  pe.drain();
  const exported = [...pe.manager.exports('acme@pe1'), ...pe.manager.exports('acme@pe2')].map((e) => [e.vrf, e.route.labels, e.nextHop?.address]);
  assert.deepEqual(exported, [
    ['acme@pe1', [7001], '198.51.100.1'],
    ['acme@pe1', [7002], '::ffff:198.51.100.1'],
    ['acme@pe2', [500], '198.51.100.2'],
  ]);
  assert.equal(pe.labels.inUse, 0, 'given labels are not taken from the allocator');
  // Each imports the other's export as a VPN path (its RD, label, PE next hop); its own stays the local path.
  const fromPe2 = pe.manager.table('acme@pe1', Afi.IPV4)!.best(destOf('10.2.0.0/16'))!;
  assert.deepEqual([formatRd(fromPe2.route.rd!), fromPe2.route.labels, fromPe2.nextHop?.address], ['65000:2', [500], '198.51.100.2']);
  const own = pe.manager.table('acme@pe1', Afi.IPV4)!.paths(destOf('10.1.0.0/16'));
  assert.deepEqual(own.map((p) => p.source), ['local']);
  assert.equal(own[0]!.route.rd, undefined);
  assert.ok(pe.has('acme@pe2', '10.1.0.0/16') && pe.has('acme@pe2', '2001:db8:1::/48'));
  // A new next hop re-announces every export with it.
  pe.define(vrf('acme@pe2', '65000:2', ['65000:100'], ['65000:100'], { nextHop: '198.51.100.22' }));
  assert.equal(pe.manager.table('acme@pe1', Afi.IPV4)!.best(destOf('10.2.0.0/16'))!.nextHop?.address, '198.51.100.22');
  pe.checkMirror();
});
