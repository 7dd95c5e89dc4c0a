// What a client command gets: its positional words, its options, the
// output format and the API client.
import type { ApiClient } from './client.js';
import { UsageError } from './errors.js';
import type { Format } from './output.js';

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface Invocation {
  args: string[];
  options: OptionValues;
  format: Format;
  client: ApiClient;
}

export function str(options: OptionValues, name: string): string | undefined {
  const v = options[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(options: OptionValues, name: string): string[] {
  const v = options[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** The positional words, checked against how many the command takes. */
export function argsOf(inv: Invocation, min: number, max: number, usage: string): string[] {
  if (inv.args.length < min || inv.args.length > max) throw new UsageError(`usage: l3vpn ${usage}`);
  return inv.args;
}

export const pathOf = (collection: string, id: string, sub = '') => `/v1/${collection}/${encodeURIComponent(id)}${sub}`;
