// Cursor pagination by id. The cursor is opaque to clients (base64url JSON)
// so its content can change without breaking them.
import { invalid } from './errors.js';

export interface Page<T> {
  items: T[];
  /** Cursor of the next page; absent on the last one. */
  next?: string;
}

export interface PageRequest {
  limit: number;
  cursor?: string;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { after?: unknown };
    if (typeof c.after === 'string' && c.after.length <= 127 && !c.after.includes('\u0000')) return c.after;
  } catch {
    // falls through
  }
  throw invalid([{ pointer: '', detail: 'cursor is not one this API handed out' }]);
}

export function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

/** Rows are fetched limit + 1 to know whether a next page exists. */
export function pageOf<T>(rows: T[], limit: number, idOf: (t: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: encodeCursor(idOf(items[items.length - 1]!)) };
}
