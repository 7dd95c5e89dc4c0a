import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Afi } from '../wire/constants.js';
import { Pe, destOf, localPath, vrf } from './test-helpers.js';

const exported = (pe: Pe) => [...pe.manager.exports('red')].map((e) => `${e.route.prefix.join('.')}/${e.route.length}`).sort();
const ready = (...prefixes: string[]) => [new Set(prefixes.map(destOf)), new Set<string>()] as const;
const ce = (prefix: string) => localPath(prefix, { origin: 0, asPath: [{ type: 2, asns: [65010] }] }, '203.0.113.2', '203.0.113.2');

test("a gated VRF exports a CE's route only once its prefix is named ready; a prefix no longer ready is withdrawn", () => {
  const pe = new Pe();
  pe.define(vrf('red', '65000:1', ['65000:100'], ['65000:100'], { label: 777, gateCeExports: true }));
  pe.addLocal('red', ce('172.16.1.0/24'));
  pe.addLocal('red', ce('172.16.2.0/24'));
  // The VRF holds them (the PE learns and installs them from here); the other PEs hear nothing yet.
  assert.ok(pe.has('red', '172.16.1.0/24') && pe.has('red', '172.16.2.0/24'));
  assert.deepEqual(exported(pe), []);
  assert.equal(pe.announced.size, 0);

  assert.deepEqual(pe.manager.setExportReady('red', ready('172.16.1.0/24', '10.9.0.0/16')), { exported: 1, held: 1 });
  assert.deepEqual(exported(pe), ['172.16.1.0/24']);
  assert.deepEqual(pe.manager.setExportReady('red', ready('172.16.2.0/24')), { exported: 1, held: 1 });
  assert.deepEqual(exported(pe), ['172.16.2.0/24']);
  assert.equal(pe.announced.size, 1, 'the withdrawn export left the VPN table');
  // A ready prefix's CE route coming and going is exported and withdrawn at once.
  pe.removeLocal('red', ce('172.16.2.0/24'));
  assert.deepEqual(exported(pe), []);
  pe.addLocal('red', ce('172.16.2.0/24'));
  assert.deepEqual(exported(pe), ['172.16.2.0/24']);
  pe.checkMirror();
});

test("routes the controller originates are not gated; turning the gate off exports every CE route, on again holds the ones not ready", () => {
  const pe = new Pe();
  pe.define(vrf('red', '65000:1', [], ['65000:100'], { label: 777, gateCeExports: true }));
  pe.addLocal('red', localPath('10.1.0.0/16'));
  pe.addLocal('red', ce('172.16.1.0/24'));
  assert.deepEqual(exported(pe), ['10.1.0.0/16']);
  pe.define(vrf('red', '65000:1', [], ['65000:100'], { label: 777 }));
  assert.deepEqual(exported(pe), ['10.1.0.0/16', '172.16.1.0/24']);
  pe.define(vrf('red', '65000:1', [], ['65000:100'], { label: 777, gateCeExports: true }));
  assert.deepEqual(exported(pe), ['10.1.0.0/16']);
  assert.ok(pe.manager.table('red', Afi.IPV4)!.best(destOf('172.16.1.0/24')), 'still in the VRF');
});

test('an ungated VRF ignores the ready set', () => {
  const pe = new Pe();
  pe.define(vrf('red', '65000:1', [], ['65000:100'], { label: 777 }));
  pe.addLocal('red', ce('172.16.1.0/24'));
  pe.manager.setExportReady('red', ready());
  assert.deepEqual(exported(pe), ['172.16.1.0/24']);
});
