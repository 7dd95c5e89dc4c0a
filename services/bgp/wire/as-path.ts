// AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 6793): segments of 2- or 4-octet
// AS numbers, and the §4.2.3 reconstruction of the real path from a 2-octet
// AS_PATH plus AS4_PATH.
import { AS_TRANS, AsPathSegmentType, AsPathSegmentTypeValue } from './constants.js';
import { readUint16, readUint32 } from './ip.js';

export interface AsPathSegment {
  readonly type: AsPathSegmentTypeValue;
  readonly asns: readonly number[];
}
export type AsPath = readonly AsPathSegment[];

/** Decodes segments of 2- or 4-octet AS numbers; a reason string if malformed (RFC 7606 §7.2). */
export function decodeAsPath(value: Uint8Array, asSize: 2 | 4): AsPath | string {
  const segments: AsPathSegment[] = [];
  let o = 0;
  while (o < value.length) {
    if (o + 2 > value.length) return 'truncated segment header';
    const type = value[o]!;
    const count = value[o + 1]!;
    if (type < AsPathSegmentType.AS_SET || type > AsPathSegmentType.AS_CONFED_SET) return `unknown segment type ${type}`;
    if (count === 0) return 'empty segment';
    o += 2;
    if (o + count * asSize > value.length) return 'segment overruns the attribute';
    const asns: number[] = new Array(count);
    for (let i = 0; i < count; i++, o += asSize) asns[i] = asSize === 4 ? readUint32(value, o) : readUint16(value, o);
    segments.push({ type: type as AsPathSegmentTypeValue, asns });
  }
  return segments;
}

/**
 * Encodes segments, splitting any longer than 255 AS numbers. With asSize 2,
 * an AS number above 65535 is written as AS_TRANS (RFC 6793 §4.2.2).
 */
export function encodeAsPath(path: AsPath, asSize: 2 | 4): Uint8Array {
  let size = 0;
  for (const seg of path) size += 2 * Math.ceil(seg.asns.length / 255) + seg.asns.length * asSize;
  const out = new Uint8Array(size);
  let o = 0;
  for (const seg of path) {
    for (let start = 0; start < seg.asns.length; start += 255) {
      const chunk = seg.asns.slice(start, start + 255);
      out[o++] = seg.type;
      out[o++] = chunk.length;
      for (const asn of chunk) {
        if (!Number.isInteger(asn) || asn < 0 || asn > 0xffffffff) throw new RangeError(`AS number ${asn} is out of range`);
        if (asSize === 4) {
          out[o] = asn >>> 24;
          out[o + 1] = asn >>> 16;
          out[o + 2] = asn >>> 8;
          out[o + 3] = asn;
          o += 4;
        } else {
          const v = asn > 0xffff ? AS_TRANS : asn;
          out[o] = v >>> 8;
          out[o + 1] = v;
          o += 2;
        }
      }
    }
  }
  return out;
}

/** Path length for best-path selection (RFC 4271 §9.1.2.2): a set counts 1, confederation segments 0. */
export function asPathLength(path: AsPath): number {
  let n = 0;
  for (const seg of path) {
    if (seg.type === AsPathSegmentType.AS_SEQUENCE) n += seg.asns.length;
    else if (seg.type === AsPathSegmentType.AS_SET) n += 1;
  }
  return n;
}

export function hasFourOctetAs(path: AsPath): boolean {
  return path.some((seg) => seg.asns.some((asn) => asn > 0xffff));
}

function isConfed(seg: AsPathSegment): boolean {
  return seg.type === AsPathSegmentType.AS_CONFED_SEQUENCE || seg.type === AsPathSegmentType.AS_CONFED_SET;
}

/** AS4_PATH never carries confederation segments (RFC 6793 §3, §6). */
export function withoutConfederation(path: AsPath): AsPath {
  return path.some(isConfed) ? path.filter((seg) => !isConfed(seg)) : path;
}

/**
 * RFC 6793 §4.2.3: the path a 2-octet peer meant. If AS_PATH is shorter
 * than AS4_PATH, AS4_PATH is ignored; otherwise the leading AS numbers of
 * AS_PATH that AS4_PATH does not cover are kept, followed by AS4_PATH.
 */
export function mergeAs4Path(asPath: AsPath, as4Path: AsPath): AsPath {
  const as4 = withoutConfederation(as4Path);
  const extra = asPathLength(asPath) - asPathLength(as4);
  if (extra < 0) return asPath;
  const merged: AsPathSegment[] = [];
  let need = extra;
  for (const seg of asPath) {
    if (need === 0) break;
    if (seg.type === AsPathSegmentType.AS_SEQUENCE) {
      const take = Math.min(need, seg.asns.length);
      merged.push(take === seg.asns.length ? seg : { type: seg.type, asns: seg.asns.slice(0, take) });
      need -= take;
    } else {
      merged.push(seg);
      if (seg.type === AsPathSegmentType.AS_SET) need -= 1;
    }
  }
  // Join a trailing kept AS_SEQUENCE with a leading AS4_PATH AS_SEQUENCE, as one path.
  const last = merged[merged.length - 1];
  const first = as4[0];
  if (last && first && last.type === AsPathSegmentType.AS_SEQUENCE && first.type === AsPathSegmentType.AS_SEQUENCE && last.asns.length + first.asns.length <= 255) {
    merged[merged.length - 1] = { type: last.type, asns: [...last.asns, ...first.asns] };
    return [...merged, ...as4.slice(1)];
  }
  return [...merged, ...as4];
}

/** "65001 65002 {65003,65004} (65005)" in the usual CLI notation. */
export function formatAsPath(path: AsPath): string {
  return path
    .map((seg) => {
      const list = seg.asns.join(seg.type === AsPathSegmentType.AS_SET || seg.type === AsPathSegmentType.AS_CONFED_SET ? ',' : ' ');
      switch (seg.type) {
        case AsPathSegmentType.AS_SET:
          return `{${list}}`;
        case AsPathSegmentType.AS_CONFED_SEQUENCE:
          return `(${list})`;
        case AsPathSegmentType.AS_CONFED_SET:
          return `[${list}]`;
        default:
          return list;
      }
    })
    .join(' ');
}
