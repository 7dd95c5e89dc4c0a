// The "administrator : assigned number" value shared by route distinguishers
// (RFC 4364 §4.2) and the route-target / route-origin extended communities
// (RFC 4360 §4, RFC 5668). Both carry one of three layouts in six octets, and
// the layout number is the same in both: RD type 0/1/2 and the extended
// community's high-order type 0x00/0x01/0x02.
import { formatIpv4 } from '../net/address-text.js';
import { parseIpv4 } from '../net/address.js';
import { quoteId } from '../quote.js';

export type AdministeredForm = 0 | 1 | 2;

export interface AdministeredValue {
  /** 0: 2-octet AS + 4-octet number; 1: IPv4 address + 2-octet number; 2: 4-octet AS + 2-octet number. */
  readonly form: AdministeredForm;
  /** AS number for forms 0 and 2; the IPv4 address as an unsigned 32-bit integer for form 1. */
  readonly administrator: number;
  readonly assigned: number;
}

export class AdministeredValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdministeredValueError';
  }
}

const UINT16_MAX = 0xffff;
const UINT32_MAX = 0xffffffff;

/** Largest assigned number each form can carry. */
export function assignedMax(form: AdministeredForm): number {
  return form === 0 ? UINT32_MAX : UINT16_MAX;
}

function parseUint(text: string, max: number, what: string, input: string): number {
  if (!/^\d+$/.test(text)) throw new AdministeredValueError(`${what} in '${quoteId(input)}' is not a number`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > max) {
    throw new AdministeredValueError(`${what} in '${quoteId(input)}' is out of range (0-${max})`);
  }
  return n;
}

/**
 * Parses the administrator part alone: an AS number (plain, or asdot "X.Y",
 * RFC 5396) or an IPv4 address. The form follows from it, since a 2-octet AS
 * takes form 0 and a larger one form 2.
 */
export function parseAdministrator(text: string, input = text): { form: AdministeredForm; administrator: number } {
  const ip = parseIpv4(text);
  if (ip !== undefined) return assignedAdministrator({ form: 1, administrator: ip }, input);
  const asdot = /^(\d+)\.(\d+)$/.exec(text);
  if (asdot) {
    const high = parseUint(asdot[1]!, UINT16_MAX, 'AS number', input);
    const low = parseUint(asdot[2]!, UINT16_MAX, 'AS number', input);
    const asn = high * 65536 + low;
    return assignedAdministrator({ form: asn > UINT16_MAX ? 2 : 0, administrator: asn }, input);
  }
  const asn = parseUint(text, UINT32_MAX, 'AS number', input);
  return assignedAdministrator({ form: asn > UINT16_MAX ? 2 : 0, administrator: asn }, input);
}

/**
 * The administrator names who allocates the assigned numbers: an AS number
 * or an IPv4 address assigned to that enterprise (RFC 4364 §4.2, RFC 4360
 * §3.1-3.2). AS 0 is reserved and assigned to no one (RFC 7607), nor is
 * 0.0.0.0 (RFC 1122 §3.2.1.3), so text naming either ("0:0", "0.0.0.0:0",
 * "0:100") is refused. Values decoded from the wire are carried as they are.
 */
function assignedAdministrator<T extends { form: AdministeredForm; administrator: number }>(value: T, input: string): T {
  if (value.administrator === 0) {
    const what = value.form === 1 ? 'IPv4 address 0.0.0.0 is assigned to no one (RFC 1122 §3.2.1.3)' : 'AS 0 is reserved (RFC 7607)';
    throw new AdministeredValueError(`administrator in '${quoteId(input)}' cannot be 0: ${what}; use your own AS number or router id`);
  }
  return value;
}

/** Parses "65000:100", "192.0.2.1:7", "4200000000:7" or asdot "64086.59904:7". */
export function parseAdministeredValue(input: string): AdministeredValue {
  const text = input.trim();
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new AdministeredValueError(`'${quoteId(input)}' is not of the form ADMINISTRATOR:NUMBER`);
  }
  const { form, administrator } = parseAdministrator(text.slice(0, colon), input);
  const assigned = parseUint(text.slice(colon + 1), assignedMax(form), 'assigned number', input);
  return { form, administrator, assigned };
}

export function formatAdministeredValue(value: AdministeredValue): string {
  const admin = value.form === 1 ? formatIpv4(value.administrator) : String(value.administrator);
  return `${admin}:${value.assigned}`;
}

export function formatAdministrator(form: AdministeredForm, administrator: number): string {
  return form === 1 ? formatIpv4(administrator) : String(administrator);
}

export function validateAdministeredValue(value: AdministeredValue): void {
  const adminMax = value.form === 0 ? UINT16_MAX : UINT32_MAX;
  if (!Number.isInteger(value.administrator) || value.administrator < 0 || value.administrator > adminMax) {
    throw new AdministeredValueError(`administrator ${value.administrator} does not fit form ${value.form}`);
  }
  if (!Number.isInteger(value.assigned) || value.assigned < 0 || value.assigned > assignedMax(value.form)) {
    throw new AdministeredValueError(`assigned number ${value.assigned} does not fit form ${value.form}`);
  }
}

/** Writes the six value octets at offset. */
export function writeAdministeredValue(value: AdministeredValue, buf: Uint8Array, offset: number): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (value.form === 0) {
    view.setUint16(offset, value.administrator);
    view.setUint32(offset + 2, value.assigned);
  } else {
    view.setUint32(offset, value.administrator);
    view.setUint16(offset + 4, value.assigned);
  }
}

/** Reads the six value octets at offset for a known form. */
export function readAdministeredValue(form: AdministeredForm, buf: Uint8Array, offset: number): AdministeredValue {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (form === 0) return { form, administrator: view.getUint16(offset), assigned: view.getUint32(offset + 2) };
  return { form, administrator: view.getUint32(offset), assigned: view.getUint16(offset + 4) };
}
