// A small client of the vpn service's REST API, as the lab and its tests use
// it: bearer token, JSON bodies, problem details turned into errors.
export interface RestResponse {
  status: number;
  body: any;
}

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly problem: unknown,
    what: string,
  ) {
    const p = problem as { title?: string; detail?: string; errors?: { detail?: string; pointer?: string }[] } | undefined;
    const details = p?.errors?.map((e) => `${e.pointer ?? ''} ${e.detail ?? ''}`.trim()).join('; ');
    super(`${what}: ${status} ${p?.title ?? ''}${p?.detail ? ` — ${p.detail}` : ''}${details ? ` (${details})` : ''}`);
  }
}

export class RestClient {
  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<RestResponse> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    // A PATCH body is a JSON merge patch (RFC 7396).
    if (body !== undefined) headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    const res = await fetch(this.base + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** The call's body; a RestError unless the status is one of `ok`. */
  async expect(method: string, path: string, ok: number[], body?: unknown): Promise<any> {
    const r = await this.call(method, path, body);
    if (!ok.includes(r.status)) throw new RestError(r.status, r.body, `${method} ${path}`);
    return r.body;
  }

  get(path: string): Promise<any> {
    return this.expect('GET', path, [200]);
  }

  /** Creates a resource; when one with its id exists already (409), answers that one. */
  async ensure(collection: string, body: { id: unknown; [field: string]: unknown }): Promise<any> {
    const r = await this.call('POST', `/v1/${collection}`, body);
    if (r.status === 201) return r.body;
    if (r.status === 409) {
      const existing = await this.call('GET', `/v1/${collection}/${encodeURIComponent(String(body.id))}`);
      if (existing.status === 200) return existing.body;
    }
    throw new RestError(r.status, r.body, `POST /v1/${collection} ${String(body.id)}`);
  }

  /** Every item of a list: the request again with `cursor` set to each page's `next`, until the last page. */
  async list(path: string): Promise<any[]> {
    const items: any[] = [];
    const first = `${path}${path.includes('?') ? '&' : '?'}limit=500`;
    let cursor: string | undefined;
    do {
      const page: { items: any[]; next?: string } = await this.get(cursor ? `${first}&cursor=${encodeURIComponent(cursor)}` : first);
      items.push(...page.items);
      cursor = page.next;
    } while (cursor);
    return items;
  }
}
