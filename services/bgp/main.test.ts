import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, commonSettings, loadSettings } from '../common/config.js';
import { bgpSettings, speakerConfig, staticNeighbors } from './main.js';
import { VPNV4, VPNV6, IPV4_UNICAST, RTC, needsReset, peerConfig } from './speaker/config.js';
import { pathSpecFromProto, pathToProto, routeFromProto } from './api-path.js';
import { Family } from '../common/gen/proto/l3vpn/v1/bgp.js';
import { routeKey } from './rib/path.js';
import { ApiError } from '../common/grpc/errors.js';

test('static neighbours come from bgp.neighbors, with defaults and named errors', () => {
  const settings = loadSettings([...commonSettings, ...bgpSettings], {
    env: { BGP_NEIGHBORS: JSON.stringify([{ address: '192.0.2.7', 'remote-as': 65001, families: ['vpn-ipv4'], 'hold-time': 30, passive: true }]) },
  });
  const [n] = staticNeighbors(settings['bgp.neighbors']!);
  assert.deepEqual(
    { address: n!.address, as: n!.remoteAs, families: n!.families, hold: n!.holdTime, passive: n!.passive, port: n!.port, retry: n!.connectRetryTime },
    { address: '192.0.2.7', as: 65001, families: [VPNV4], hold: 30, passive: true, port: 179, retry: 120 },
  );
  assert.equal(speakerConfig(settings).port, 179);
  assert.throws(() => staticNeighbors([{ address: 'x', 'remote-as': 1 }]), (e: Error) => e instanceof ConfigError && /neighbors\[0\]\.address/.test(e.message));
  assert.throws(() => staticNeighbors([{ address: '192.0.2.1', 'remote-as': 1, 'hold-time': 2 }]), /hold-time/);
  assert.throws(() => staticNeighbors([{ address: '192.0.2.1', 'remote-as': 1, famlies: [] }]), /unknown key 'famlies'/);
  assert.throws(() => staticNeighbors([{ address: '192.0.2.1', 'remote-as': 1, families: ['evpn'] }]), /families/);
  // RT constraint (RFC 4684) by any of its names; never a default family.
  assert.deepEqual(staticNeighbors([{ address: '192.0.2.1', 'remote-as': 1, families: ['vpn-ipv4', 'rtc', 'route-target'] }])[0]!.families, [VPNV4, RTC]);
});

test('only session-level changes reset a peer', () => {
  const a = peerConfig({ address: '192.0.2.1', remoteAs: 65001 });
  assert.deepEqual(a.families, [IPV4_UNICAST, VPNV4, VPNV6]);
  assert.equal(needsReset(a, { ...a, families: [...a.families, RTC] }), true);
  assert.equal(needsReset(a, { ...a, description: 'pe1' }), false);
  assert.equal(needsReset(a, { ...a, holdTime: 30 }), true);
  assert.equal(needsReset(a, { ...a, families: [VPNV4] }), true);
});

test('API paths: checked field by field, and back to the same text', () => {
  const p = {
    family: Family.FAMILY_VPN_IPV6,
    rd: '192.0.2.1:5',
    prefix: '2001:db8:1::/48',
    labels: [16],
    nextHop: '2001:db8::1',
    routeTargets: ['4200000000:7'],
    routeOrigins: ['65000:3'],
    extendedCommunities: [],
    communities: ['65000:10', 'no-export'],
    med: 10,
    localPref: undefined,
    asPath: [{ type: 2, asns: [65001] }],
    origin: 3,
    atomicAggregate: false,
    originatorId: '',
    clusterList: [],
    unknownAttributes: [],
    source: '',
    stale: false,
  };
  const spec = pathSpecFromProto(p);
  const back = pathToProto({ ...spec, nextHop: spec.nextHop, key: routeKey(spec.family, spec.route), source: 'local', since: 0, stale: false });
  assert.deepEqual(
    { ...back, age: undefined },
    { ...p, source: 'local', age: undefined, aggregator: undefined, unknownAttributes: [], extendedCommunities: [] },
  );
  const bad = (f: () => unknown, field: RegExp) => assert.throws(f, (e: Error) => e instanceof ApiError && field.test(e.message));
  bad(() => routeFromProto(Family.FAMILY_VPN_IPV4, '', '10.0.0.0/8', [1]), /^rd/);
  bad(() => routeFromProto(Family.FAMILY_VPN_IPV4, '1:1', '10.0.0.0/8', []), /^labels/);
  bad(() => routeFromProto(Family.FAMILY_VPN_IPV4, '1:1', '2001:db8::/32', [1]), /^prefix/);
  bad(() => routeFromProto(Family.FAMILY_IPV4_UNICAST, '1:1', '10.0.0.0/8'), /^rd/);
  bad(() => pathSpecFromProto({ ...p, communities: ['70000:1'] }), /^communities\[0\]/);
  bad(() => pathSpecFromProto({ ...p, family: Family.FAMILY_VPN_IPV4, prefix: '10.0.0.0/8', nextHop: '2001:db8::1' }), /^next_hop/);
});
