// The API refuses, naming the field, every address, route distinguisher and
// route target that the reconcile could not use (issue 12 §3): zone ids,
// unspecified, broadcast and multicast router ids and loopbacks, 0:0. REST
// and gRPC share the domain validation, so both are shown here, and nothing
// refused is stored.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Node, Vpn, VpnNodeRole, VpnServiceClient } from '../../services/common/gen/proto/l3vpn/v1/vpn.js';
import { insecure, promiseClient } from '../../services/common/grpc/client.js';
import { pe, siteBody, startVpnHarness, vpnBody, type VpnHarness } from './support.js';

type Problem = { status: number; errors?: { pointer?: string; detail: string }[] };

describe('address, RD and RT validation', () => {
  let h: VpnHarness;

  /** The request is refused with `status`, with an error at `pointer` whose detail matches `detail`. */
  const refused = async (method: string, path: string, body: unknown, want: number, pointer: string, detail: RegExp) => {
    const r = await h.call(method, path, { body });
    const problem = r.body as Problem;
    assert.equal(r.status, want, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    const at = (problem.errors ?? []).filter((e) => e.pointer === `#${pointer}`);
    assert.ok(at.some((e) => detail.test(e.detail)), `an error at #${pointer} matching ${detail}: ${JSON.stringify(problem.errors)}`);
  };

  before(async () => {
    h = await startVpnHarness();
    assert.equal((await h.call('POST', '/v1/nodes', { body: pe('pe1', 1) })).status, 201);
    assert.equal((await h.call('POST', '/v1/nodes', { body: pe('pe2', 2) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('acme', { addressFamilies: ['ipv4', 'ipv6'] }) })).status, 201);
  });
  after(async () => {
    await h?.stop();
  });

  test('a zone id, a NUL byte or a malformed address is 400 naming the field', async () => {
    await refused('POST', '/v1/nodes', pe('z1', 11, { loopback: 'fe80::1%eth0' }), 400, '/loopback', /zone id \('%eth0'\)/);
    await refused('POST', '/v1/nodes', pe('z2', 12, { loopback: '2001:db8::1%2' }), 400, '/loopback', /zone id/);
    await refused('POST', '/v1/nodes', pe('z3', 13, { loopback: '10.0.0.1\u0000' }), 400, '/loopback', /U\+0000|control character/);
    await refused('POST', '/v1/nodes', pe('z4', 14, { routerId: '010.0.0.1' }), 400, '/routerId', /valid ipv4/);
    await refused('POST', '/v1/nodes', pe('z5', 15, { routerId: '2001:db8::1' }), 400, '/routerId', /not an IPv4 address/);
    const site = (extra: object) => siteBody('zs', 'acme', 'pe1', 1, extra);
    await refused('POST', '/v1/sites', site({ ipv6: { peAddress: 'fe80::1%eth1/64', ceAddress: 'fe80::2' } }), 400, '/ipv6/peAddress', /zone id/);
    await refused('POST', '/v1/sites', site({ ipv6: { peAddress: 'fe80::1/64', ceAddress: 'fe80::2%eth1' } }), 400, '/ipv6/ceAddress', /zone id/);
    await refused('POST', '/v1/sites', site({ routing: { static: [{ prefix: '10.9.0.0/16', nextHop: '10.1.0.2%x' }] } }), 400, '/routing/static/0/nextHop', /zone id/);
    await refused('POST', '/v1/sites', site({ routing: { static: [{ prefix: 'fe80::%eth1/64' }] } }), 400, '/routing/static/0/prefix', /zone id/);
    const link = (a: string) => ({ id: 'zl', a: { node: 'pe1', interface: 'eth9', address: a }, b: { node: 'pe2', interface: 'eth9', address: 'fe80::2/64' } });
    await refused('POST', '/v1/links', link('fe80::1%eth9/64'), 400, '/a/address', /zone id/);
  });

  test('unspecified, multicast and broadcast router ids are 422 naming /routerId (RFC 6286)', async () => {
    await refused('POST', '/v1/nodes', pe('r1', 21, { routerId: '0.0.0.0' }), 422, '/routerId', /unspecified address; a BGP identifier is a non-zero unicast IPv4 address \(RFC 6286/);
    await refused('POST', '/v1/nodes', pe('r2', 22, { routerId: '224.0.0.1' }), 422, '/routerId', /multicast/);
    await refused('POST', '/v1/nodes', pe('r3', 23, { routerId: '239.1.2.3', loopback: '10.0.0.23' }), 422, '/routerId', /multicast/);
    await refused('POST', '/v1/nodes', pe('r4', 24, { routerId: '255.255.255.255' }), 422, '/routerId', /broadcast/);
    // Without a loopback the router id is the loopback too, and must also be reachable from the other nodes.
    await refused('POST', '/v1/nodes', pe('r5', 25, { routerId: '127.0.0.1' }), 422, '/routerId', /loopback address .*BGP next hop/);
    await refused('PATCH', '/v1/nodes/pe1', { routerId: '0.0.0.0' }, 422, '/routerId', /unspecified/);
  });

  test('a loopback every other node cannot reach is 422 naming /loopback', async () => {
    for (const [loopback, what] of [
      ['0.0.0.0', /unspecified/],
      ['::', /unspecified/],
      ['224.0.0.5', /multicast/],
      ['ff02::1', /multicast/],
      ['255.255.255.255', /broadcast/],
      ['127.0.0.1', /host loopback/],
      ['::1', /host loopback/],
      ['169.254.0.1', /link-local/],
      ['fe80::1', /link-local/],
      ['::ffff:192.0.2.30', /IPv4-mapped/],
    ] as const) {
      await refused('POST', '/v1/nodes', pe('l1', 30, { loopback }), 422, '/loopback', what);
    }
  });

  test('interface, CE and next-hop addresses must be unicast (422 naming the field)', async () => {
    const site = (extra: object) => siteBody('us', 'acme', 'pe1', 1, extra);
    await refused('POST', '/v1/sites', site({ ipv4: { peAddress: '224.0.0.1/24', ceAddress: '224.0.0.2' } }), 422, '/ipv4/peAddress', /multicast/);
    await refused('POST', '/v1/sites', site({ ipv4: { peAddress: '127.0.0.1/8', ceAddress: '127.0.0.2' } }), 422, '/ipv4/ceAddress', /host loopback/);
    await refused('POST', '/v1/sites', site({ ipv6: { peAddress: '::/127', ceAddress: '::1' } }), 422, '/ipv6/peAddress', /unspecified/);
    await refused('POST', '/v1/sites', site({ routing: { static: [{ prefix: '10.9.0.0/16', nextHop: '0.0.0.0' }] } }), 422, '/routing/static/0/nextHop', /unspecified/);
    const link = { id: 'ul', a: { node: 'pe1', interface: 'eth9', address: '127.0.0.1/30' }, b: { node: 'pe2', interface: 'eth9', address: '127.0.0.2/30' } };
    await refused('POST', '/v1/links', link, 422, '/a/address', /host loopback/);
  });

  test('an RD or RT naming administrator 0 (0:0, 0.0.0.0:0, AS 0) is 400 naming the field', async () => {
    for (const rd of ['0:0', '0.0.0.0:0', '0:7']) {
      await refused('POST', '/v1/vpns', vpnBody('z', { routeDistinguisher: rd }), 400, '/routeDistinguisher', /cannot be 0/);
    }
    await refused('POST', '/v1/vpns', vpnBody('z', { routeTargets: { anyToAny: '0:0' } }), 400, '/routeTargets/anyToAny', /AS 0 is reserved \(RFC 7607\)/);
    await refused('POST', '/v1/vpns', vpnBody('z', { topology: 'hub-spoke', routeTargets: { hub: '0.0.0.0:0' } }), 400, '/routeTargets/hub', /0\.0\.0\.0 is assigned to no one/);
    await refused('POST', '/v1/sites', siteBody('z', 'acme', 'pe1', 1, { siteOfOrigin: '0:0' }), 400, '/siteOfOrigin', /cannot be 0/);
    // A real administrator may use assigned number 0.
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('zero-ok', { routeDistinguisher: '65000:0', routeTargets: { anyToAny: '65000:0' } }) })).status, 201);
  });

  test('nothing refused was stored', async () => {
    const nodes = ((await h.call('GET', '/v1/nodes')).body as { items: { id: string; routerId: string }[] }).items;
    assert.deepEqual(nodes.map((n) => n.id), ['pe1', 'pe2']);
    assert.equal(nodes[0]!.routerId, '192.0.2.1');
    assert.deepEqual(((await h.call('GET', '/v1/vpns')).body as { items: { id: string }[] }).items.map((v) => v.id), ['acme', 'zero-ok']);
    assert.deepEqual(((await h.call('GET', '/v1/sites')).body as { items: unknown[] }).items, []);
    assert.deepEqual(((await h.call('GET', '/v1/links')).body as { items: unknown[] }).items, []);
  });

  test('IPv6 subnets in messages are RFC 5952: the longest run of zeros compressed, not the first', async () => {
    const r = await h.call('POST', '/v1/sites', { body: siteBody('v6', 'acme', 'pe1', 1, { ipv6: { peAddress: '2001:0:0:1::1/64', ceAddress: '2001:db8::2' } }) });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    const errors = (r.body as Problem).errors ?? [];
    assert.deepEqual(errors.map((e) => [e.pointer, e.detail]), [['#/ipv6/ceAddress', 'is not in the PE interface subnet 2001:0:0:1::/64']]);
  });

  test('over gRPC the same refusals are INVALID_ARGUMENT naming the proto field, never INTERNAL', async () => {
    const client = promiseClient(new VpnServiceClient(`127.0.0.1:${h.vpn.grpcPort}`, insecure()));
    const md = new Metadata();
    md.set('authorization', `Bearer ${h.tokens.admin}`);
    const rejects = (p: Promise<unknown>, message: RegExp) =>
      assert.rejects(p, (err: ServiceError) => {
        assert.equal(err.code, status.INVALID_ARGUMENT, `${status[err.code]}: ${err.details}`);
        assert.match(err.details, message);
        return true;
      });
    const node = (routerId: string, loopback = '') => Node.fromPartial({ id: 'g1', role: VpnNodeRole.VPN_NODE_ROLE_PE, routerId, loopback, asNumber: 65000 });
    try {
      await rejects(client.createNode({ node: node('192.0.2.40', 'fe80::1%eth0'), dryRun: false }, { metadata: md }), /^loopback: .*zone id/);
      await rejects(client.createNode({ node: node('192.0.2.40', '10.0.0.40\u0000'), dryRun: false }, { metadata: md }), /^loopback: .*(U\+0000|control character)/);
      await rejects(client.createNode({ node: node('0.0.0.0'), dryRun: false }, { metadata: md }), /^router_id: .*unspecified/);
      await rejects(client.createNode({ node: node('224.0.0.1'), dryRun: false }, { metadata: md }), /^router_id: .*multicast/);
      await rejects(client.createNode({ node: node('255.255.255.255'), dryRun: true }, { metadata: md }), /^router_id: .*broadcast/);
      await rejects(client.createNode({ node: node('192.0.2.40', '::'), dryRun: false }, { metadata: md }), /^loopback: .*unspecified/);
      await rejects(client.createVpn({ vpn: Vpn.fromPartial({ id: 'g', customer: 'acme', routeDistinguisher: '0:0' }), dryRun: false }, { metadata: md }), /^route_distinguisher: .*cannot be 0/);
      await rejects(
        client.createVpn({ vpn: Vpn.fromPartial({ id: 'g', customer: 'acme', routeTargets: { anyToAny: '0.0.0.0:0', hub: '', spoke: '' } }), dryRun: false }, { metadata: md }),
        /^route_targets\.any_to_any: .*cannot be 0/,
      );
    } finally {
      client.close();
    }
    assert.equal((await h.call('GET', '/v1/nodes/g1')).status, 404);
  });
});
