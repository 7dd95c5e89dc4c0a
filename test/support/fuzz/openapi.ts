// Requests for every operation of an OpenAPI 3.0 document: path, query and
// header parameters and JSON bodies from their schemas, well-shaped or
// mutated, with hostile headers and raw bodies (invalid UTF-8, truncated,
// nested without bound, over the size limit).
import fc from 'fast-check';
import { hostileString, nestedText } from './hostile.js';
import { headerValue, rawPercentBytes, urlComponent, type FuzzHttpRequest } from './http-request.js';
import { mutated, mutatedExample, shaped, type JsonSchema, type SchemaContext } from './json-schema.js';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}

export interface Operation {
  method: string;
  path: string;
  id: string;
  parameters: Parameter[];
  bodySchema?: JsonSchema;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { operationId?: string; parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

export function operationsOf(document: unknown): Operation[] {
  const doc = document as OpenApiDocument;
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        id: op.operationId ?? `${method} ${path}`,
        parameters: op.parameters ?? [],
        ...(op.requestBody?.content ? { bodySchema: Object.values(op.requestBody.content)[0]?.schema ?? {} } : {}),
      })),
  );
}

/** Something to put where a parameter's value goes in a URL. */
function parameterValue(p: Parameter, ctx: SchemaContext): fc.Arbitrary<string> {
  const schema = p.schema ?? { type: 'string' };
  return fc.oneof(
    { arbitrary: shaped(schema, ctx, p.name).map((v) => urlComponent(String(v))), weight: 6 },
    { arbitrary: hostileString.map(urlComponent), weight: 2 },
    { arbitrary: fc.constantFrom('-1', '0', '1e3', '99999999999999999999', '1.5', 'true', '%00', 'null').map(String), weight: 1 },
    { arbitrary: rawPercentBytes, weight: 1 },
  );
}

function query(op: Operation, ctx: SchemaContext): fc.Arbitrary<string> {
  const declared = op.parameters.filter((p) => p.in === 'query');
  const pairs = declared.map((p) => fc.option(parameterValue(p, ctx).map((v) => `${p.name}=${v}`), { nil: undefined, freq: 2 }));
  const extras = fc.array(
    fc.oneof(
      fc.tuple(hostileString.map(urlComponent), hostileString.map(urlComponent)).map(([k, v]) => `${k}=${v}`),
      // A declared parameter twice (fastify makes it an array), or without '='.
      declared.length ? fc.constantFrom(...declared.map((p) => p.name)).chain((n) => fc.constantFrom(`${n}=1&${n}=2`, n, `${n}[]=x`, `${n}[a]=1`)) : fc.constant('x=1'),
    ),
    { maxLength: 2 },
  );
  return fc.tuple(fc.tuple(...pairs), extras, fc.integer({ min: 0, max: 9 })).map(([named, extra, roll]) => {
    const parts = [...named.filter((x): x is string => x !== undefined), ...(roll === 0 ? extra : [])];
    return parts.length ? `?${parts.join('&')}` : '';
  });
}

function path(op: Operation, ctx: SchemaContext): fc.Arbitrary<string> {
  const names = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  if (names.length === 0) return fc.constant(op.path);
  const param = (n: string) => op.parameters.find((p) => p.in === 'path' && p.name === n) ?? { name: n, in: 'path' as const };
  return fc.tuple(...names.map((n) => parameterValue(param(n), ctx))).map((values) => names.reduce((p, n, i) => p.replace(`{${n}}`, values[i]!), op.path));
}

