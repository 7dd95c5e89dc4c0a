// Request messages from the proto descriptors, in the shape of the ts-proto
// generated types (camelCase fields, enums as numbers, oneofs as
// { $case, value }, Timestamp as Date, FieldMask as its paths), so the
// generated requestSerialize encodes them. Strings come from hints (ids that
// exist), from shapes their names suggest (addresses, prefixes, RDs) and from
// the hostile ones; numbers cluster at zero and at every type's edges.
import fc from 'fast-check';
import { hostileString } from './hostile.js';
import type { FieldDescriptor, MessageDescriptor, ProtoSchema } from './proto-schema.js';

export interface ProtoContext {
  schema: ProtoSchema;
  /** Known values by field name (snake_case, as in the .proto). */
  hints: Record<string, readonly string[]>;
}

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.oneof(fc.ipV4(), fc.tuple(fc.constantFrom('127.0.33', '192.0.2', '10.0.0'), octet).map(([p, o]) => `${p}.${o}`));
const ipv6 = fc.oneof(fc.ipV6(), octet.map((o) => `2001:db8::${o.toString(16)}`), fc.constantFrom('::', '::1', 'fe80::1%eth0', '::ffff:10.0.0.1'));
const address = fc.oneof(ipv4, ipv6, fc.constantFrom('0.0.0.0', '255.255.255.255', '224.0.0.5', '1.2.3', '01.2.3.4', '10.0.0.1/24'));
const prefix = fc.oneof(
  fc.tuple(ipv4, fc.integer({ min: 0, max: 33 })).map(([a, l]) => `${a}/${l}`),
  fc.tuple(ipv6, fc.integer({ min: 0, max: 129 })).map(([a, l]) => `${a}/${l}`),
  fc.constantFrom('10.0.0.0', '10.0.0.0/', '/24', '10.0.0.1/24'),
);
const administered = fc.oneof(
  fc.tuple(fc.oneof(fc.constantFrom(0, 65000, 65535, 65536, 4_294_967_295, 4_294_967_296), fc.nat()), fc.oneof(fc.nat(), fc.constantFrom(0, 65535, 65536, 4_294_967_295, 4_294_967_296))).map(([a, n]) => `${a}:${n}`),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 70_000 })).map(([a, n]) => `${a}:${n}`),
  fc.constantFrom('0:0', '65000:1', 'target:65000:1', '65000', ':1', '65000:', '1.2.3.4:5:6'),
);
const identifier = fc.stringMatching(/^[a-z][a-z0-9._:-]{0,12}$/);

/** What a string field's name says it holds. */
const SHAPES: [RegExp, fc.Arbitrary<string>][] = [
  [/(^|_)(rd|route_distinguisher)$/, administered],
  [/route_target|(^|_)rts?$|_rts$|site_of_origin/, administered],
  [/prefix$/, prefix],
  [/address|router_id|next_hop|loopback|peer$/, address],
];

function stringField(field: FieldDescriptor, ctx: ProtoContext): fc.Arbitrary<string> {
  const shape = SHAPES.find(([re]) => re.test(field.name))?.[1] ?? identifier;
  const hints = ctx.hints[field.name];
  return fc.oneof(
    // Mostly plausible, so that a message with a dozen fields still gets past the first check now and then.
    ...(hints?.length ? [{ arbitrary: fc.constantFrom(...hints), weight: 8 }] : []),
    { arbitrary: shape, weight: 8 },
    { arbitrary: fc.constant(''), weight: 1 },
    { arbitrary: hostileString, weight: 2 },
  );
}

const RANGES: Record<string, [number, number]> = {
  TYPE_INT32: [-(2 ** 31), 2 ** 31 - 1],
  TYPE_SINT32: [-(2 ** 31), 2 ** 31 - 1],
  TYPE_SFIXED32: [-(2 ** 31), 2 ** 31 - 1],
  TYPE_UINT32: [0, 2 ** 32 - 1],
  TYPE_FIXED32: [0, 2 ** 32 - 1],
  TYPE_INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  TYPE_SINT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  TYPE_SFIXED64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  TYPE_UINT64: [0, Number.MAX_SAFE_INTEGER],
  TYPE_FIXED64: [0, Number.MAX_SAFE_INTEGER],
};

