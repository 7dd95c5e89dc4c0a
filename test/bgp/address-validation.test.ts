// Addresses, RDs and RTs the bgp service takes over gRPC and from its config
// file: a zone id, a NUL byte, a multicast neighbour or a 0:0 RD is
// INVALID_ARGUMENT (or a config error) naming the field, never INTERNAL, and
// nothing refused is kept. The listener is on 127.0.0.1 with a free port.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { ConfigError, commonSettings, loadSettings } from '../../services/common/config.js';
import { Family, LabelMode, Path, PeerConfig, type VrfConfig } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { bgpSettings, speakerConfig, staticNeighbors } from '../../services/bgp/main.js';
import { staticVrfs } from '../../services/bgp/static-vrfs.js';
import { startTestBgp, type StartedBgp } from './support.js';

const vrf = (extra: Partial<VrfConfig> = {}): VrfConfig => ({
  name: 'red',
  rd: '65000:1',
  importRouteTargets: ['65000:1'],
  exportRouteTargets: ['65000:1'],
  labelMode: LabelMode.LABEL_MODE_PER_VRF,
  label: 500,
  ipv6Label: 0,
  owner: '',
  ...extra,
});

const path = (extra: Partial<Path> = {}): Path => Path.fromPartial({ family: Family.FAMILY_IPV4_UNICAST, prefix: '10.9.0.0/16', nextHop: '192.0.2.9', ...extra });

describe('bgp service address validation', () => {
  let bgp: StartedBgp;

  /** INVALID_ARGUMENT whose message starts with the field and says what is wrong. */
  const invalid = (p: Promise<unknown>, field: string, detail: RegExp) =>
    assert.rejects(p, (err: { code: number; details: string }) => {
      assert.equal(err.code, status.INVALID_ARGUMENT, `${status[err.code]}: ${err.details}`);
      assert.ok(err.details.startsWith(`${field}: `), err.details);
      assert.match(err.details, detail);
      return true;
    });

  before(async () => {
    bgp = await startTestBgp({ BGP_AS: '65000', BGP_ROUTER_ID: '10.255.40.1', BGP_LISTEN_ADDRESS: '127.0.0.1', BGP_PORT: '0' });
  });
  after(async () => {
    await bgp?.stop();
  });

  test('AddPeer: zone ids, NUL bytes, unspecified, multicast and broadcast neighbours are refused', async () => {
    const add = (address: string, localAddress = '') =>
      bgp.client.addPeer({ peer: PeerConfig.fromPartial({ address, remoteAs: 65001, localAddress, adminDown: true }) });
    await invalid(add('fe80::1%eth0'), 'address', /zone id \('%eth0'\)/);
    await invalid(add('192.0.2.1\u0000'), 'address', /'192\.0\.2\.1\\u0000' contains a control character/);
    await invalid(add('0.0.0.0'), 'address', /unspecified/);
    await invalid(add('::'), 'address', /unspecified/);
    await invalid(add('224.0.0.1'), 'address', /multicast/);
    await invalid(add('255.255.255.255'), 'address', /broadcast/);
    await invalid(add('192.0.2.1', 'fe80::2%eth0'), 'local_address', /zone id/);
    await invalid(add('192.0.2.1', 'ff02::2'), 'local_address', /multicast/);
    assert.deepEqual((await bgp.client.listPeers({ address: '' })).peers, [], 'nothing refused was added');
    // A peer on the loopback network is fine: single-host labs and tests peer on 127.0.0.0/8.
    await bgp.client.addPeer({ peer: PeerConfig.fromPartial({ address: '127.0.40.2', remoteAs: 65001, adminDown: true }) });
    assert.equal((await bgp.peer('127.0.40.2')).config?.address, '127.0.40.2');
  });

  test('peer lookups by address refuse what is not one', async () => {
    await invalid(bgp.client.deletePeer({ address: '127.0.40.2\u0000' }), 'address', /control character/);
    // A zone names a relayed peer's VRF ("<address>%<vrf>"): empty or with control characters it is no name.
    await invalid(bgp.client.listPeers({ address: '127.0.40.2%' }), 'address', /empty zone/);
    await invalid(bgp.client.listPeers({ address: '127.0.40.2%red\u0001' }), 'address', /control character/);
    await invalid(bgp.client.disablePeer({ address: '127.0.40.2\u0000%red', communication: '' }), 'address', /control character/);
    // A well-formed zoned name of no relayed peer is not found, not invalid.
    const notFound = (p: Promise<unknown>) =>
      assert.rejects(p, (err: { code: number; details: string }) => {
        assert.equal(err.code, status.NOT_FOUND, `${status[err.code]}: ${err.details}`);
        return true;
      });
    await notFound(bgp.client.listPeers({ address: '127.0.40.2%lo' }));
    await notFound(bgp.client.disablePeer({ address: 'fe80::1%eth0', communication: '' }));
  });

  test('AddVrf: an RD or RT with administrator 0 and a bad next hop are refused', async () => {
    await invalid(bgp.client.addVrf({ vrf: vrf({ rd: '0:0' }) }), 'rd', /cannot be 0: AS 0 is reserved \(RFC 7607\)/);
    await invalid(bgp.client.addVrf({ vrf: vrf({ rd: '0.0.0.0:0' }) }), 'rd', /0\.0\.0\.0 is assigned to no one/);
    await invalid(bgp.client.addVrf({ vrf: vrf({ importRouteTargets: ['0:0'] }) }), 'import_route_targets', /cannot be 0/);
    await invalid(bgp.client.addVrf({ vrf: vrf({ nextHop: '10.0.0.1%eth0' }) }), 'next_hop', /zone id/);
    await invalid(bgp.client.addVrf({ vrf: vrf({ nextHop: '10.0.0.1\u0000' }) }), 'next_hop', /control character/);
    await invalid(bgp.client.addVrf({ vrf: vrf({ nextHop: '224.0.0.1' }) }), 'next_hop', /multicast/);
    assert.deepEqual((await bgp.client.listVrfs({ name: '', owner: '', nameSuffix: '' })).vrfs, [], 'nothing refused was added');
  });

  test('AddPath and AddVrfPath: next hops and prefixes with zone ids or NUL bytes are refused', async () => {
    await invalid(bgp.client.addPath({ path: path({ nextHop: 'fe80::1%eth0', family: Family.FAMILY_IPV6_UNICAST, prefix: '2001:db8::/32' }) }), 'next_hop', /zone id/);
    await invalid(bgp.client.addPath({ path: path({ nextHop: '192.0.2.9\u0000' }) }), 'next_hop', /control character/);
    await invalid(bgp.client.addPath({ path: path({ nextHop: '224.0.0.9' }) }), 'next_hop', /multicast/);
    await invalid(bgp.client.addPath({ path: path({ prefix: 'fe80::%eth0/64', family: Family.FAMILY_IPV6_UNICAST }) }), 'prefix', /./);
    await invalid(bgp.client.addPath({ path: path({ routeTargets: ['0:0'] }) }), 'route_targets[0]', /cannot be 0/);
    await bgp.client.addVrf({ vrf: vrf() });
    await invalid(bgp.client.addVrfPath({ vrf: 'red', path: path({ nextHop: '10.1.0.2%eth1' }), label: 0 }), 'next_hop', /zone id/);
  });

  test('found by the fuzzer: DeletePeer of an unknown peer is NOT_FOUND, not INTERNAL', async () => {
    await assert.rejects(bgp.client.deletePeer({ address: '192.0.2.77' }), (err: { code: number; details: string }) => {
      assert.equal(err.code, status.NOT_FOUND, `${status[err.code]}: ${err.details}`);
      assert.match(err.details, /192\.0\.2\.77/);
      return true;
    });
  });

  test('found by the fuzzer: a 100,000-character prefix or VRF name is refused without echoing it, and the channel goes on', async () => {
    const long = 'x'.repeat(100_000);
    await invalid(bgp.client.deletePath({ family: Family.FAMILY_IPV4_UNICAST, rd: '', prefix: long }, { deadlineMs: 5000 }), 'prefix', /^prefix: 'x{64}…' is not an IP prefix$/);
    await invalid(bgp.client.deleteVrf({ name: long, owner: '' }, { deadlineMs: 5000 }), 'name', /longer than 127/);
    await invalid(bgp.client.addVrf({ vrf: vrf({ name: 'red\u0000' }) }), 'name', /control character/);
    assert.ok(await bgp.client.getGlobal({}, { deadlineMs: 2000 }));
  });
});

