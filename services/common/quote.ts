/**
 * Text a caller sent (an id, an owner key), as an error message quotes it:
 * escaped as in JSON, and never whole when it is longer than any id can be,
 * so an error never carries a caller's 100,000 characters back (issue 13).
 */
export const quoteId = (id: string): string => JSON.stringify(id.length > 130 ? `${id.slice(0, 64)}…` : id).slice(1, -1);
