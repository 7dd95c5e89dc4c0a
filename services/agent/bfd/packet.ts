// BFD Control packets (RFC 5880 §4.1), without authentication. Pure: bytes
// in, bytes out; decoding never throws, it says why a packet is discarded
// (the reception checks of §6.8.6 that need no session).

/** §4.1 State (Sta) field. */
export const enum BfdState {
  ADMIN_DOWN = 0,
  DOWN = 1,
  INIT = 2,
  UP = 3,
}

export const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;

/** §4.1 Diagnostic codes. */
export const enum BfdDiag {
  NONE = 0,
  CONTROL_DETECTION_TIME_EXPIRED = 1,
  ECHO_FAILED = 2,
  NEIGHBOR_SIGNALED_DOWN = 3,
  FORWARDING_PLANE_RESET = 4,
  PATH_DOWN = 5,
  CONCATENATED_PATH_DOWN = 6,
  ADMINISTRATIVELY_DOWN = 7,
  REVERSE_CONCATENATED_PATH_DOWN = 8,
}

export const DIAG_TEXT: Record<number, string> = {
  0: 'no diagnostic',
  1: 'control detection time expired',
  2: 'echo function failed',
  3: 'neighbor signaled session down',
  4: 'forwarding plane reset',
  5: 'path down',
  6: 'concatenated path down',
  7: 'administratively down',
  8: 'reverse concatenated path down',
};

export interface BfdControl {
  diag: BfdDiag;
  state: BfdState;
  poll: boolean;
  final: boolean;
  /** Control plane independent (C). */
  cpi: boolean;
  demand: boolean;
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  /** Microseconds. */
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  requiredMinEchoRxUs: number;
}

export const BFD_VERSION = 1;
const LENGTH = 24;

export function encodeControl(p: BfdControl): Uint8Array {
  const b = new Uint8Array(LENGTH);
  const v = new DataView(b.buffer);
  v.setUint8(0, (BFD_VERSION << 5) | (p.diag & 0x1f));
  v.setUint8(1, ((p.state & 3) << 6) | (p.poll ? 0x20 : 0) | (p.final ? 0x10 : 0) | (p.cpi ? 0x08 : 0) | (p.demand ? 0x02 : 0));
  v.setUint8(2, p.detectMult);
  v.setUint8(3, LENGTH);
  v.setUint32(4, p.myDiscriminator >>> 0);
  v.setUint32(8, p.yourDiscriminator >>> 0);
  v.setUint32(12, p.desiredMinTxUs >>> 0);
  v.setUint32(16, p.requiredMinRxUs >>> 0);
  v.setUint32(20, p.requiredMinEchoRxUs >>> 0);
  return b;
}

export type Decoded = { ok: true; packet: BfdControl } | { ok: false; reason: string };

/** Decodes a Control packet and applies the session-independent checks of §6.8.6. */
export function decodeControl(b: Uint8Array): Decoded {
  if (b.length < LENGTH) return { ok: false, reason: `${b.length} bytes, shorter than a Control packet` };
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = v.getUint8(0) >> 5;
  if (version !== BFD_VERSION) return { ok: false, reason: `version ${version}` };
  const flags = v.getUint8(1);
  const length = v.getUint8(3);
  const auth = (flags & 0x04) !== 0;
  if (length < (auth ? 26 : LENGTH) || length > b.length) return { ok: false, reason: `length field ${length} for ${b.length} bytes` };
  // No authentication is configured here: a packet with A set is discarded (§6.8.6).
  if (auth) return { ok: false, reason: 'authenticated packet, no authentication configured' };
  const detectMult = v.getUint8(2);
  if (detectMult === 0) return { ok: false, reason: 'detect multiplier 0' };
  if (flags & 0x01) return { ok: false, reason: 'multipoint bit set' };
  const myDiscriminator = v.getUint32(4);
  if (myDiscriminator === 0) return { ok: false, reason: 'my discriminator 0' };
  const state = (flags >> 6) as BfdState;
  const yourDiscriminator = v.getUint32(8);
  if (yourDiscriminator === 0 && state !== BfdState.DOWN && state !== BfdState.ADMIN_DOWN) {
    return { ok: false, reason: 'your discriminator 0 in state other than Down/AdminDown' };
  }
  const poll = (flags & 0x20) !== 0;
  const final = (flags & 0x10) !== 0;
  if (poll && final) return { ok: false, reason: 'poll and final both set' };
  return {
    ok: true,
    packet: {
      diag: (v.getUint8(0) & 0x1f) as BfdDiag,
      state,
      poll,
      final,
      cpi: (flags & 0x08) !== 0,
      demand: (flags & 0x02) !== 0,
      detectMult,
      myDiscriminator,
      yourDiscriminator,
      desiredMinTxUs: v.getUint32(12),
      requiredMinRxUs: v.getUint32(16),
      requiredMinEchoRxUs: v.getUint32(20),
    },
  };
}
