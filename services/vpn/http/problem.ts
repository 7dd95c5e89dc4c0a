// RFC 9457 problem details. `errors` names each bad field: `pointer` is a
// JSON pointer into the body as a URI fragment (the RFC's own example),
// `parameter` a query parameter, `header` a request header.
import type { ErrorObject } from 'ajv';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IntentError, type IntentErrorKind } from '../intent/errors.js';
import { fieldProblems } from '../intent/validator.js';

export interface FieldError {
  detail: string;
  pointer?: string;
  parameter?: string;
  header?: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: FieldError[];
}

/** The JSON Schema of a problem (component `Problem` of the document). */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'detail', 'instance'],
  properties: {
    type: { type: 'string', format: 'uri-reference', description: 'the problem type; GET it for an explanation' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string', description: 'the X-Request-Id of the request, as in the logs' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['detail'],
        description: 'one bad field: `pointer` into the body (a JSON pointer as a URI fragment), or a `parameter`, or a `header`',
        properties: { detail: { type: 'string' }, pointer: { type: 'string' }, parameter: { type: 'string' }, header: { type: 'string' } },
      },
    },
  },
};

export const PROBLEM_TYPES: Record<string, { status: number; title: string; about: string }> = {
  'invalid-request': { status: 400, title: 'The request does not match the schema', about: 'A field is missing, unknown, of the wrong type or format. `errors` names each one.' },
  'unprocessable-intent': { status: 422, title: 'The intent does not make sense', about: 'The request is well-formed but contradicts itself or the rest of the intent (e.g. a CE address outside the PE subnet). `errors` names each field.' },
  conflict: { status: 409, title: 'The intent conflicts with another resource', about: 'E.g. a VLAN already used on the interface, an RD or RT of another VPN, a node that still has sites.' },
  'already-exists': { status: 409, title: 'The id is taken', about: 'A resource with this id exists.' },
  'not-found': { status: 404, title: 'No such resource', about: 'Nothing has this id (or path).' },
  'precondition-failed': { status: 412, title: 'If-Match did not match', about: 'The resource changed since the ETag the client sent; GET it again and retry.' },
  'precondition-required': { status: 428, title: 'If-Match is required', about: 'This server requires If-Match on PUT, PATCH and DELETE (setting vpn.require-if-match).' },
  unauthenticated: { status: 401, title: 'No valid token', about: 'Send Authorization: Bearer <token>.' },
  forbidden: { status: 403, title: 'The token lacks the scope', about: 'read < write < admin.' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key reused with another request', about: 'The key was first used with a different method, path or body.' },
  'idempotency-key-in-use': { status: 409, title: 'A request with this Idempotency-Key is still running', about: 'Retry once it has finished.' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type', about: 'Send application/json (or application/merge-patch+json for PATCH).' },
  'method-not-allowed': { status: 405, title: 'Method not allowed', about: 'The path exists but not with this method; `Allow` lists the ones it has.' },
  'request-timeout': { status: 408, title: 'Request timeout', about: 'The request (headers and body) did not arrive within vpn.http-request-timeout-seconds.' },
  'payload-too-large': { status: 413, title: 'Body too large', about: 'Bodies are limited to 1 MiB.' },
  'uri-too-long': { status: 414, title: 'URI too long', about: 'A path parameter is longer than the API allows.' },
  'headers-too-large': { status: 431, title: 'Request header fields too large', about: 'The header section is larger than the server accepts.' },
  'dependency-unavailable': { status: 503, title: 'A service this request needs does not answer', about: 'The labels or bgp service could not be reached; nothing was written. Retry after the Retry-After seconds.' },
  'shutting-down': { status: 503, title: 'The server is shutting down', about: 'This replica is stopping; retry after the Retry-After seconds (another replica, or this one once restarted, answers).' },
  'internal-error': { status: 500, title: 'Internal error', about: 'Something went wrong on our side; it is logged.' },
};

const KIND_TYPE: Record<IntentErrorKind, string> = {
  invalid: 'invalid-request',
  semantic: 'unprocessable-intent',
  conflict: 'conflict',
  exists: 'already-exists',
  'not-found': 'not-found',
  'precondition-failed': 'precondition-failed',
  'precondition-required': 'precondition-required',
  unauthenticated: 'unauthenticated',
  forbidden: 'forbidden',
};

export function problem(type: string, detail: string, instance: string, errors?: FieldError[]): Problem {
  const t = PROBLEM_TYPES[type] ?? PROBLEM_TYPES['internal-error']!;
  const p: Problem = { type: `/problems/${type}`, title: t.title, status: t.status, detail, instance };
  if (errors?.length) p.errors = errors;
  return p;
}

export function problemOfIntentError(err: IntentError, instance: string): Problem {
  const errors = err.fields.map((f) => ({ pointer: `#${f.pointer}`, detail: f.detail }));
  return problem(KIND_TYPE[err.kind], err.message, instance, errors);
}

/** Fastify's schema-validation failure, naming the body field, query parameter or header. */
export function problemOfValidation(errors: ErrorObject[], context: string, instance: string): Problem {
  const fields: FieldError[] = fieldProblems(errors).map((f) => {
    const name = f.pointer.replace(/^\//, '').split('/')[0] ?? '';
    if (context === 'querystring') return { parameter: name, detail: f.detail };
    if (context === 'params') return { parameter: name, detail: `path parameter ${f.detail}` };
    if (context === 'headers') return { header: name, detail: f.detail };
    return { pointer: `#${f.pointer}`, detail: f.detail };
  });
  const detail = fields.map((f) => `${f.pointer ?? f.parameter ?? f.header}: ${f.detail}`).join('; ');
  return problem('invalid-request', detail, instance, fields);
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, p: Problem): FastifyReply {
  if (p.status === 401) reply.header('www-authenticate', 'Bearer realm="l3vpn"');
  if (p.status === 403) reply.header('www-authenticate', 'Bearer realm="l3vpn", error="insufficient_scope"');
  return reply.code(p.status).type('application/problem+json').serializer(JSON.stringify).send({ ...p, instance: p.instance || request.url });
}

/** The problem type of a bare HTTP status (errors raised by fastify itself). */
export function problemTypeOfStatus(status: number): string {
  return Object.entries(PROBLEM_TYPES).find(([, t]) => t.status === status && status !== 409 && status !== 422)?.[0] ?? 'invalid-request';
}
