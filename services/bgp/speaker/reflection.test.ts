import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsPathSegmentType } from '../wire/constants.js';
import { isLoop, isReflection, mayReflect, reflect, type SourceSession } from './reflection.js';

const client = (address: string): SourceSession => ({ address, external: false, client: true, routerId: `10.0.0.${address.split('.')[3]}` });
const nonClient = (address: string): SourceSession => ({ ...client(address), client: false });
const ebgp = (address: string): SourceSession => ({ ...client(address), external: true, client: false });

test('RFC 4456 §6: client routes go to clients and non-clients, non-client routes only to clients, eBGP and local to all', () => {
  assert.equal(mayReflect(client('192.0.2.1'), client('192.0.2.2')), true);
  assert.equal(mayReflect(client('192.0.2.1'), nonClient('192.0.2.3')), true);
  assert.equal(mayReflect(nonClient('192.0.2.3'), client('192.0.2.1')), true);
  assert.equal(mayReflect(nonClient('192.0.2.3'), nonClient('192.0.2.4')), false, 'plain iBGP: never iBGP to iBGP');
  assert.equal(mayReflect(ebgp('192.0.2.5'), nonClient('192.0.2.4')), true);
  assert.equal(mayReflect(nonClient('192.0.2.4'), ebgp('192.0.2.5')), true);
  assert.equal(mayReflect(undefined, nonClient('192.0.2.4')), true, 'local paths');
  assert.equal(mayReflect(client('192.0.2.1'), client('192.0.2.1')), false, 'never back to its sender');
  assert.equal(isReflection(client('192.0.2.1'), nonClient('192.0.2.3')), true);
  assert.equal(isReflection(ebgp('192.0.2.5'), nonClient('192.0.2.3')), false);
  assert.equal(isReflection(client('192.0.2.1'), ebgp('192.0.2.5')), false);
});

test('RFC 4456 §8: ORIGINATOR_ID kept when present, else the source router id; CLUSTER_LIST prepended', () => {
  const a: { originatorId?: string; clusterList?: string[] } = {};
  reflect(a, client('192.0.2.1'), '10.9.9.9');
  assert.deepEqual(a, { originatorId: '10.0.0.1', clusterList: ['10.9.9.9'] });
  const b = { originatorId: '10.7.7.7', clusterList: ['10.8.8.8'] };
  reflect(b, client('192.0.2.1'), '10.9.9.9');
  assert.deepEqual(b, { originatorId: '10.7.7.7', clusterList: ['10.9.9.9', '10.8.8.8'] });
});

test('loop checks: our ORIGINATOR_ID, our cluster in CLUSTER_LIST, our AS in an eBGP AS_PATH', () => {
  const c = { routerId: '10.0.0.1', clusterId: '10.9.9.9', localAs: 65000, external: false };
  assert.equal(isLoop({ originatorId: '10.0.0.1' }, c), true);
  assert.equal(isLoop({ originatorId: '10.0.0.2' }, c), false);
  assert.equal(isLoop({ clusterList: ['10.1.1.1', '10.9.9.9'] }, c), true);
  assert.equal(isLoop({ clusterList: ['10.1.1.1'] }, c), false);
  const path = { asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [65001, 65000] }] };
  assert.equal(isLoop(path, c), false, 'iBGP: AS_PATH not checked');
  assert.equal(isLoop(path, { ...c, external: true }), true);
  assert.equal(isLoop({ asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [65001] }] }, { ...c, external: true }), false);
});

test('allowas-in N: up to N occurrences of our AS from an eBGP peer are accepted, N+1 is a loop', () => {
  const c = { routerId: '10.0.0.1', clusterId: '10.9.9.9', localAs: 65000, external: true };
  const seq = (...asns: number[]) => ({ asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns }] });
  // A sister site's route through the other PE of one customer AS: 65001 65000 65001.
  assert.equal(isLoop(seq(65001, 65000, 65001), c), true, 'off: any occurrence is a loop (RFC 4271 §9.1.2)');
  assert.equal(isLoop(seq(65001, 65000, 65001), { ...c, allowOwnAs: 1 }), false);
  assert.equal(isLoop(seq(65001, 65000, 65000, 65001), { ...c, allowOwnAs: 1 }), true, 'two occurrences, one allowed');
  assert.equal(isLoop(seq(65001, 65000, 65000, 65001), { ...c, allowOwnAs: 2 }), false);
  // Occurrences in every segment count, AS_SET included; confederation segments do not.
  const mixed = { asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [65001, 65000] }, { type: AsPathSegmentType.AS_SET, asns: [65000, 65005] }] };
  assert.equal(isLoop(mixed, { ...c, allowOwnAs: 1 }), true);
  assert.equal(isLoop(mixed, { ...c, allowOwnAs: 2 }), false);
  const confed = { asPath: [{ type: AsPathSegmentType.AS_CONFED_SEQUENCE, asns: [65000, 65000] }, { type: AsPathSegmentType.AS_SEQUENCE, asns: [65001] }] };
  assert.equal(isLoop(confed, c), false);
  // allowas-in never lifts the RFC 4456 checks.
  assert.equal(isLoop({ ...seq(65001), originatorId: '10.0.0.1' }, { ...c, allowOwnAs: 10 }), true);
});
