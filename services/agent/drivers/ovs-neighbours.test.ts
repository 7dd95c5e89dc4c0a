import { test } from 'node:test';
import assert from 'node:assert/strict';
import { icmpv6Checksum, NeighbourResolver, neighbourKeyOf, neighborSolicitation } from './ovs/neighbours.js';
import { parseAddress } from '../../common/desired-state/prefix.js';
import type { Action } from './ovs/openflow.js';

const mac = Uint8Array.of(0x02, 0, 0, 0, 0, 0x01);
const bytes = (a: string) => parseAddress(a)!.bytes;

test('neighbours: a Neighbor Solicitation (RFC 4861 §4.3) to the solicited-node group, hop limit 255, SLL option, valid checksum', () => {
  const f = neighborSolicitation(mac, 7, bytes('2001:db8:1::1'), bytes('2001:db8:1::12:3456'));
  const v = new DataView(f.buffer);
  assert.deepEqual([...f.subarray(0, 6)], [0x33, 0x33, 0xff, 0x12, 0x34, 0x56], 'RFC 2464 §7 multicast MAC');
  assert.equal(v.getUint16(12), 0x8100);
  assert.equal(v.getUint16(14) & 0x0fff, 7);
  assert.equal(v.getUint16(16), 0x86dd);
  const ip = 18;
  assert.equal(f[ip]! >> 4, 6);
  assert.equal(v.getUint16(ip + 4), 32, 'payload: 24-byte NS + 8-byte option');
  assert.deepEqual([f[ip + 6], f[ip + 7]], [58, 255]);
  assert.deepEqual([...f.subarray(ip + 24, ip + 40)], [...bytes('ff02::1:ff12:3456')], 'RFC 4291 §2.7.1 solicited-node address');
  const icmp = f.subarray(ip + 40);
  assert.deepEqual([icmp[0], icmp[1]], [135, 0]);
  assert.deepEqual([...icmp.subarray(8, 24)], [...bytes('2001:db8:1::12:3456')]);
  assert.deepEqual([...icmp.subarray(24, 32)], [1, 1, ...mac], 'Source Link-Layer Address option');
  // A message with its checksum in place sums to zero (RFC 1071).
  const zeroed = Uint8Array.from(icmp);
  zeroed[2] = zeroed[3] = 0;
  assert.equal(icmpv6Checksum(bytes('2001:db8:1::1'), bytes('ff02::1:ff12:3456'), zeroed), v.getUint16(ip + 40 + 2));
  assert.equal(icmpv6Checksum(bytes('2001:db8:1::1'), bytes('ff02::1:ff12:3456'), icmp), 0);
});

test('neighbours: the resolver asks IPv6 CE next hops by ND from the attachment address on their subnet, IPv4 ones by ARP', () => {
  const sent: { actions: Action[]; frame: Uint8Array }[] = [];
  let now = 0;
  const r = new NeighbourResolver({ port: () => ({ port: 5, mac }), send: (actions, frame) => sent.push({ actions, frame }) }, () => now);
  const vrf = { name: 'red', tableId: 1001, rd: '', importRouteTargets: [], exportRouteTargets: [], vpn: 'red', interfaces: [{ name: 'red0', vlan: 0, addresses: ['192.168.1.1/30', '2001:db8:1::1/64'], bgpSessions: [] }] };
  const v6 = { vrf, nextHop: { interface: 'red0', vlan: 0, address: '2001:db8:1::2' } };
  const v4 = { vrf, nextHop: { interface: 'red0', vlan: 0, address: '192.168.1.2' } };
  r.resolve([v6, v4]);
  assert.equal(sent.length, 2);
  assert.equal(new DataView(sent[0]!.frame.buffer).getUint16(12), 0x86dd);
  assert.deepEqual([...sent[0]!.frame.subarray(22, 38)], [...bytes('2001:db8:1::1')], 'from the PE address on the CE subnet');
  assert.equal(new DataView(sent[1]!.frame.buffer).getUint16(12), 0x0806);
  // Learnt (known) or asked less than a second ago: not asked again.
  r.resolve([v6], new Set([neighbourKeyOf(v6)!]));
  r.resolve([v4]);
  assert.equal(sent.length, 2);
  now += 1000;
  r.resolve([v6, v4]);
  assert.equal(sent.length, 4);
  assert.notEqual(neighbourKeyOf(v6), neighbourKeyOf({ ...v6, vrf: { ...vrf, tableId: 1002 } }), 'keys are per VRF');
});
