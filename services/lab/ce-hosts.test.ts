import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../common/logger.js';
import type { CeAddressing } from './ce-addressing.js';
import { ceAssignments, CeHostKeeper, type CeHostNetwork } from './ce-hosts.js';
import type { CeHost } from './ovs-network.js';
import type { RestClient } from './rest-client.js';

const ces: CeHost[] = [
  { node: 'pe1', port: 'ce1', namespace: 'l3lab-pe1-ce1' },
  { node: 'pe1', port: 'ce2', namespace: 'l3lab-pe1-ce2' },
  { node: 'pe2', port: 'ce1', namespace: 'l3lab-pe2-ce1' },
];
const site = (id: string, node: string, port: string, n: number, extra: object = {}) => ({
  id,
  node,
  interface: port,
  ipv4: { peAddress: `192.168.${n}.1/30`, ceAddress: `192.168.${n}.2` },
  routing: { static: [{ prefix: `10.${n}.0.0/16` }] },
  ...extra,
});

test("each CE host gets the addressing of the untagged IPv4 site on its port; the others get none", () => {
  const a = ceAssignments([site('a', 'pe1', 'ce1', 1), site('b', 'pe1', 'ce2', 2, { vlan: 100 }), site('c', 'pe9', 'ce1', 3)], ces);
  assert.deepEqual([...a.keys()], ces.map((c) => c.namespace));
  assert.deepEqual(a.get('l3lab-pe1-ce1'), { address: '192.168.1.2/30', gateway: '192.168.1.1', loopbacks: ['10.1.0.1'] });
  assert.equal(a.get('l3lab-pe1-ce2'), undefined, 'a VLAN site is not on the untagged CE host');
  assert.equal(a.get('l3lab-pe2-ce1'), undefined);
});

test('the keeper addresses CE hosts as sites appear, change and go, and touches an unchanged one once', async () => {
  let sites: Record<string, unknown>[] = [site('a', 'pe1', 'ce1', 1)];
  const calls: string[] = [];
  const network: CeHostNetwork = {
    ces,
    addressCe: async (ce: CeHost, a: CeAddressing) => void calls.push(`address ${ce.namespace} ${a.address}`),
    unaddressCe: async (ce: CeHost) => void calls.push(`clear ${ce.namespace}`),
  };
  const rest = { list: async () => sites } as unknown as RestClient;
  const keeper = new CeHostKeeper(rest, network, createLogger('test', 'silent'));
  await keeper.sync();
  await keeper.sync();
  assert.deepEqual(calls, ['address l3lab-pe1-ce1 192.168.1.2/30']);
  sites = [site('a', 'pe1', 'ce1', 5), site('b', 'pe2', 'ce1', 2)];
  await keeper.sync();
  assert.deepEqual(calls.slice(1), ['address l3lab-pe1-ce1 192.168.5.2/30', 'address l3lab-pe2-ce1 192.168.2.2/30']);
  sites = [site('b', 'pe2', 'ce1', 2)];
  await keeper.sync();
  assert.deepEqual(calls.slice(3), ['clear l3lab-pe1-ce1'], 'a deleted site takes its addresses away; a host never addressed is left alone');
  assert.equal((await keeper.connect(site('c', 'pe1', 'ce2', 7)))?.namespace, 'l3lab-pe1-ce2');
  assert.deepEqual(calls.slice(4), ['address l3lab-pe1-ce2 192.168.7.2/30']);
  await keeper.stop();
});
