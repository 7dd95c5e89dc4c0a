// Identity of an UPDATE's attribute set, for sharing one decoded copy among
// every path that arrived with it: the path attribute octets as received,
// MP_REACH_NLRI cut down to its AFI, SAFI and next hop, MP_UNREACH_NLRI left
// out. Decoding is deterministic, so equal octets mean equal attributes.
import { encodeAttributes } from '../wire/attributes.js';
import { AttrFlag, AttrType, HEADER_LENGTH } from '../wire/constants.js';
import type { UpdateMessage } from '../wire/update.js';

function text(b: Uint8Array, start: number, end: number): string {
  // latin1 keeps one char per octet; short runs are cheaper char by char.
  if (end - start < 24) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}

/** The key of a whole UPDATE message's attribute set; falls back to re-encoding when `raw` is empty. */
export function attributeKey(raw: Uint8Array, update: UpdateMessage): string {
  if (raw.length < HEADER_LENGTH + 4) return fallback(update);
  const wLen = (raw[HEADER_LENGTH]! << 8) | raw[HEADER_LENGTH + 1]!;
  const aLenAt = HEADER_LENGTH + 2 + wLen;
  const aLen = (raw[aLenAt]! << 8) | raw[aLenAt + 1]!;
  let o = aLenAt + 2;
  const end = Math.min(raw.length, o + aLen);
  let key = '';
  let runStart = o;
  while (o + 3 <= end) {
    const ext = (raw[o]! & AttrFlag.EXTENDED_LENGTH) !== 0;
    const head = ext ? 4 : 3;
    const len = ext ? (raw[o + 2]! << 8) | raw[o + 3]! : raw[o + 2]!;
    const type = raw[o + 1]!;
    const next = o + head + len;
    if (type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI) {
      key += text(raw, runStart, o);
      if (type === AttrType.MP_REACH_NLRI) {
        const v = o + head;
        const nhLen = raw[v + 3] ?? 0;
        // AFI, SAFI, next-hop length and next hop.
        key += '\u0100' + text(raw, v, Math.min(next, v + 4 + nhLen));
      }
      runStart = next;
    }
    o = next;
  }
  key += text(raw, runStart, end);
  return key;
}

function fallback(update: UpdateMessage): string {
  const bytes = encodeAttributes(update.attributes, { fourOctetAs: true });
  let s = text(bytes, 0, bytes.length);
  const nh = update.mpReach?.nextHop;
  if (nh) s += `\u0100${nh.address}|${nh.linkLocal ?? ''}`;
  return s;
}
