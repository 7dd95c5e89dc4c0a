// The vpn service's REST API over node:http(s): bearer token, JSON bodies,
// problem details turned into errors, lists followed through their cursors.
import http from 'node:http';
import https from 'node:https';
import type { Connection } from './connection.js';
import { ApiFailure, UnreachableError } from './errors.js';
import { isProblem, renderProblem } from './problem.js';

const REQUEST_TIMEOUT_MS = 30_000;

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as sent, for `-o json`. */
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  body: unknown;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
}

export class ApiClient {
  constructor(private readonly conn: Connection) {}

  get server(): string {
    return this.conn.server.toString();
  }

  /** A path of the API (`/v1/...`, possibly with a query) as a URL under the server's base path. */
  urlOf(path: string, query: RequestOptions['query'] = {}): URL {
    const base = this.conn.server.pathname.replace(/\/$/, '');
    const url = new URL(base + path, this.conn.server);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** Sends one request; any status is returned, only transport failures throw. */
  request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const url = this.urlOf(path, options.query);
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...options.headers };
    if (this.conn.token) headers.authorization = `Bearer ${this.conn.token}`;
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolvePromise, reject) => {
      const req = lib.request(url, { method, headers, ...(this.conn.ca ? { ca: this.conn.ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(this.unreachable(err)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => reject(this.unreachable(err)));
      req.end(payload);
    });
  }

  /** Sends a request and throws the server's problem unless it answered 2xx/304. */
  async call(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const res = await this.request(method, path, options);
    if (res.status >= 400 || res.status < 200) throw this.failure(res);
    return res;
  }

  failure(res: ApiResponse): ApiFailure {
    const problem = isProblem(res.body) ? res.body : undefined;
    const rendered = renderProblem(res.status, problem ?? (res.text ? { detail: res.text.slice(0, 500) } : undefined), { tokenSource: this.conn.tokenSource });
    return new ApiFailure(rendered);
  }

  /** Every item of a list: the same request again with `cursor` set to the page's `next`, until the last page. */
  async listAll(path: string, query: RequestOptions['query']): Promise<unknown[]> {
    const items: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = (await this.call('GET', path, { query: { ...query, cursor } })).body as { items?: unknown[]; next?: unknown } | undefined;
      if (!Array.isArray(page?.items)) throw new ApiFailure(`unexpected answer from GET ${path}: no items`);
      if (page.next !== undefined && typeof page.next !== 'string') throw new ApiFailure(`unexpected answer from GET ${path}: next is not a cursor`);
      items.push(...page.items);
      cursor = page.next;
    } while (cursor);
    return items;
  }

  private unreachable(err: Error & { code?: string }): UnreachableError {
    const tls = err.code?.startsWith('ERR_TLS') || /certificate|self.signed/i.test(err.message);
    const hint = tls
      ? 'the server certificate is not trusted: give its CA with --ca-file, L3VPN_CA_FILE or ca-file in the config file'
      : 'is the vpn service running there? Set the address with --server, L3VPN_SERVER or server in the config file';
    const what = err.code && !err.message.includes(err.code) ? `${err.code} ${err.message}` : err.message;
    return new UnreachableError(`cannot reach the vpn service at ${this.server}: ${what}\n  ${hint}`);
  }
}
