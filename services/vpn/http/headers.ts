// The HTTP header fields the API sends and honours beyond the framing ones,
// each defined once: the routes that send a header declare it from here and
// the contract adds the ones every route sends, so the OpenAPI document names
// exactly what goes over the wire. Names are as RFC 9110 and the drafts spell
// them; HTTP compares them case-insensitively.

/** A response header as @fastify/swagger takes it (a JSON Schema with a description). */
export interface HeaderSchema {
  type: 'string' | 'integer';
  description: string;
  [keyword: string]: unknown;
}

export const ETAG: Record<string, HeaderSchema> = {
  ETag: { type: 'string', pattern: '^"[0-9]{1,15}"$', description: 'the intent version as a strong entity tag (RFC 9110 §8.8.3): send it back in If-Match' },
};

export const LOCATION: Record<string, HeaderSchema> = {
  Location: { type: 'string', format: 'uri-reference', description: 'the path of the created resource (RFC 9110 §10.2.2)' },
};

export const LINK_NEXT: Record<string, HeaderSchema> = {
  Link: {
    type: 'string',
    description: 'RFC 8288: `<…>; rel="next"`, the request with `cursor` set to the page\'s `next`; absent on the last page',
  },
};

export const RETRY_AFTER: Record<string, HeaderSchema> = {
  'Retry-After': { type: 'integer', minimum: 0, description: 'seconds to wait before retrying (RFC 9110 §10.2.3)' },
};

export const IDEMPOTENT_REPLAYED: Record<string, HeaderSchema> = {
  'Idempotent-Replayed': { type: 'string', enum: ['true'], description: 'this is the stored response of an earlier request with the same Idempotency-Key' },
};

/** On responses that carry a secret shown once: no cache or proxy may keep it (RFC 9111 §5.2.2.5). */
export const NO_STORE: Record<string, HeaderSchema> = {
  'Cache-Control': { type: 'string', enum: ['no-store'], description: 'the response holds a secret shown only here: not to be stored by any cache' },
};

export const REQUEST_ID: Record<string, HeaderSchema> = {
  'X-Request-Id': { type: 'string', description: "the request's id: the caller's X-Request-Id when it is a sane token, else a new one; it is in the logs and problem details" },
};

export const WWW_AUTHENTICATE: Record<string, HeaderSchema> = {
  'WWW-Authenticate': { type: 'string', description: 'the Bearer challenge (RFC 6750 §3); `error="insufficient_scope"` on 403' },
};

/** Request header parameters (JSON Schemas for fastify's `headers`, parameters in the document). */
export const IF_MATCH = {
  'If-Match': {
    type: 'string',
    description: 'ETags of the versions the change applies to, or `*` for any (RFC 9110 §13.1.1, strong comparison: weak tags never match); 412 when none matches',
  },
};

export const IF_NONE_MATCH_READ = {
  'If-None-Match': { type: 'string', description: 'ETags the client holds (weak comparison) or `*`: 304 without a body when one matches (RFC 9110 §13.1.2)' },
};

export const IF_NONE_MATCH_WRITE = {
  'If-None-Match': { type: 'string', description: 'ETags (weak comparison) or `*`: 412 when the current version matches one (RFC 9110 §13.1.2)' },
};

export const IDEMPOTENCY_KEY = {
  'Idempotency-Key': {
    type: 'string',
    minLength: 1,
    maxLength: 255,
    description:
      'a repeat with the same key and body (per token) gets the first response again with Idempotent-Replayed; another request under the key 422; one while the first still runs 409 (draft-ietf-httpapi-idempotency-key-header)',
  },
};

/** A route's `headers` schema with these parameters. */
export const headerParameters = (...groups: Record<string, object>[]) => ({ type: 'object', properties: Object.assign({}, ...groups) as Record<string, object> });
