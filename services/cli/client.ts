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

/** Failures before a connection exists: the request never left, so another replica may be asked. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

export class ApiClient {
  /** The replica answering now: the first of the list that could be connected to. */
  private current = 0;

  constructor(private readonly conn: Connection) {}

  get server(): string {
    return this.conn.servers[this.current]!.toString();
  }

  /** A path of the API (`/v1/...`, possibly with a query) as a URL under the server's base path. */
  urlOf(path: string, query: RequestOptions['query'] = {}, server = this.conn.servers[this.current]!): URL {
    const base = server.pathname.replace(/\/$/, '');
    const url = new URL(base + path, server);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /**
   * Sends one request; any status is returned, only transport failures
   * throw. A replica that cannot be connected to passes the request to the
   * next one of the list (and the next requests stay there); a failure
   * once connected is not retried: the request may have been carried out.
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const tried: string[] = [];
    for (let n = 0; ; n++) {
      try {
        return await this.send(method, this.urlOf(path, options.query), options);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (!code || !NOT_CONNECTED.has(code) || n + 1 >= this.conn.servers.length) throw this.unreachable(err as Error, tried);
        tried.push(`${this.server} (${code})`);
        this.current = (this.current + 1) % this.conn.servers.length;
      }
    }
  }

  private send(method: string, url: URL, options: RequestOptions): Promise<ApiResponse> {
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
        res.on('error', reject);
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
      req.on('error', reject);
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

  private unreachable(err: Error & { code?: string }, tried: string[] = []): UnreachableError {
    const tls = err.code?.startsWith('ERR_TLS') || /certificate|self.signed/i.test(err.message);
    const hint = tls
      ? 'the server certificate is not trusted: give its CA with --ca-file, L3VPN_CA_FILE or ca-file in the config file'
      : 'is the vpn service running there? Set the address with --server, L3VPN_SERVER or server in the config file';
    const what = err.code && !err.message.includes(err.code) ? `${err.code} ${err.message}` : err.message;
    const before = tried.length ? ` (nor at ${tried.join(', ')})` : '';
    return new UnreachableError(`cannot reach the vpn service at ${this.server}: ${what}${before}\n  ${hint}`);
  }
}
