// The PE-CE BGP punt flows of an attachment (pipeline.ts): only the listed
// sessions' TCP, tagged attachments popped on the way in and tagged again
// on the way out, every flow owned by its VRF. Real packets through them:
// test/agent/ce-bgp-relay.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VrfInstance } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { bytesUint, flowText, OxmField } from './ovs/openflow.js';
import { DEFAULT_TABLES, flowOwner, type PipelineContext, vrfFlows } from './ovs/pipeline.js';

const red: VrfInstance = {
  name: 'red',
  tableId: 1001,
  rd: '65000:1',
  importRouteTargets: [],
  exportRouteTargets: [],
  vpn: 'red',
  interfaces: [
    {
      name: 'cust0',
      vlan: 100,
      addresses: ['192.168.1.1/30', '2001:db8:1::1/64'],
      bgpSessions: [
        { ceAddress: '192.168.1.2', peAddress: '192.168.1.1' },
        { ceAddress: '2001:db8:1::2', peAddress: '2001:db8:1::1' },
      ],
    },
  ],
};

const ctx = (punt?: number): PipelineContext => ({
  port: (n) => (n === 'cust0' ? 2 : undefined),
  mac: () => Uint8Array.of(2, 0, 0, 0, 0, 0xaa),
  vrfTable: (n) => (n === 'red' ? 1001 : undefined),
  puntPort: (vrf, iface, vlan) => (vrf === 'red' && iface === 'cust0' && vlan === 100 ? punt : undefined),
});

test('ovs punt flows: listed (CE -> PE:179) in from the tagged attachment, popped, to the punt port; (PE:179 -> CE) from the punt port, tagged, through the neighbour table; owned by the VRF', () => {
  const flows = vrfFlows(red, ctx(7), DEFAULT_TABLES);
  const punt = flows.filter((f) => f.priority === 130);
  assert.equal(punt.length, 4, 'two sessions, a flow each way');
  const inPort = (f: (typeof punt)[number]) => Number(bytesUint(f.match.find((m) => m.field === OxmField.IN_PORT)!.value));
  const actions = (f: (typeof punt)[number]) => f.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : []));
  const inbound = punt.filter((f) => inPort(f) === 2);
  const outbound = punt.filter((f) => inPort(f) === 7);
  assert.deepEqual([inbound.length, outbound.length], [2, 2]);
  for (const f of inbound) {
    assert.deepEqual(actions(f).map((a) => a.type), ['pop_vlan', 'output'], flowText(f));
    assert.deepEqual(actions(f)[1], { type: 'output', port: 7 });
    assert.ok(f.match.some((m) => m.field === OxmField.VLAN_VID), 'only from the attachment\u2019s VLAN');
  }
  for (const f of outbound) {
    assert.ok(actions(f).some((a) => a.type === 'push_vlan'), flowText(f));
    assert.ok(f.instructions.some((i) => i.type === 'goto_table' && i.table === DEFAULT_TABLES.neigh), 'the CE\u2019s learnt MAC and port');
  }
  // Every punt flow belongs to the VRF's entry (read() attributes them, deletes them with it).
  for (const f of punt) assert.equal(flowOwner(f, DEFAULT_TABLES, (id) => (id === 1001 ? 'red' : '?')), 'vrf:red');
  // Nothing to a port other than 179, nothing from another source.
  assert.equal(punt.filter((f) => f.match.some((m) => m.field === OxmField.TCP_DST && m.value[0] === 0 && m.value[1] === 179)).length, 2, 'tcp_dst=179 on the way in');
  assert.equal(punt.filter((f) => f.match.some((m) => m.field === OxmField.TCP_SRC && m.value[0] === 0 && m.value[1] === 179)).length, 2, 'tcp_src=179 on the way out');
  // No punt port (yet, or its setup failed): the attachment's other flows, and no punt flow.
  const without = vrfFlows(red, ctx(undefined), DEFAULT_TABLES);
  assert.equal(without.filter((f) => f.priority === 130).length, 0);
  assert.equal(without.length, flows.length - 4);
});
