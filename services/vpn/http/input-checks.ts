// What every request goes through before a handler sees it: JSON bodies that
// are valid UTF-8 (RFC 8259 §8.1), free of U+0000 (PostgreSQL text cannot
// hold it) and nested no deeper than the intent ever is; path and query
// parameters without U+0000; 405 with Allow for a known path and another
// method (RFC 9110 §15.5.6); and the errors node:http and fastify raise
// themselves (bad URL encoding, header overflow, a request that took too
// long) as problem details like every other error.
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { invalid } from '../intent/errors.js';
import { unusableJson } from '../intent/validator.js';
import { problem, sendProblem, type Problem } from './problem.js';

/** Deeper than any intent body (a site's routing is 4 levels): a merge patch walks it recursively. */
export const MAX_BODY_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const bad = (detail: string) => invalid([{ pointer: '', detail }]);

/** Parses a JSON body, or throws an 'invalid' IntentError naming what is wrong and where. */
export function parseJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw bad('the body is not valid UTF-8');
  }
  if (!text.trim()) throw bad('the body is empty; send a JSON document');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bad(`the body is not JSON: ${err instanceof RangeError ? 'nested too deeply' : (err as Error).message}`);
  }
  const unusable = unusableJson(value, MAX_BODY_DEPTH);
  if (unusable) throw invalid([unusable]);
  return value;
}

/** The path's route patterns by method, to tell 404 from 405. */
class RouteTable {
  private readonly routes: { pattern: RegExp; methods: Set<string> }[] = [];

  add(url: string, methods: string | string[]): void {
    const source = `^${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]\w*/g, '[^/]+')}/?$`;
    let r = this.routes.find((x) => x.pattern.source === source);
    if (!r) this.routes.push((r = { pattern: new RegExp(source), methods: new Set() }));
    for (const m of [methods].flat()) r.methods.add(m);
  }

  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const r of this.routes) if (r.pattern.test(path)) for (const m of r.methods) methods.add(m);
    return [...methods].sort();
  }
}

/** Registers the body parsers and hooks; call before any route is added. */
export function registerInputChecks(app: FastifyInstance): void {
  const table = new RouteTable();
  app.addHook('onRoute', (route) => table.add(route.url, route.method));

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/merge-patch+json'], { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.addHook('preValidation', async (request, reply) => {
    for (const [where, values] of [['path', request.params], ['query', request.query]] as const) {
      for (const [name, v] of Object.entries((values ?? {}) as Record<string, unknown>)) {
        if ([v].flat().some((x) => typeof x === 'string' && x.includes('\u0000'))) {
          return sendProblem(reply, request, problem('invalid-request', `${where} parameter ${name} contains U+0000 (NUL)`, request.url, [{ parameter: name, detail: 'contains U+0000 (NUL)' }]));
        }
      }
    }
    return undefined;
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = table.allowed(path);
    if (allowed.length && !allowed.includes(request.method)) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(reply, request, problem('method-not-allowed', `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`, request.url));
    }
    return sendProblem(reply, request, problem('not-found', `no route ${request.method} ${path}`, request.url));
  });
}

/** Fastify's own routing errors (a URL that does not decode) as problem details. */
export function frameworkError(error: Error & { statusCode?: number }, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode ?? 400;
  void sendProblem(reply, request, { ...problem(status === 414 ? 'uri-too-long' : 'invalid-request', error.message, request.url.split('?')[0] ?? ''), status });
}

/**
 * Errors node:http answers before any handler (header section too large,
 * a malformed request, a request that took longer than the request
 * timeout), as problem details, and the connection closed.
 */
export function clientError(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return void socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const type = status === 431 ? 'headers-too-large' : status === 408 ? 'request-timeout' : 'invalid-request';
  const detail =
    status === 431 ? 'the request header section is too large' : status === 408 ? 'the request was not received in time' : `the request is not valid HTTP/1.1 (${err.code ?? err.message})`;
  const body: Problem = { ...problem(type, detail, ''), status };
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}
