// Protobuf bytes no well-behaved client sends: a field with the wrong wire
// type, strings that are not UTF-8, varints that never end, lengths that
// overrun the message, a repeated field 100,000 times, or bytes at random.
// A tiny writer of the wire format (protobuf encoding spec), just enough to
// compose them.
import fc from 'fast-check';
import type { MessageDescriptor } from './proto-schema.js';

function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

const tag = (field: number, wireType: number) => varint(field * 8 + wireType);
const lengthDelimited = (field: number, payload: number[]) => [...tag(field, 2), ...varint(payload.length), ...payload];

const INVALID_UTF8 = [[0xc3, 0x28], [0xed, 0xa0, 0x80], [0xff, 0xfe], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0x80]];

/** One field's worth of bytes that a decoder has to refuse or survive. */
function brokenField(m: MessageDescriptor): fc.Arbitrary<number[]> {
  const fields = m.field ?? [];
  const numbers = fields.length ? fields.map((f) => f.number) : [1];
  const strings = fields.filter((f) => f.type === 'TYPE_STRING').map((f) => f.number);
  const field = fc.oneof({ arbitrary: fc.constantFrom(...numbers), weight: 5 }, { arbitrary: fc.constantFrom(999, 536_870_911, 19_000), weight: 1 });
  return fc.oneof(
    // A known field with every wire type (the right one with junk, or a wrong one).
    fc.tuple(field, fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 12 })).map(([f, wt, junk]) => [...tag(f, wt), ...junk]),
    // A string (or any length-delimited field) whose bytes are not UTF-8.
    fc.tuple(strings.length ? fc.constantFrom(...strings) : field, fc.constantFrom(...INVALID_UTF8)).map(([f, bytes]) => lengthDelimited(f, [0x61, ...bytes])),
    // A varint that does not end, or ends past 64 bits.
    field.map((f) => [...tag(f, 0), ...Array<number>(11).fill(0xff)]),
    // A length that claims more than there is.
    fc.tuple(field, fc.constantFrom(100, 2 ** 31 - 1, 2 ** 32 - 1)).map(([f, n]) => [...tag(f, 2), ...varint(n), 0x61]),
    // A negative length (a ten-byte varint).
    field.map((f) => [...tag(f, 2), ...varint(-1)]),
    // Field number 0, and the end of a group never begun.
    fc.constantFrom<number[][]>([0x00, 0x01], [0x0c], [0x0b, 0x0c, 0x0c]),
  );
}

/** The same repeated (or string) field many times: what a batch limit is for. */
function hugeRepeat(m: MessageDescriptor): fc.Arbitrary<number[]> | undefined {
  const repeated = (m.field ?? []).filter((f) => f.label === 'LABEL_REPEATED' && (f.type === 'TYPE_STRING' || f.type === 'TYPE_MESSAGE'));
  if (!repeated.length) return undefined;
  return fc.tuple(fc.constantFrom(...repeated.map((f) => f.number)), fc.constantFrom(10_000, 100_001)).map(([f, n]) => {
    const one = lengthDelimited(f, [0x61]);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(...one);
    return out;
  });
}

/** Bytes made from a valid encoding of `m`, or none: mutated, truncated, extended, or random. */
export function wireMutation(valid: fc.Arbitrary<Buffer>, m: MessageDescriptor): fc.Arbitrary<Buffer> {
  const huge = hugeRepeat(m);
  return fc.oneof(
    fc.tuple(valid, brokenField(m), fc.boolean()).map(([bytes, extra, before]) => Buffer.from(before ? [...extra, ...bytes] : [...bytes, ...extra])),
    fc.tuple(valid, fc.nat()).map(([bytes, cut]) => bytes.subarray(0, bytes.length ? cut % bytes.length : 0)),
    fc.tuple(valid, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([bytes, at, xor]) => {
      const copy = Buffer.from(bytes);
      if (copy.length) copy[at % copy.length]! ^= xor;
      return copy;
    }),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    ...(huge ? [huge.map((b) => Buffer.from(b))] : []),
  );
}
