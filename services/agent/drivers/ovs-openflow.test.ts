import { test } from 'node:test';
import { decodeUdpFrame, encodeUdpFrame } from './ovs/udp-frame.js';
import assert from 'node:assert/strict';
import {
  bundleAdd,
  bundleControl,
  BundleCtrl,
  decodeError,
  decodeFlowStats,
  decodeHeader,
  decodeMultipart,
  decodePortDescs,
  decodePortStatus,
  PortReason,
  flowMod,
  FlowModCommand,
  flowText,
  type Instruction,
  MsgType,
  oxm,
  OxmField,
} from './ovs/openflow.js';

const instructions: Instruction[] = [
  { type: 'apply_actions', actions: [{ type: 'push_mpls', ethertype: 0x8847 }, { type: 'set_field', field: oxm(OxmField.MPLS_LABEL, 200) }, { type: 'output', port: 2 }] },
  { type: 'write_metadata', metadata: 1001n, mask: (1n << 64n) - 1n },
  { type: 'goto_table', table: 2 },
];
const match = [oxm(OxmField.METADATA, 1001n), oxm(OxmField.ETH_TYPE, 0x0800), oxm(OxmField.IPV4_DST, 0x0a020000, 0xffff0000)];

test('openflow: FLOW_MOD layout (OpenFlow 1.3.5 §7.3.4.1): header, 8-byte aligned match, instructions', () => {
  const msg = flowMod(7, { cookie: 0x4c33n << 48n, cookieMask: 0n, table: 2, command: FlowModCommand.ADD, priority: 1016, match, instructions });
  const h = decodeHeader(msg);
  assert.deepEqual(h, { version: 4, type: MsgType.FLOW_MOD, length: msg.length, xid: 7 });
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  assert.equal(v.getBigUint64(8), 0x4c33n << 48n);
  assert.equal(v.getUint8(24), 2); // table
  assert.equal(v.getUint16(30), 1016); // priority
  assert.equal(v.getUint16(48), 1); // OFPMT_OXM
  const matchLen = v.getUint16(50); // 4 + (4+8) + (4+2) + (4+4+4)
  assert.equal(matchLen, 34);
  assert.equal(msg.length % 8, 0);
  // The first OXM: OPENFLOW_BASIC, METADATA, no mask, 8 bytes.
  assert.deepEqual([...msg.subarray(52, 56)], [0x80, 0x00, OxmField.METADATA << 1, 8]);
  // ipv4_dst with its mask: has-mask bit and length 8.
  assert.deepEqual([...msg.subarray(70, 74)], [0x80, 0x00, (OxmField.IPV4_DST << 1) | 1, 8]);
});

test('openflow: flow stats decode what flow mods encode (match fields in any order compare equal)', () => {
  // A flow stats entry built the way a switch sends it: the flow mod's match and instructions behind the stats header.
  const msg = flowMod(1, { cookie: 5n, cookieMask: 0n, table: 2, command: FlowModCommand.ADD, priority: 1016, match, instructions });
  const body = msg.subarray(48);
  const entry = new Uint8Array(48 + body.length);
  const v = new DataView(entry.buffer);
  v.setUint16(0, entry.length);
  v.setUint8(2, 2);
  v.setUint16(12, 1016);
  v.setBigUint64(24, 5n);
  v.setBigUint64(32, 9n);
  entry.set(body, 48);
  const [f] = decodeFlowStats(entry);
  assert.ok(f);
  assert.deepEqual([f.table, f.priority, f.cookie, f.packets], [2, 1016, 5n, 9n]);
  assert.deepEqual(f.instructions, instructions);
  assert.equal(flowText(f), flowText({ table: 2, priority: 1016, match: [...match].reverse(), instructions }));
  assert.notEqual(flowText(f), flowText({ table: 2, priority: 1016, match, instructions: instructions.slice(1) }));
});

