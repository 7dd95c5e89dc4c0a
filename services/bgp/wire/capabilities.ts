// Capabilities advertised in OPEN (RFC 5492): multiprotocol (RFC 4760 §8),
// route refresh (RFC 2918, and the pre-standard code 128), 4-octet AS
// (RFC 6793), graceful restart (RFC 4724), extended message (RFC 8654).
// Anything else, or a known code with a value of the wrong size, is kept as
// received so it can be logged or compared.
import { CapabilityCode } from './constants.js';
import { readUint16, readUint32, writeUint16, writeUint32 } from './ip.js';

export interface GracefulRestartFamily {
  readonly afi: number;
  readonly safi: number;
  /** Forwarding state preserved across the restart (the F bit). */
  readonly forwardingPreserved: boolean;
}

export type Capability =
  | { readonly kind: 'multiprotocol'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'route-refresh'; readonly code: 2 | 128 }
  | { readonly kind: 'four-octet-as'; readonly as: number }
  | { readonly kind: 'extended-message' }
  | {
      readonly kind: 'graceful-restart';
      /** The R bit: the sender has restarted. */
      readonly restarting: boolean;
      /** The N bit (RFC 8538): graceful NOTIFICATION supported. */
      readonly notification: boolean;
      /** Seconds, 12 bits. */
      readonly restartTime: number;
      readonly families: readonly GracefulRestartFamily[];
    }
  | { readonly kind: 'unknown'; readonly code: number; readonly value: Uint8Array };

/** Decodes the capabilities inside one Capabilities optional parameter; a reason string if the TLVs overrun. */
export function decodeCapabilities(value: Uint8Array, out: Capability[]): string | undefined {
  let o = 0;
  while (o < value.length) {
    if (o + 2 > value.length) return 'truncated capability header';
    const code = value[o]!;
    const len = value[o + 1]!;
    if (o + 2 + len > value.length) return `capability ${code} overruns its parameter`;
    out.push(decodeCapability(code, value.subarray(o + 2, o + 2 + len)));
    o += 2 + len;
  }
  return undefined;
}

function decodeCapability(code: number, v: Uint8Array): Capability {
  const len = v.length;
  switch (code) {
    case CapabilityCode.MULTIPROTOCOL:
      if (len === 4) return { kind: 'multiprotocol', afi: readUint16(v, 0), safi: v[3]! };
      break;
    case CapabilityCode.ROUTE_REFRESH:
    case CapabilityCode.ROUTE_REFRESH_CISCO:
      if (len === 0) return { kind: 'route-refresh', code };
      break;
    case CapabilityCode.FOUR_OCTET_AS:
      if (len === 4) return { kind: 'four-octet-as', as: readUint32(v, 0) };
      break;
    case CapabilityCode.EXTENDED_MESSAGE:
      if (len === 0) return { kind: 'extended-message' };
      break;
    case CapabilityCode.GRACEFUL_RESTART: {
      if (len < 2 || (len - 2) % 4 !== 0) break;
      const families: GracefulRestartFamily[] = [];
      for (let o = 2; o < len; o += 4) {
        families.push({ afi: readUint16(v, o), safi: v[o + 2]!, forwardingPreserved: (v[o + 3]! & 0x80) !== 0 });
      }
      return {
        kind: 'graceful-restart',
        restarting: (v[0]! & 0x80) !== 0,
        notification: (v[0]! & 0x40) !== 0,
        restartTime: readUint16(v, 0) & 0x0fff,
        families,
      };
    }
  }
  return { kind: 'unknown', code, value: v.slice() };
}

export function capabilityCode(c: Capability): number {
  switch (c.kind) {
    case 'multiprotocol':
      return CapabilityCode.MULTIPROTOCOL;
    case 'route-refresh':
      return c.code;
    case 'four-octet-as':
      return CapabilityCode.FOUR_OCTET_AS;
    case 'extended-message':
      return CapabilityCode.EXTENDED_MESSAGE;
    case 'graceful-restart':
      return CapabilityCode.GRACEFUL_RESTART;
    case 'unknown':
      return c.code;
  }
}

/** The capability as a TLV (code, length, value). Throws RangeError on values that do not fit. */
export function encodeCapability(c: Capability): Uint8Array {
  let value: Uint8Array;
  switch (c.kind) {
    case 'multiprotocol':
      value = new Uint8Array(4);
      writeUint16(value, 0, c.afi);
      value[3] = c.safi;
      break;
    case 'route-refresh':
    case 'extended-message':
      value = new Uint8Array(0);
      break;
    case 'four-octet-as':
      value = new Uint8Array(4);
      writeUint32(value, 0, c.as);
      break;
    case 'graceful-restart': {
      if (c.restartTime < 0 || c.restartTime > 0xfff) throw new RangeError(`restart time ${c.restartTime} exceeds 12 bits`);
      value = new Uint8Array(2 + 4 * c.families.length);
      writeUint16(value, 0, (c.restarting ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | c.restartTime);
      c.families.forEach((f, i) => {
        writeUint16(value, 2 + 4 * i, f.afi);
        value[4 + 4 * i] = f.safi;
        value[5 + 4 * i] = f.forwardingPreserved ? 0x80 : 0;
      });
      break;
    }
    case 'unknown':
      value = c.value;
      break;
  }
  if (value.length > 255) throw new RangeError('capability value exceeds 255 octets');
  const out = new Uint8Array(2 + value.length);
  out[0] = capabilityCode(c);
  out[1] = value.length;
  out.set(value, 2);
  return out;
}
