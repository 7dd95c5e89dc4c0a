// l3vpn get KIND [ID] [--vpn --node --status --role --customer] [-o ...]
import { UsageError } from '../errors.js';
import { argsOf, pathOf, str, type Invocation } from '../invocation.js';
import { kindOf, type Resource } from '../kinds.js';
import { printList, printOne } from '../output.js';

export const FILTER_OPTIONS = ['vpn', 'node', 'status', 'role', 'customer'] as const;

export async function get(inv: Invocation): Promise<void> {
  const [kindWord, id] = argsOf(inv, 1, 2, 'get KIND [ID]');
  const kind = kindOf(kindWord);
  const given = FILTER_OPTIONS.filter((f) => str(inv.options, f) !== undefined);
  if (id) {
    if (given.length) throw new UsageError(`--${given[0]} filters lists; it does not go with an id`);
    const res = await inv.client.call('GET', pathOf(kind.path, id));
    return printOne(kind, res.text, res.body as Resource, inv.format);
  }
  const query: Record<string, string> = {};
  for (const f of given) {
    if (!kind.filters.includes(f)) throw new UsageError(`--${f} does not filter ${kind.path}; its filters: ${kind.filters.map((x) => `--${x}`).join(' ')}`);
    query[f] = str(inv.options, f)!;
  }
  const pageSize = str(inv.options, 'page-size');
  if (pageSize !== undefined) {
    if (!/^\d+$/.test(pageSize) || Number(pageSize) < 1 || Number(pageSize) > 500) throw new UsageError('--page-size: a number from 1 to 500');
    query.limit = pageSize;
  }
  const items = (await inv.client.listAll(`/v1/${kind.path}`, query)) as Resource[];
  printList(kind, items, inv.format);
}
