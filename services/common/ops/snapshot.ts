/**
 * A value read for a scrape and shared by the gauges that show parts of it:
 * one database round trip per scrape, not one per gauge, and at most one per
 * `maxAgeMs` however often scrapers come.
 */
export function sharedReading<T>(read: () => Promise<T>, maxAgeMs = 1000): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > maxAgeMs) {
      const value = read();
      last = { at: now, value };
      // A failed read is not kept: the next scrape tries again.
      value.catch(() => {
        if (last?.value === value) last = undefined;
      });
    }
    return last.value;
  };
}
