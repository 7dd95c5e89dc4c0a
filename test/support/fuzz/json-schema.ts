// JSON Schema (the OpenAPI 3.0 subset the vpn service serves) -> fast-check
// arbitraries: values of the schema's shape, and mutations of them (a
// property of the wrong kind, a required one missing, an unknown one added).
// "Valid-shaped", not valid: patterns, formats, enums and bounds are followed
// so that requests reach the handlers' own rules, which then still refuse
// most of them (unknown references, addresses outside a subnet...).
import fc from 'fast-check';
import { hostileJson, hostileString } from './hostile.js';

export interface JsonSchema {
  $ref?: string;
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  readOnly?: boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

export interface SchemaContext {
  /** The document, for #/components/... references. */
  document: unknown;
  /** Values worth using for a property of this name (ids that exist), mixed with generated ones. */
  hints: Record<string, readonly string[]>;
}

export function resolve(schema: JsonSchema, ctx: SchemaContext): JsonSchema {
  let s = schema;
  for (let i = 0; s.$ref && i < 10; i++) {
    const path = s.$ref.replace(/^#\//, '').split('/');
    s = path.reduce((node: any, key) => node?.[key], ctx.document) as JsonSchema;
    if (!s) throw new Error(`unresolved reference ${schema.$ref}`);
  }
  return s;
}

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.oneof(fc.ipV4(), fc.tuple(fc.constantFrom('192.0.2', '10.0.0', '10.1.0', '198.51.100'), octet).map(([p, o]) => `${p}.${o}`));
const ipv6 = fc.oneof(fc.ipV6(), octet.map((o) => `2001:db8::${o.toString(16)}`));
const asn = fc.oneof(fc.constantFrom(0, 1, 65000, 65535, 65536, 4_200_000_000, 4_294_967_295), fc.nat());
const administered = fc.oneof(
  fc.tuple(asn, fc.nat()).map(([a, n]) => `${a}:${n}`),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 70_000 })).map(([a, n]) => `${a}:${n}`),
  fc.constantFrom('0:0', '65000:1', 'target:65000:1', '65000:100'),
);

const FORMATS: Record<string, fc.Arbitrary<string>> = {
  ipv4,
  ipv6,
  'ip-address': fc.oneof(ipv4, ipv6),
  'interface-address': fc.oneof(
    fc.tuple(ipv4, fc.integer({ min: 0, max: 33 })).map(([a, l]) => `${a}/${l}`),
    fc.tuple(ipv6, fc.integer({ min: 0, max: 129 })).map(([a, l]) => `${a}/${l}`),
  ),
  'ip-prefix': fc.oneof(
    fc.tuple(ipv4, fc.integer({ min: 0, max: 33 })).map(([a, l]) => `${a}/${l}`),
    fc.tuple(ipv6, fc.integer({ min: 0, max: 129 })).map(([a, l]) => `${a}/${l}`),
  ),
  'route-target': administered,
  'route-distinguisher': administered,
  'date-time': fc.oneof(
    fc.date({ min: new Date('1990-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom('2000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2030-02-30T00:00:00Z', 'yesterday'),
  ),
};

function stringOf(schema: JsonSchema, name: string | undefined, ctx: SchemaContext): fc.Arbitrary<string> {
  let base: fc.Arbitrary<string>;
  if (schema.format && FORMATS[schema.format]) base = FORMATS[schema.format]!;
  else if (schema.pattern) base = fc.stringMatching(new RegExp(schema.pattern));
  else base = fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) });
  const hinted = name ? ctx.hints[name] : undefined;
  return hinted?.length ? fc.oneof({ arbitrary: fc.constantFrom(...hinted), weight: 2 }, { arbitrary: base, weight: 1 }) : base;
}

function integerOf(schema: JsonSchema): fc.Arbitrary<number> {
  const min = schema.minimum ?? -(2 ** 31);
  const max = schema.maximum ?? 2 ** 31;
  return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
}

