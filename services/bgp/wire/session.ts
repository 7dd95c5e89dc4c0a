// What the codec must know about a session to read and write its UPDATEs.
import { MAX_MESSAGE_LENGTH } from './constants.js';
import type { AttributeSetCache } from './update.js';

export interface SessionOptions {
  /** Both sides sent the 4-octet AS capability (RFC 6793). */
  readonly fourOctetAs: boolean;
  /** Largest message: 4096, or 65535 with RFC 8654 Extended Message negotiated. */
  readonly maxMessageLength?: number;
  /** Largest label stack in a reachable NLRI (RFC 8277 Multiple Labels); 1 when not negotiated. */
  readonly multipleLabels?: number;
  /** An eBGP session: a LOCAL_PREF it sends is ignored (RFC 4271 §5.1.5), neither selected on nor passed on. */
  readonly external?: boolean;
  /** Problem-free attribute sets received on this session, decoded once (see AttributeSetCache). */
  readonly attributeCache?: AttributeSetCache;
}

export const DEFAULT_SESSION: SessionOptions = { fourOctetAs: true, maxMessageLength: MAX_MESSAGE_LENGTH, multipleLabels: 1 };

export function maxLength(session: SessionOptions): number {
  return session.maxMessageLength ?? MAX_MESSAGE_LENGTH;
}
