// A longest-prefix-match table for IPv4 and IPv6: one hash map per prefix
// length, probed from the longest length present down. Plenty for an
// in-memory data plane; no I/O.
import { parseAddress, parsePrefix, type Family } from '../../common/desired-state/prefix.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function maskedKey(bytes: Uint8Array, length: number): string {
  let s = '';
  for (let i = 0; i * 8 < length; i++) {
    const bits = Math.min(8, length - i * 8);
    s += HEX[bytes[i]! & ((0xff << (8 - bits)) & 0xff)]!;
  }
  return `${s}/${length}`;
}

interface FamilyTable<V> {
  byLength: Map<number, Map<string, V>>;
  /** Lengths present, longest first. */
  lengths: number[];
}

export class PrefixTable<V> {
  private readonly families: Record<Family, FamilyTable<V>> = {
    4: { byLength: new Map(), lengths: [] },
    6: { byLength: new Map(), lengths: [] },
  };

  set(prefix: string, value: V): void {
    const p = parsePrefix(prefix);
    const t = this.families[p.family];
    let m = t.byLength.get(p.length);
    if (!m) {
      t.byLength.set(p.length, (m = new Map()));
      t.lengths = [...t.byLength.keys()].sort((a, b) => b - a);
    }
    m.set(maskedKey(p.bytes, p.length), value);
  }

  delete(prefix: string): void {
    const p = parsePrefix(prefix);
    const t = this.families[p.family];
    const m = t.byLength.get(p.length);
    if (!m) return;
    m.delete(maskedKey(p.bytes, p.length));
    if (m.size === 0) {
      t.byLength.delete(p.length);
      t.lengths = t.lengths.filter((l) => l !== p.length);
    }
  }

  /** The value of the longest prefix holding `address`; undefined if none or not an address. */
  lookup(address: string): V | undefined {
    const a = parseAddress(address);
    if (!a) return undefined;
    const t = this.families[a.family];
    for (const length of t.lengths) {
      const v = t.byLength.get(length)!.get(maskedKey(a.bytes, length));
      if (v !== undefined) return v;
    }
    return undefined;
  }
}
