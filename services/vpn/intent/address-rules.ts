// Which addresses each field of the intent may hold beyond being well formed
// (the schema formats see to that): the ones the reconcile and the data plane
// can use. Refused here, they never reach a node's desired state. Pure.
import { checkAddress, type AddressClass } from '../../common/net/classify.js';
import type { Problems } from './errors.js';

export type AddressUse = 'router-id' | 'loopback' | 'host';

const REFUSED: Record<AddressUse, { classes: readonly AddressClass[]; why: string }> = {
  // RFC 6286 §2.1: a non-zero four-octet number; a multicast or broadcast one would also be a wrong default loopback.
  'router-id': {
    classes: ['unspecified', 'multicast', 'broadcast'],
    why: 'a BGP identifier is a non-zero unicast IPv4 address (RFC 6286 §2.1)',
  },
  // The BGP next hop of the node's routes and the end of every transport path to it (RFC 4364 §5).
  loopback: {
    classes: ['unspecified', 'multicast', 'broadcast', 'loopback', 'link-local', 'ipv4-mapped'],
    why: 'the loopback is the BGP next hop of the routes the node originates, so every other node must reach it',
  },
  // An address of an interface, a CE or a next hop: one host's address on a link.
  host: {
    classes: ['unspecified', 'multicast', 'broadcast', 'loopback'],
    why: 'an interface, CE or next-hop address is a unicast address on the link',
  },
};

/**
 * Adds a problem at `pointer` when `text` (an address, or an interface
 * address with its length) cannot serve as `use`; false when it added one.
 */
export function checkAddressUse(p: Problems, pointer: string, text: string | undefined, use: AddressUse): boolean {
  if (!text) return true;
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const rule = REFUSED[use];
  if (!checkAddress(address).ok) return true; // not well formed: the schema reports it
  const usable = checkAddress(address, { refused: rule.classes });
  if (!usable.ok) p.add(pointer, `${usable.problem}; ${rule.why}`);
  return usable.ok;
}
