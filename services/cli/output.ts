// Output formats: tables (kubectl's default and -o wide), or the API's JSON
// untouched (-o json), or the same as YAML (-o yaml).
import { stringify } from 'yaml';
import { UsageError } from './errors.js';
import { columnsOf, type Kind, type Resource } from './kinds.js';
import { renderTable } from './table.js';

const FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type Format = (typeof FORMATS)[number];

export function formatOf(value: string | undefined): Format {
  const f = value ?? 'table';
  if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`-o ${f}: one of ${FORMATS.join(', ')}`);
  return f as Format;
}

export const write = (text: string) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

export function resourcesTable(kind: Kind, items: Resource[], wide: boolean): string {
  const columns = columnsOf(kind, wide, items.some((r) => Boolean((r.status as { reason?: string } | undefined)?.reason)));
  return renderTable(
    columns.map((c) => c.header),
    items.map((r) => columns.map((c) => c.value(r))),
  );
}

/** A list gathered from every page: `{"items": [...]}` with the items as the API sent them. */
export function printList(kind: Kind, items: Resource[], format: Format): void {
  if (format === 'json') return write(JSON.stringify({ items }));
  if (format === 'yaml') return write(stringify({ items }));
  if (items.length === 0) {
    process.stderr.write(`No ${kind.path} found.\n`);
    return;
  }
  write(resourcesTable(kind, items, format === 'wide'));
}

/** One resource; `json` prints the body exactly as the API answered. */
export function printOne(kind: Kind, text: string, body: Resource, format: Format): void {
  if (format === 'json') return write(text);
  if (format === 'yaml') return write(stringify(body));
  write(resourcesTable(kind, [body], format === 'wide'));
}