/** Values of the schema's shape (read-only properties left out, as a client would). */
export function shaped(schema: JsonSchema, ctx: SchemaContext, name?: string, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, ctx);
  if (s.enum) return fc.constantFrom(...s.enum);
  const variants = s.anyOf ?? s.oneOf;
  if (variants && !s.type && !s.properties) return fc.oneof(...variants.map((v) => shaped(v, ctx, name, depth)));
  let arb: fc.Arbitrary<unknown>;
  switch (s.type ?? (s.properties ? 'object' : undefined)) {
    case 'string':
      arb = stringOf(s, name, ctx);
      break;
    case 'integer':
      arb = integerOf(s);
      break;
    case 'number':
      arb = fc.double({ noNaN: true, noDefaultInfinity: true, min: s.minimum, max: s.maximum });
      break;
    case 'boolean':
      arb = fc.boolean();
      break;
    case 'array':
      arb = depth > 6 ? fc.constant([]) : fc.array(shaped(s.items ?? {}, ctx, name, depth + 1), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, 4) });
      break;
    case 'object': {
      const props = Object.entries(s.properties ?? {}).filter(([, p]) => !resolve(p, ctx).readOnly);
      if (depth > 6 || props.length === 0) {
        arb = fc.constant({});
        break;
      }
      const required = new Set(s.required ?? []);
      // Required properties almost always there, the others half the time.
      arb = fc
        .tuple(...props.map(([key, p]) => fc.tuple(fc.constant(key), shaped(p, ctx, key, depth + 1), fc.integer({ min: 0, max: 19 }))))
        .map((entries) => Object.fromEntries(entries.filter(([key, , roll]) => (required.has(key) ? roll > 0 : roll < 10)).map(([key, value]) => [key, value])));
      break;
    }
    default:
      arb = fc.jsonValue({ maxDepth: 2 });
  }
  return s.nullable ? fc.oneof({ arbitrary: arb, weight: 9 }, { arbitrary: fc.constant(null), weight: 1 }) : arb;
}

type Mutation = 'replace' | 'remove' | 'add' | 'wrap';

/** Every path to a value inside `v` (the root first). */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function mutate(value: unknown, pick: number, mutation: Mutation, replacement: unknown, extraKey: string): unknown {
  const copy = structuredClone(value);
  const all = paths(copy);
  const path = all[pick % all.length]!;
  if (path.length === 0) return mutation === 'wrap' ? [copy] : replacement;
  const parent = path.slice(0, -1).reduce((n: any, k) => n[k], copy) as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  switch (mutation) {
    case 'replace':
      parent[key] = replacement;
      break;
    case 'remove':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 'add':
      if (Array.isArray(parent)) parent.push(replacement);
      else parent[extraKey] = replacement;
      break;
    case 'wrap':
      parent[key] = [parent[key]];
      break;
  }
  return copy;
}

/** A value of the schema's shape with one thing wrong in it. */
export function mutated(schema: JsonSchema, ctx: SchemaContext): fc.Arbitrary<unknown> {
  return mutationOf(shaped(schema, ctx), ctx);
}

/** One of the given (valid) values with one thing wrong in it, or one property set to another value of its schema. */
export function mutatedExample(examples: readonly unknown[], ctx: SchemaContext): fc.Arbitrary<unknown> {
  return mutationOf(fc.constantFrom(...examples), ctx);
}

function mutationOf(values: fc.Arbitrary<unknown>, ctx: SchemaContext): fc.Arbitrary<unknown> {
  const hinted = Object.values(ctx.hints).flat();
  const replacement = hinted.length ? fc.oneof(hostileJson, fc.constantFrom(...hinted)) : hostileJson;
  return fc
    .tuple(values, fc.nat(), fc.constantFrom<Mutation>('replace', 'replace', 'remove', 'add', 'wrap'), replacement, fc.oneof(hostileString, fc.constantFrom('status', 'version', 'agentIdentity', 'createdAt')))
    .map(([value, pick, mutation, replacement, extraKey]) => mutate(value, pick, mutation, replacement, extraKey));
}