/** Bodies a JSON parser should refuse, or that are over a limit. */
const rawBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom('', '{', '{"id":', 'null', '[]', '"text"', '1e400', '{"id":"a","id":"b"}', '{"__proto__":{"admin":true}}', '\ufeff{}', '{"a":1}garbage').map((s) => Buffer.from(s)),
  fc.integer({ min: 100, max: 20_000 }).map((n) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`)),
  fc.constantFrom(100, 1000, 5000, 100_000).map((n) => Buffer.from(nestedText(n))),
  fc.constant(Buffer.from(JSON.stringify({ id: 'big', customer: 'x'.repeat(1_100_000) }))),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
);

const INVALID_UTF8 = [[0xc3, 0x28], [0xed, 0xa0, 0x80], [0xff], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0x00]];

/** A JSON text with bytes that are not UTF-8 inside its first string value. */
function withInvalidUtf8(value: unknown, bytes: number[]): Buffer {
  const text = Buffer.from(JSON.stringify(value) ?? 'null');
  const at = text.indexOf(':"');
  if (at < 0) return Buffer.concat([text, Buffer.from(bytes)]);
  return Buffer.concat([text.subarray(0, at + 2), Buffer.from(bytes), text.subarray(at + 2)]);
}

function body(schema: JsonSchema, ctx: SchemaContext, examples: readonly unknown[]): fc.Arbitrary<Buffer> {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v) ?? 'null');
  // Valid bodies the caller knows, as they are and with one thing wrong: these get past the schema to the handlers' rules.
  const known = examples.length
    ? [
        { arbitrary: fc.constantFrom(...examples).map(json), weight: 2 },
        { arbitrary: mutatedExample(examples, ctx).map(json), weight: 4 },
      ]
    : [];
  return fc.oneof(
    ...known,
    { arbitrary: shaped(schema, ctx).map(json), weight: 5 },
    { arbitrary: mutated(schema, ctx).map(json), weight: 5 },
    { arbitrary: fc.tuple(shaped(schema, ctx), fc.constantFrom(...INVALID_UTF8)).map(([v, b]) => withInvalidUtf8(v, b)), weight: 1 },
    { arbitrary: rawBody, weight: 1 },
  );
}

export interface Credentials {
  /** The token that may do everything: most requests carry it, so they reach the handlers. */
  admin: string;
  others: string[];
}

function authorization(creds: Credentials): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { arbitrary: fc.constant(`Bearer ${creds.admin}`), weight: 20 },
    { arbitrary: fc.constantFrom(...creds.others.map((t) => `Bearer ${t}`), `bearer ${creds.admin}`, 'Bearer', 'Bearer ', `Basic ${creds.admin}`, `Bearer ${creds.admin}x`), weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/merge-patch+json',
  'text/plain',
  'application/json; charset=latin1',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/problem+json',
  'application/json;;;',
  '',
];

const OPTIONAL_HEADERS = ['if-match', 'if-none-match', 'idempotency-key', 'accept', 'x-request-id', 'if-modified-since', 'range', 'content-encoding'];

export function requestArbitrary(op: Operation, ctx: SchemaContext, creds: Credentials, examples: readonly unknown[] = []): fc.Arbitrary<FuzzHttpRequest> {
  const contentType = fc.oneof(
    { arbitrary: fc.constant(op.method === 'PATCH' ? 'application/merge-patch+json' : 'application/json'), weight: 8 },
    { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 2 },
  );
  const headers = fc.array(fc.tuple(fc.constantFrom(...OPTIONAL_HEADERS), headerValue), { maxLength: 3 });
  return fc
    .record({
      path: path(op, ctx),
      query: query(op, ctx),
      auth: authorization(creds),
      headers,
      contentType,
      body: op.bodySchema ? fc.option(body(op.bodySchema, ctx, examples), { nil: undefined, freq: 20 }) : fc.constant(undefined),
    })
    .map((r) => {
      const h: Record<string, string> = Object.fromEntries(r.headers);
      if (r.auth !== undefined) h.authorization = r.auth;
      if (r.body !== undefined && r.contentType) h['content-type'] = r.contentType;
      return { method: op.method, url: r.path + r.query, headers: h, ...(r.body !== undefined ? { body: r.body } : {}) };
    });
}
