// Route distinguisher (RFC 4364 §4.2): a 2-octet type followed by a 6-octet
// value. Types 0, 1 and 2 are defined; anything else is kept as raw octets so
// that a route with an unknown RD type can still be carried and printed.
import {
  AdministeredValue,
  AdministeredValueError,
  formatAdministeredValue,
  parseAdministeredValue,
  readAdministeredValue,
  validateAdministeredValue,
  writeAdministeredValue,
} from './administered-value.js';

export type Rd = AdministeredValue;

export const RD_LENGTH = 8;

export class RdError extends AdministeredValueError {}

export function parseRd(text: string): Rd {
  try {
    return parseAdministeredValue(text);
  } catch (err) {
    throw new RdError(`route distinguisher: ${(err as Error).message}`);
  }
}

export function formatRd(rd: Rd): string {
  return formatAdministeredValue(rd);
}

export function encodeRd(rd: Rd, buf: Uint8Array = new Uint8Array(RD_LENGTH), offset = 0): Uint8Array {
  validateAdministeredValue(rd);
  buf[offset] = 0;
  buf[offset + 1] = rd.form;
  writeAdministeredValue(rd, buf, offset + 2);
  return buf;
}

/** Decodes eight octets; returns undefined for an RD type other than 0, 1 or 2. */
export function decodeRd(buf: Uint8Array, offset = 0): Rd | undefined {
  if (buf.length < offset + RD_LENGTH) throw new RdError('route distinguisher: fewer than 8 octets');
  const type = (buf[offset]! << 8) | buf[offset + 1]!;
  if (type > 2) return undefined;
  return readAdministeredValue(type as 0 | 1 | 2, buf, offset + 2);
}

export function rdEquals(a: Rd, b: Rd): boolean {
  return a.form === b.form && a.administrator === b.administrator && a.assigned === b.assigned;
}