test('the config file: neighbours, router id and VRF next hops are checked the same way', () => {
  const configError = (f: () => unknown, where: RegExp) => assert.throws(f, (e: Error) => e instanceof ConfigError && where.test(e.message), where.source);
  configError(() => staticNeighbors([{ address: 'fe80::1%eth0', 'remote-as': 65001 }]), /bgp\.neighbors\[0\]\.address: 'fe80::1%eth0' has a zone id/);
  configError(() => staticNeighbors([{ address: '10.0.0.1\u0000', 'remote-as': 65001 }]), /bgp\.neighbors\[0\]\.address: .*control character/);
  configError(() => staticNeighbors([{ address: '239.0.0.1', 'remote-as': 65001 }]), /bgp\.neighbors\[0\]\.address: .*multicast/);
  configError(() => staticNeighbors([{ address: '10.0.0.1', 'remote-as': 65001, 'local-address': '10.0.0.2%lo' }]), /bgp\.neighbors\[0\]\.local-address: .*zone id/);
  configError(() => staticVrfs([{ name: 'red', rd: '0:0', label: 500 }]), /rd.*cannot be 0/);
  configError(() => staticVrfs([{ name: 'red', rd: '65000:1', label: 500, 'next-hop': '10.0.0.1%eth0' }]), /next-hop.*zone id/);
  const settings = (routerId: string) => loadSettings([...commonSettings, ...bgpSettings], { env: { BGP_ROUTER_ID: routerId } });
  for (const [routerId, why] of [
    ['0.0.0.0', /non-zero dotted quad/],
    ['10.0.0.1%eth0', /non-zero dotted quad/],
    ['224.0.0.1', /multicast address; a BGP identifier is a unicast IPv4 address \(RFC 6286/],
    ['255.255.255.255', /broadcast/],
  ] as const) {
    configError(() => speakerConfig(settings(routerId)), new RegExp(`bgp\\.router-id: .*${why.source}`));
  }
  assert.equal(speakerConfig(settings('10.255.40.1')).routerId, '10.255.40.1');
});
