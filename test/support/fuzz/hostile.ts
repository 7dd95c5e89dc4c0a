// Values an attacker (or a broken client) sends where a well-formed one is
// expected, shared by the REST and gRPC fuzzers.
import fc from 'fast-check';

/** Strings that have broken parsers, databases and logs before: NUL, lone surrogates, huge, empty, control and bidi characters. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'pe1\u0000',
    '\ud800',
    'a\udfffb',
    '\ufeff',
    '\u202eevil',
    'line\nbreak',
    '\u0007\u001b[31m',
    '../../../etc/passwd',
    "' OR 1=1 --",
    '%00',
    '{"$ne":null}',
    '${jndi:ldap://x}',
    '0',
    '-1',
    'null',
    'true',
    '9'.repeat(40),
    '\u{1F600}'.repeat(20),
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 80 }),
  fc.integer({ min: 64, max: 300 }).map((n) => 'a'.repeat(n)),
  fc.constantFrom(10_000, 100_000).map((n) => 'x'.repeat(n)),
);

/** Numbers at and past the edges of every integer type, and non-integers. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -1, 1, -0, 0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, -1e308, Number.MIN_VALUE, 1048575, 1048576, 4094, 4095, 65535, 65536),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value of a wrong kind: what replaces a property in a mutated body. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(null, true, false, [], {}, [null], { '': 1 }, JSON.parse('{"__proto__":{"admin":true}}') as unknown, { constructor: { prototype: 1 } }),
  fc.array(hostileString, { maxLength: 3 }),
  fc.integer({ min: 1, max: 120 }).map((n) => nested(n)),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
);

/** An object nested `depth` levels deep (deeper ones go as text: nestedText). */
export function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

/** The JSON text of an object nested `depth` levels deep, built without recursion. */
export function nestedText(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}
