// One generated HTTP request, how it goes on the wire, and how it is shown
// when an answer breaks the contract.
import fc from 'fast-check';

export interface FuzzHttpRequest {
  method: string;
  /** Path and query, already percent-encoded (or deliberately mis-encoded). */
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface FuzzHttpResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** A URL component: percent-encoded text, or raw bytes percent-encoded one by one (invalid UTF-8 included). */
export function urlComponent(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    // A lone surrogate: its replacement's bytes, as the server would see a mis-encoded client's.
    return [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
  }
}

export const rawPercentBytes: fc.Arbitrary<string> = fc
  .uint8Array({ minLength: 1, maxLength: 12 })
  .map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join(''));

/** Header values that fetch can send (visible ASCII), odd in every other way. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', '*', '""', '"1"', 'W/"1"', '"1", "2"', 'W/', '"', '"999999999999999999999999"', 'W/"-1"', '*, "1"', 'null'),
  fc.stringMatching(/^[\x21-\x7e]{0,60}$/),
  fc.integer({ min: 200, max: 9000 }).map((n) => 'k'.repeat(n)),
);

export async function send(base: string, req: FuzzHttpRequest): Promise<FuzzHttpResponse> {
  const res = await fetch(base + req.url, {
    method: req.method,
    headers: req.headers,
    ...(req.body !== undefined ? { body: req.body } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const clip = (s: string, n = 1500) => (s.length > n ? `${s.slice(0, n)}… (${s.length} characters)` : s);

export function describeExchange(seed: number, req: FuzzHttpRequest, res: FuzzHttpResponse | undefined): string {
  const headers = Object.entries(req.headers)
    .map(([k, v]) => `  ${k}: ${clip(k === 'authorization' ? v.replace(/ .*/, ' …') : v, 200)}`)
    .join('\n');
  const body = req.body === undefined ? '(none)' : clip(req.body.toString('latin1'));
  const answer = res ? `${res.status}\n${[...res.headers].map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n${clip(res.text)}` : '(no response)';
  return `seed ${seed} (FUZZ_SEED=${seed} to replay)\nrequest: ${req.method} ${clip(req.url, 500)}\n${headers}\nbody: ${body}\nresponse: ${answer}`;
}
