// What kind of address an address is, and the check that refuses one where it
// cannot work (a multicast router id, a loopback that is link-local...).
import { addressTextProblem, formatIp, parseIp, quoteText, type IpAddress, type IpFamily } from './address.js';

export type AddressClass = 'unspecified' | 'loopback' | 'multicast' | 'broadcast' | 'link-local' | 'ipv4-mapped' | 'unicast';

export function classifyAddress(a: IpAddress): AddressClass {
  const b = a.bytes;
  if (a.family === 4) {
    if (b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0) return 'unspecified'; // RFC 1122 §3.2.1.3 (a)
    if (b[0] === 127) return 'loopback'; // RFC 1122 §3.2.1.3 (g)
    if ((b[0]! & 0xf0) === 0xe0) return 'multicast'; // 224.0.0.0/4, RFC 5771
    if (b.every((x) => x === 255)) return 'broadcast'; // limited broadcast, RFC 919 §7
    if (b[0] === 169 && b[1] === 254) return 'link-local'; // RFC 3927
    return 'unicast';
  }
  const zerosBefore = (n: number) => b.subarray(0, n).every((x) => x === 0);
  if (zerosBefore(16)) return 'unspecified'; // ::, RFC 4291 §2.5.2
  if (zerosBefore(15) && b[15] === 1) return 'loopback'; // ::1, RFC 4291 §2.5.3
  if (b[0] === 0xff) return 'multicast'; // ff00::/8, RFC 4291 §2.7
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local'; // fe80::/10, RFC 4291 §2.5.6
  if (zerosBefore(10) && b[10] === 0xff && b[11] === 0xff) return 'ipv4-mapped'; // ::ffff:0:0/96, RFC 4291 §2.5.5.2
  return 'unicast';
}

const DESCRIPTIONS: Record<AddressClass, string> = {
  unspecified: 'the unspecified address',
  loopback: 'a host loopback address (it never leaves the host)',
  multicast: 'a multicast address',
  broadcast: 'the limited broadcast address',
  'link-local': 'a link-local address (valid on one link only)',
  'ipv4-mapped': 'an IPv4-mapped IPv6 address (write the IPv4 address)',
  unicast: 'a unicast address',
};

/** "is the unspecified address", for error messages. */
export function describeAddressClass(c: AddressClass): string {
  return DESCRIPTIONS[c];
}

export type AddressCheck = { ok: true; address: IpAddress; text: string } | { ok: false; problem: string };

/**
 * Parses `text` as an address of `family` (either when absent) that is none
 * of the `refused` classes. The problem, when there is one, is a predicate:
 * "'fe80::1%eth0' has a zone id …", "'224.0.0.1' is a multicast address".
 */
export function checkAddress(text: string, rules: { family?: IpFamily; refused?: readonly AddressClass[] } = {}): AddressCheck {
  const address = parseIp(text);
  if (!address) return { ok: false, problem: `${quoteText(text)} ${addressTextProblem(text)}` };
  if (rules.family && address.family !== rules.family) return { ok: false, problem: `${quoteText(text)} is not an IPv${rules.family} address` };
  const cls = classifyAddress(address);
  if (rules.refused?.includes(cls)) return { ok: false, problem: `${quoteText(text)} is ${describeAddressClass(cls)}` };
  return { ok: true, address, text: formatIp(address) };
}