test('openflow: ONF bundle messages (EXT-230) carry the inner message with the same xid', () => {
  const open = bundleControl(3, 9, BundleCtrl.OPEN_REQUEST, 3);
  assert.equal(open.length, 24);
  assert.deepEqual(decodeHeader(open), { version: 4, type: MsgType.EXPERIMENTER, length: 24, xid: 3 });
  const v = new DataView(open.buffer, open.byteOffset);
  assert.deepEqual([v.getUint32(8), v.getUint32(12), v.getUint32(16), v.getUint16(20), v.getUint16(22)], [0x4f4e4600, 2300, 9, 0, 3]);
  const inner = flowMod(4, { cookie: 0n, cookieMask: 0n, table: 0, command: FlowModCommand.DELETE_STRICT, priority: 1, match: [], instructions: [] });
  const add = bundleAdd(4, 9, 3, inner);
  assert.equal(add.length, 24 + inner.length);
  assert.deepEqual(add.subarray(24), inner);
});

test('openflow: ERROR, multipart and port descriptions decode', () => {
  const err = Uint8Array.from([4, 1, 0, 20, 0, 0, 0, 42, 0, 5, 0, 2, 4, 14, 0, 8, 0, 0, 0, 42]);
  assert.deepEqual(decodeError(err), { type: 5, code: 2, data: Uint8Array.from([4, 14, 0, 8, 0, 0, 0, 42]) });
  const port = new Uint8Array(64);
  new DataView(port.buffer).setUint32(0, 3);
  port.set([2, 0, 0, 0, 0, 7], 8);
  port.set(Buffer.from('pe1-core0'), 16);
  const reply = new Uint8Array(16 + 64);
  const rv = new DataView(reply.buffer);
  reply.set([4, MsgType.MULTIPART_REPLY]);
  rv.setUint16(2, reply.length);
  rv.setUint16(8, 13);
  rv.setUint16(10, 1);
  reply.set(port, 16);
  const mp = decodeMultipart(reply);
  assert.deepEqual([mp.type, mp.more], [13, true]);
  assert.deepEqual(decodePortDescs(mp.body), [{ port: 3, mac: Uint8Array.of(2, 0, 0, 0, 0, 7), name: 'pe1-core0', adminDown: false, linkDown: false }]);
  // §7.2.1 config OFPPC_PORT_DOWN and state OFPPS_LINK_DOWN; a PORT_STATUS (§7.4.3) carries the same ofp_port.
  new DataView(port.buffer).setUint32(32, 1);
  new DataView(port.buffer).setUint32(36, 1);
  const status = new Uint8Array(16 + 64);
  status.set([4, MsgType.PORT_STATUS]);
  new DataView(status.buffer).setUint16(2, status.length);
  status[8] = PortReason.MODIFY;
  status.set(port, 16);
  assert.deepEqual(decodePortStatus(status), {
    reason: PortReason.MODIFY,
    port: { port: 3, mac: Uint8Array.of(2, 0, 0, 0, 0, 7), name: 'pe1-core0', adminDown: true, linkDown: true },
  });
});

test('udp frames: what encodeUdpFrame builds decodes back, with valid IPv4 and UDP checksums', () => {
  const f = {
    srcMac: Uint8Array.of(2, 0, 0, 0, 0, 1),
    dstMac: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    source: '10.0.0.0',
    destination: '10.0.0.1',
    ttl: 255,
    sourcePort: 49152,
    destinationPort: 3784,
    payload: Uint8Array.of(0x20, 0x40, 3, 24),
  };
  const b = encodeUdpFrame(f);
  assert.deepEqual(decodeUdpFrame(b), f);
  const sum = (from: number, to: number, initial = 0) => {
    let s = initial;
    for (let i = from; i < to; i += 2) s += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };
  assert.equal(sum(14, 34), 0xffff, 'IPv4 header checksum');
  const udpLength = b.length - 34;
  assert.equal(sum(34, b.length, sum(26, 34) + 17 + udpLength), 0xffff, 'UDP checksum with the pseudo-header');
  assert.equal(decodeUdpFrame(b.subarray(0, 30)), undefined, 'short frames are not datagrams');
});