function integerField(type: string): fc.Arbitrary<number> {
  const [min, max] = RANGES[type]!;
  const edges = [min, max, -1, 0, 1, 15, 16, 1_048_575, 1_048_576, 65_535, 65_536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1].filter((n) => n >= min && n <= max);
  return fc.oneof({ arbitrary: fc.integer({ min: Math.max(min, 0), max: Math.min(max, 100) }), weight: 4 }, { arbitrary: fc.constantFrom(...edges), weight: 2 }, { arbitrary: fc.integer({ min, max }), weight: 1 });
}

function enumField(typeName: string, ctx: ProtoContext): fc.Arbitrary<number> {
  const e = ctx.schema.enums.get(typeName);
  const known = e?.value.map((v) => v.number) ?? [0];
  return fc.oneof({ arbitrary: fc.constantFrom(...known), weight: 12 }, { arbitrary: fc.constantFrom(-1, known.length + 7, 2 ** 31 - 1), weight: 1 });
}

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function singleValue(field: FieldDescriptor, ctx: ProtoContext, depth: number): fc.Arbitrary<unknown> {
  switch (field.type) {
    case 'TYPE_STRING':
      return stringField(field, ctx);
    case 'TYPE_BOOL':
      return fc.boolean();
    case 'TYPE_BYTES':
      return fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b));
    case 'TYPE_DOUBLE':
    case 'TYPE_FLOAT':
      return fc.oneof(fc.double(), fc.constantFrom(0, -1, 0.5, 1e300));
    case 'TYPE_ENUM':
      return enumField(field.typeName!, ctx);
    case 'TYPE_MESSAGE':
      return messageValue(field.typeName!, ctx, depth + 1);
    default:
      if (RANGES[field.type]) return integerField(field.type);
      throw new Error(`no generator for ${field.type}`);
  }
}

function fieldValue(field: FieldDescriptor, ctx: ProtoContext, depth: number): fc.Arbitrary<unknown> {
  const one = singleValue(field, ctx, depth);
  if (field.label === 'LABEL_REPEATED') return fc.array(one, { maxLength: depth > 2 ? 1 : 3 });
  return one;
}

/** A message of the type named (".l3vpn.v1.Node"), as ts-proto represents it. */
export function messageValue(typeName: string, ctx: ProtoContext, depth = 0): fc.Arbitrary<unknown> {
  if (typeName === '.google.protobuf.Timestamp') {
    return fc.oneof(fc.date({ min: new Date('1970-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }), fc.constantFrom(new Date(0), new Date('2000-01-01')));
  }
  if (typeName === '.google.protobuf.FieldMask') return fc.array(fc.oneof(identifier, hostileString, fc.constantFrom('id', 'description', 'routing.static', 'ipv4.pe_address', 'version', 'status')), { maxLength: 3 });
  const m: MessageDescriptor | undefined = ctx.schema.messages.get(typeName);
  if (!m) throw new Error(`no message ${typeName}`);
  if (depth > 5) return fc.constant(undefined);
  const fields = m.field ?? [];
  const plain = fields.filter((f) => f.oneofIndex === undefined || f.proto3Optional);
  const oneofs = (m.oneofDecl ?? []).map((decl, i) => ({ name: camel(decl.name), members: fields.filter((f) => f.oneofIndex === i && !f.proto3Optional) })).filter((o) => o.members.length);
  const entries = plain.map((f) => {
    const value = fieldValue(f, ctx, depth);
    // Messages and proto3 optionals may be absent; scalars are there (their default is as good as absent on the wire).
    const optional = f.proto3Optional || (f.type === 'TYPE_MESSAGE' && f.label !== 'LABEL_REPEATED');
    return fc.tuple(fc.constant(camel(f.name)), optional ? fc.option(value, { nil: undefined, freq: 3 }) : value);
  });
  const unions = oneofs.map((o) =>
    fc.tuple(
      fc.constant(o.name),
      fc.option(fc.oneof(...o.members.map((f) => singleValue(f, ctx, depth).map((value) => ({ $case: camel(f.name), value })))), { nil: undefined, freq: 4 }),
    ),
  );
  return fc.tuple(...entries, ...unions).map((pairs) => Object.fromEntries(pairs.filter(([, v]) => v !== undefined)));
}

/** Every string inside a generated message (for the echo check). */
export function stringsIn(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => stringsIn(x, out));
  else if (v && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array)) Object.values(v).forEach((x) => stringsIn(x, out));
  return out;
}
