// Names of BGP NOTIFICATION error codes and subcodes (IANA "BGP Error
// (Notification) Codes" and subcode registries: RFC 4271 §4.5, RFC 4486,
// RFC 6608, RFC 7313, RFC 8538), so that an operator reads
// "OPEN Message Error / Bad Peer AS" rather than "code 2 subcode 2".
const CODES: Record<number, { name: string; subcodes: Record<number, string> }> = {
  1: { name: 'Message Header Error', subcodes: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' } },
  2: {
    name: 'OPEN Message Error',
    subcodes: { 1: 'Unsupported Version Number', 2: 'Bad Peer AS', 3: 'Bad BGP Identifier', 4: 'Unsupported Optional Parameter', 6: 'Unacceptable Hold Time', 7: 'Unsupported Capability', 11: 'Role Mismatch' },
  },
  3: {
    name: 'UPDATE Message Error',
    subcodes: {
      1: 'Malformed Attribute List',
      2: 'Unrecognized Well-known Attribute',
      3: 'Missing Well-known Attribute',
      4: 'Attribute Flags Error',
      5: 'Attribute Length Error',
      6: 'Invalid ORIGIN Attribute',
      8: 'Invalid NEXT_HOP Attribute',
      9: 'Optional Attribute Error',
      10: 'Invalid Network Field',
      11: 'Malformed AS_PATH',
    },
  },
  4: { name: 'Hold Timer Expired', subcodes: {} },
  5: { name: 'Finite State Machine Error', subcodes: { 1: 'Unexpected Message in OpenSent', 2: 'Unexpected Message in OpenConfirm', 3: 'Unexpected Message in Established' } },
  6: {
    name: 'Cease',
    subcodes: {
      1: 'Maximum Number of Prefixes Reached',
      2: 'Administrative Shutdown',
      3: 'Peer De-configured',
      4: 'Administrative Reset',
      5: 'Connection Rejected',
      6: 'Other Configuration Change',
      7: 'Connection Collision Resolution',
      8: 'Out of Resources',
      9: 'Hard Reset',
    },
  },
  7: { name: 'ROUTE-REFRESH Message Error', subcodes: { 1: 'Invalid Message Length' } },
};

/** "OPEN Message Error / Bad Peer AS (2/2)"; unknown codes by number. */
export function notificationName(code: number, subcode: number): string {
  const c = CODES[code];
  if (!c) return `error code ${code} subcode ${subcode}`;
  const sub = subcode === 0 ? undefined : (c.subcodes[subcode] ?? `subcode ${subcode}`);
  return `${c.name}${sub ? ` / ${sub}` : ''} (${code}/${subcode})`;
}
