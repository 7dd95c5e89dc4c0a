// The Open vSwitch (Nicira) extension actions and fields the ARP and ND
// responders and the neighbour table need, encoded for OpenFlow 1.3 the way ovs-vswitchd hands
// them back in flow stats (so an installed flow compares equal to the one
// sent): NXAST_REG_MOVE (copy bits between fields) and NXAST_LEARN (a
// packet installs a flow). Field headers are NXM/OXM headers
// (class << 16 | field << 9 | hasmask << 8 | length). Pure.
import type { Action, Oxm } from './openflow.js';

const NX_VENDOR = 0x00002320;
const NXAST_REG_MOVE = 6;
const NXAST_LEARN = 16;

/** A field as the extensions name it: header and width in bits. */
export interface NxField {
  header: number;
  bits: number;
}

const field = (cls: number, n: number, bytes: number): NxField => ({ header: ((cls << 16) | (n << 9) | bytes) >>> 0, bits: bytes * 8 });

/** The headers Open vSwitch 3.1 hands back in OpenFlow 1.3: NXM where the field has one, OXM otherwise. */
export const NxFields = {
  IN_PORT: field(0x0000, 0, 2),
  ETH_DST: field(0x0000, 1, 6),
  ETH_SRC: field(0x0000, 2, 6),
  ETH_TYPE: field(0x0000, 3, 2),
  IPV4_DST: field(0x0000, 8, 4),
  ARP_SPA: field(0x0000, 16, 4),
  ARP_TPA: field(0x0000, 17, 4),
  ARP_SHA: field(0x0001, 17, 6),
  ARP_THA: field(0x0001, 18, 6),
  REG0: field(0x0001, 0, 4),
  IPV6_SRC: field(0x0001, 19, 16),
  IPV6_DST: field(0x0001, 20, 16),
  ND_TARGET: field(0x0001, 23, 16),
  /** The 128-bit register over reg0..reg3 (reg0 the most significant): an IPv6 next hop. */
  XXREG0: field(0x0001, 111, 16),
  METADATA: field(0x8000, 2, 8),
} as const;

/** reg0 as a match field or set-field target (class NXM_1, no OXM of its own). */
export function reg0(value: number): Oxm {
  return { cls: 0x0001, field: 0, value: Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff) };
}

/** xxreg0 (reg0..reg3, NXM_NX_XXREG0) as a set-field target: an IPv6 next hop. */
export function xxreg0(value: Uint8Array): Oxm {
  return { cls: 0x0001, field: 111, value };
}

/** The IP TTL / hop limit as a match field (NXM_NX_IP_TTL: OpenFlow 1.3 has no OXM for it). */
export function ipTtl(value: number): Oxm {
  return { cls: 0x0001, field: 29, value: Uint8Array.of(value) };
}

/**
 * The ND fields Open vSwitch 2.11+ adds in the ERICOXM_OF class (0x1000): the 32-bit
 * flags/reserved word of NS/NA (RFC 4861 §4.3, §4.4) and the type of the
 * first option, so that a solicitation can be turned into an advertisement.
 */
const ericsson = (n: number, value: Uint8Array): Oxm => ({ cls: 0x1000, field: n, value });
export const ndReserved = (flags: number): Oxm => ericsson(1, Uint8Array.of(flags >>> 24, (flags >>> 16) & 0xff, (flags >>> 8) & 0xff, flags & 0xff));
export const ndOptionsType = (type: number): Oxm => ericsson(2, Uint8Array.of(type));

class Bytes {
  readonly out: number[] = [];
  u8(v: number): this {
    this.out.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }
  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }
  raw(b: Uint8Array): this {
    for (const x of b) this.out.push(x);
    return this;
  }
  /** Body of an experimenter action: zero-padded so that 4 (type, len) + body is a multiple of 8. */
  action(): Action {
    while ((this.out.length + 4) % 8) this.out.push(0);
    return { type: 'other', code: 0xffff, body: Uint8Array.from(this.out) };
  }
}

/** Copies the whole of `src` into the whole of `dst` (same width). */
export function move(src: NxField, dst: NxField): Action {
  if (src.bits !== dst.bits) throw new Error('move between fields of different widths');
  return new Bytes().u32(NX_VENDOR).u16(NXAST_REG_MOVE).u16(src.bits).u16(0).u16(0).u32(src.header).u32(dst.header).action();
}

/** One spec of a learned flow: its match or action, from a field of the packet or a constant. */
export type LearnSpec =
  | { kind: 'match'; dst: NxField; from: NxField }
  | { kind: 'match'; dst: NxField; value: Uint8Array }
  | { kind: 'load'; dst: NxField; from: NxField }
  | { kind: 'output'; from: NxField };

export interface Learn {
  table: number;
  priority: number;
  cookie: bigint;
  idleTimeout?: number;
  hardTimeout?: number;
  specs: LearnSpec[];
}

/** NXAST_LEARN: adds (or replaces) a flow built from the packet being processed. */
export function learn(l: Learn): Action {
  const b = new Bytes().u32(NX_VENDOR).u16(NXAST_LEARN);
  b.u16(l.idleTimeout ?? 0).u16(l.hardTimeout ?? 0).u16(l.priority);
  b.u32(Number(l.cookie >> 32n)).u32(Number(l.cookie & 0xffffffffn));
  b.u16(0).u8(l.table).u8(0).u16(0).u16(0); // flags, table, pad, fin timeouts
  for (const s of l.specs) {
    const dstType = s.kind === 'match' ? 0 : s.kind === 'load' ? 1 : 2;
    const bits = s.kind === 'output' ? s.from.bits : s.dst.bits;
    const immediate = 'value' in s;
    b.u16((immediate ? 1 << 13 : 0) | (dstType << 11) | bits);
    if (immediate) {
      // Immediate values take whole 16-bit units, right-aligned.
      const size = Math.ceil(bits / 16) * 2;
      b.raw(new Uint8Array(size - s.value.length)).raw(s.value);
    } else b.u32(s.from.header).u16(0);
    if (s.kind !== 'output') b.u32(s.dst.header).u16(0);
  }
  return b.action();
}

/**
 * Sets the packet's 16-bit NXM in_port to 0 (no port), as Open vSwitch
 * hands it back: an output to the port the packet came in on is then sent,
 * not dropped (OpenFlow 1.3.5 §7.2.5 needs OFPP_IN_PORT for that). The
 * OpenFlow 1.3 OXM in_port cannot take 0.
 */
export const clearInPort = (): Action => ({ type: 'set_field', field: { cls: 0x0000, field: 0, value: new Uint8Array(2) } });
