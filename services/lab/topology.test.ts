import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { projectRoot } from '../common/project-root.js';
import { ceAddressingOf, firstHost } from './ce-addressing.js';
import { coreInterfaces, linkAddresses, loadTopology, parseTopology, TopologyError } from './topology.js';

const minimal = () => ({
  nodes: [
    { id: 'pe1', role: 'PE', 'router-id': '10.255.0.1', 'sid-index': 1, 'ce-ports': ['ce1'] },
    { id: 'p1', role: 'P', 'router-id': '10.255.0.11', 'sid-index': 11 },
  ],
  links: [{ a: 'pe1', b: 'p1' }],
  bgp: { address: '127.0.30.1' },
});

test('the default lab topology: three PEs, two Ps, an external gobgp PE and a sample VPN with a site per PE', () => {
  const t = loadTopology(join(projectRoot(), 'lab', 'topology.yaml'));
  assert.deepEqual(t.nodes.map((n) => `${n.id}:${n.role}`), ['pe1:PE', 'pe2:PE', 'pe3:PE', 'p1:P', 'p2:P']);
  assert.equal(t.external?.kind, 'gobgp');
  assert.deepEqual(t.sample.sites.map((s) => s.node), ['pe1', 'pe2', 'pe3']);
  assert.ok(t.links.every((l) => l.metric > 0));
});

test('defaults: AS 65000, metric 10, no sample', () => {
  const t = parseTopology(minimal());
  assert.equal(t.as, 65000);
  assert.equal(t.links[0]!.metric, 10);
  assert.deepEqual(t.sample, { vpns: [], sites: [] });
  assert.deepEqual(t.nodes[1]!.cePorts, []);
});

test('mistakes are named by where they are', () => {
  const bad = (mutate: (d: any) => void, message: RegExp) => {
    const d = minimal();
    mutate(d);
    assert.throws(() => parseTopology(d), (err: Error) => err instanceof TopologyError && message.test(err.message));
  };
  bad((d) => (d.links[0].b = 'p9'), /links\[0\]: no node 'p9'/);
  bad((d) => d.nodes.push({ ...d.nodes[0] }), /node 'pe1' is listed twice/);
  bad((d) => (d.nodes[1]['ce-ports'] = ['ce1']), /nodes\[1\]: a P node has no CE ports/);
  bad((d) => (d.nodes[0]['router-id'] = '10.255.0'), /nodes\[0\]\.router-id: expected an IPv4 address/);
  bad((d) => (d.nodes[0]['ce-ports'] = ['a-very-long-port']), /not a port name of at most 8/);
  bad((d) => (d.nodes = [d.nodes[1]]), /at least one PE/);
  bad((d) => (d.external = { kind: 'frr', address: '127.0.30.2' }), /external\.kind: expected 'gobgp'/);
});

test('core interfaces are numbered per node in link order, with /31s from 10.0.0.0/16', () => {
  const t = parseTopology({ ...minimal(), links: [{ a: 'pe1', b: 'p1' }, { a: 'p1', b: 'pe1', metric: 20 }] });
  assert.deepEqual(coreInterfaces(t), [
    { a: 'core0', b: 'core0' },
    { a: 'core1', b: 'core1' },
  ]);
  assert.deepEqual(linkAddresses(0), { a: '10.0.0.0/31', b: '10.0.0.1/31' });
  assert.deepEqual(linkAddresses(200), { a: '10.0.1.144/31', b: '10.0.1.145/31' });
});

test("a CE host's addressing comes from its site: attachment, gateway, one address per static IPv4 prefix", () => {
  assert.deepEqual(
    ceAddressingOf({ ipv4: { peAddress: '192.168.1.1/30', ceAddress: '192.168.1.2' }, routing: { static: [{ prefix: '10.1.0.0/16' }, { prefix: '2001:db8::/32' }, { prefix: '10.9.9.9/32' }] } }),
    { address: '192.168.1.2/30', gateway: '192.168.1.1', loopbacks: ['10.1.0.1', '10.9.9.9'] },
  );
  assert.equal(ceAddressingOf({ ipv6: { peAddress: '2001:db8::1/64', ceAddress: '2001:db8::2' } }), undefined);
  assert.deepEqual(ceAddressingOf({ ipv4: { peAddress: '192.168.1.1/30', ceAddress: '192.168.1.2' }, ipv6: { peAddress: 'fd00:1::1/64', ceAddress: 'fd00:1::2' } }), {
    address: '192.168.1.2/30',
    gateway: '192.168.1.1',
    loopbacks: [],
    ipv6: { address: 'fd00:1::2/64', gateway: 'fd00:1::1' },
  });
  assert.equal(firstHost('10.255.255.0/24'), '10.255.255.1');
});
