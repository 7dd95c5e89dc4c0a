// MPLS label spaces of a managed node: the dynamic range that VRF, prefix and
// CE labels come from, and the SRGB that node SIDs come from (RFC 8402 §3.1,
// label = SRGB base + SID index). Pure validation and defaults.

/** Labels 0-15 are reserved (RFC 3032 §2.1) and never handed out. */
export const FIRST_UNRESERVED_LABEL = 16;
/** Labels are 20 bits. */
export const MAX_LABEL = 0xfffff;

export interface LabelRange {
  min: number;
  max: number;
}

export interface SrgbBlock {
  base: number;
  size: number;
}

export interface NodeLabelSpaces {
  dynamic: LabelRange;
  srgb: SrgbBlock;
  holdDownMs: number;
}

export class LabelSpaceError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'LabelSpaceError';
  }
}

export function parseLabelRange(text: string, field: string): LabelRange {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
  if (!m) throw new LabelSpaceError(field, `'${text}' is not a range like 16-1048575`);
  return { min: Number(m[1]), max: Number(m[2]) };
}

export function validateLabelRange(range: LabelRange, field: string): void {
  if (!Number.isInteger(range.min) || !Number.isInteger(range.max)) throw new LabelSpaceError(field, 'must be whole numbers');
  if (range.min < FIRST_UNRESERVED_LABEL) {
    throw new LabelSpaceError(field, `starts at ${range.min}, but labels 0-15 are reserved (RFC 3032); the lowest is 16`);
  }
  if (range.max > MAX_LABEL) throw new LabelSpaceError(field, `ends at ${range.max}, past the largest label ${MAX_LABEL}`);
  if (range.min > range.max) throw new LabelSpaceError(field, `min ${range.min} is above max ${range.max}`);
}

export function srgbRange(srgb: SrgbBlock): LabelRange {
  return { min: srgb.base, max: srgb.base + srgb.size - 1 };
}

export function validateSrgb(srgb: SrgbBlock, field: string): void {
  if (!Number.isInteger(srgb.size) || srgb.size < 1) throw new LabelSpaceError(`${field}.size`, 'must be at least 1');
  validateLabelRange(srgbRange(srgb), field);
}

/** Labels of the dynamic range that the SRGB takes out of it (the SRGB may sit inside the range). */
export function srgbOverlap(dynamic: LabelRange, srgb: SrgbBlock): number {
  const s = srgbRange(srgb);
  const lo = Math.max(dynamic.min, s.min);
  const hi = Math.min(dynamic.max, s.max);
  return hi >= lo ? hi - lo + 1 : 0;
}
