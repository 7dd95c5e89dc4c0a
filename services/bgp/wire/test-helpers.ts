// Builders for hand-made wire vectors in tests.
export function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/[^0-9a-fA-F]/g, ''), 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A whole message from a type and a body. */
export function message(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(19 + body.length);
  out.fill(0xff, 0, 16);
  out[16] = out.length >> 8;
  out[17] = out.length & 0xff;
  out[18] = type;
  out.set(body, 19);
  return out;
}

/** An UPDATE body from its three parts (attributes given already encoded). */
export function updateBody(withdrawn: Uint8Array, attributes: Uint8Array, nlri: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + withdrawn.length + attributes.length + nlri.length);
  out[0] = withdrawn.length >> 8;
  out[1] = withdrawn.length & 0xff;
  out.set(withdrawn, 2);
  const o = 2 + withdrawn.length;
  out[o] = attributes.length >> 8;
  out[o + 1] = attributes.length & 0xff;
  out.set(attributes, o + 2);
  out.set(nlri, o + 2 + attributes.length);
  return out;
}

/** One attribute with a 1-octet length. */
export function attr(flags: number, type: number, value: Uint8Array | string): Uint8Array {
  const v = typeof value === 'string' ? hex(value) : value;
  return Uint8Array.from([flags, type, v.length, ...v]);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
