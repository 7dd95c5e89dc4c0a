// What every answer of the REST API must be, whatever the request: never a
// 5xx; every 4xx an RFC 9457 problem document whose status is the HTTP
// status; every 2xx with a body, JSON.
import type { FuzzHttpResponse } from './http-request.js';

/** What is wrong with the answer, or undefined when it keeps the contract. */
export function contractBreach(res: FuzzHttpResponse): string | undefined {
  if (res.status >= 500) return `answered ${res.status}`;
  const type = res.headers.get('content-type') ?? '';
  if (res.status >= 400) {
    if (type.split(';')[0]!.trim() !== 'application/problem+json') return `a ${res.status} as '${type}', not application/problem+json`;
    let problem: { type?: unknown; title?: unknown; status?: unknown };
    try {
      problem = JSON.parse(res.text) as typeof problem;
    } catch {
      return `a ${res.status} whose body is not JSON`;
    }
    if (typeof problem !== 'object' || problem === null) return `a ${res.status} whose body is not an object`;
    if (typeof problem.type !== 'string' || typeof problem.title !== 'string') return `a ${res.status} without a type and a title`;
    if (problem.status !== res.status) return `a ${res.status} whose problem says status ${String(problem.status)}`;
    return undefined;
  }
  if (res.status >= 200 && res.status < 300 && res.status !== 204 && res.text !== '') {
    if (type.split(';')[0]!.trim() !== 'application/json') return `a ${res.status} as '${type}', not application/json`;
    try {
      JSON.parse(res.text);
    } catch {
      return `a ${res.status} whose body is not JSON`;
    }
  }
  return undefined;
}
