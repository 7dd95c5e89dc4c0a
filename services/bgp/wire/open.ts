// OPEN message (RFC 4271 §4.2, §6.2) with capabilities as optional
// parameters (RFC 5492) and the RFC 9072 extended parameters length.
import { bgpError, BgpError } from './notification.js';
import { Capability, decodeCapabilities, encodeCapability } from './capabilities.js';
import { AS_TRANS, BGP_VERSION, ErrorCode, MessageType, OpenSubcode, OptionalParameterType } from './constants.js';
import { encodeMessage } from './header.js';
import { formatIpv4At, parseIpv4, readUint16, readUint32, writeUint16, writeUint32 } from './ip.js';

export interface OpenMessage {
  readonly type: 'open';
  readonly version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS when the real AS needs 4 octets). */
  readonly myAs: number;
  readonly holdTime: number;
  readonly bgpId: string;
  readonly capabilities: readonly Capability[];
}

export interface OpenSpec {
  /** The real AS; written as AS_TRANS in the 2-octet field when above 65535. */
  readonly as: number;
  readonly holdTime: number;
  readonly bgpId: string;
  readonly capabilities: readonly Capability[];
  /**
   * 'per-capability' (one optional parameter per capability, as FRR, GoBGP
   * and Cisco send) or 'single' (all in one parameter, as BIRD sends).
   */
  readonly parameterLayout?: 'per-capability' | 'single';
}

const OPEN_FIXED = 10;

function openError(subcode: number, data?: Uint8Array): BgpError {
  return bgpError(ErrorCode.OPEN_MESSAGE, subcode, data);
}

/**
 * Decodes an OPEN body (after the header) and applies the checks that need
 * no configuration: version, hold time, BGP identifier, parameter types.
 */
export function decodeOpen(body: Uint8Array): OpenMessage | BgpError {
  if (body.length < OPEN_FIXED) return openError(OpenSubcode.UNSPECIFIC);
  const version = body[0]!;
  // RFC 4271 §6.2: the data is the largest locally supported version, as 2 octets.
  if (version !== BGP_VERSION) return openError(OpenSubcode.UNSUPPORTED_VERSION_NUMBER, Uint8Array.of(0, BGP_VERSION));
  const myAs = readUint16(body, 1);
  const holdTime = readUint16(body, 3);
  const id = readUint32(body, 5);
  // RFC 4271 §6.2: Hold Time 1 or 2 is unacceptable.
  if (holdTime === 1 || holdTime === 2) return openError(OpenSubcode.UNACCEPTABLE_HOLD_TIME);
  // RFC 6286 §2.2: any non-zero 32-bit value.
  if (id === 0) return openError(OpenSubcode.BAD_BGP_IDENTIFIER);
  let paramsLen = body[9]!;
  let o = OPEN_FIXED;
  let extended = false;
  // RFC 9072 §2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 announces 2-octet lengths.
  if (paramsLen === 255 && body[o] === OptionalParameterType.EXTENDED_LENGTH) {
    if (body.length < o + 3) return openError(OpenSubcode.UNSPECIFIC);
    paramsLen = readUint16(body, o + 1);
    o += 3;
    extended = true;
  }
  if (o + paramsLen !== body.length) return openError(OpenSubcode.UNSPECIFIC);
  const capabilities: Capability[] = [];
  const end = o + paramsLen;
  while (o < end) {
    const head = extended ? 3 : 2;
    if (o + head > end) return openError(OpenSubcode.UNSPECIFIC);
    const type = body[o]!;
    const len = extended ? readUint16(body, o + 1) : body[o + 1]!;
    if (o + head + len > end) return openError(OpenSubcode.UNSPECIFIC);
    if (type !== OptionalParameterType.CAPABILITIES) return openError(OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER);
    if (decodeCapabilities(body.subarray(o + head, o + head + len), capabilities) !== undefined) {
      return openError(OpenSubcode.UNSPECIFIC);
    }
    o += head + len;
  }
  return { type: 'open', version, myAs, holdTime, bgpId: formatIpv4At(body, 5), capabilities };
}

/** The peer's real AS: the 4-octet AS capability if present, else My Autonomous System. */
export function peerAs(open: OpenMessage): number {
  for (const c of open.capabilities) if (c.kind === 'four-octet-as') return c.as;
  return open.myAs;
}

/** Encodes an OPEN message (header included). Throws RangeError on values that do not fit. */
export function encodeOpen(spec: OpenSpec): Uint8Array {
  if (!Number.isInteger(spec.as) || spec.as < 1 || spec.as > 0xffffffff) throw new RangeError(`AS ${spec.as} is out of range`);
  if (!Number.isInteger(spec.holdTime) || spec.holdTime < 0 || spec.holdTime > 0xffff || spec.holdTime === 1 || spec.holdTime === 2) {
    throw new RangeError(`hold time ${spec.holdTime} is not 0 or 3..65535`);
  }
  const id = parseIpv4(spec.bgpId);
  if (id === undefined || id === 0) throw new RangeError(`BGP identifier '${spec.bgpId}' is not a non-zero IPv4 address`);
  const tlvs = spec.capabilities.map(encodeCapability);
  const groups = spec.parameterLayout === 'single' ? (tlvs.length ? [tlvs] : []) : tlvs.map((t) => [t]);
  const params = groups.map((g) => {
    const len = g.reduce((n, t) => n + t.length, 0);
    return { len, tlvs: g };
  });
  const needsExtended = params.some((p) => p.len > 255) || params.reduce((n, p) => n + 2 + p.len, 0) > 255;
  const head = needsExtended ? 3 : 2;
  const paramsLen = params.reduce((n, p) => n + head + p.len, 0);
  const body = new Uint8Array(OPEN_FIXED + (needsExtended ? 3 : 0) + paramsLen);
  body[0] = BGP_VERSION;
  writeUint16(body, 1, spec.as > 0xffff ? AS_TRANS : spec.as);
  writeUint16(body, 3, spec.holdTime);
  writeUint32(body, 5, id);
  let o = OPEN_FIXED;
  if (needsExtended) {
    // RFC 9072 §2
    body[9] = 255;
    body[10] = OptionalParameterType.EXTENDED_LENGTH;
    writeUint16(body, 11, paramsLen);
    o += 3;
  } else {
    body[9] = paramsLen;
  }
  for (const p of params) {
    body[o] = OptionalParameterType.CAPABILITIES;
    if (needsExtended) writeUint16(body, o + 1, p.len);
    else body[o + 1] = p.len;
    o += head;
    for (const t of p.tlvs) {
      body.set(t, o);
      o += t.length;
    }
  }
  return encodeMessage(MessageType.OPEN, body);
}
