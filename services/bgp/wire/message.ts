// One entry point from a framed message to its decoded form.
import { HEADER_LENGTH, MessageType } from './constants.js';
import { checkHeader } from './header.js';
import { BgpError, NotificationMessage, decodeNotification } from './notification.js';
import { OpenMessage, decodeOpen } from './open.js';
import { RouteRefreshMessage, decodeRouteRefresh } from './route-refresh.js';
import { SessionOptions, maxLength } from './session.js';
import { UpdateMessage, decodeUpdate } from './update.js';

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

export type DecodeResult =
  | { readonly ok: true; readonly message: BgpMessage }
  /** The session must send `error` as a NOTIFICATION and close; `update` is the UPDATE that caused it, if one did. */
  | { readonly ok: false; readonly error: BgpError; readonly update?: UpdateMessage };

const KEEPALIVE_MESSAGE: KeepaliveMessage = { type: 'keepalive' };

/**
 * Decodes one whole message as the splitter returns it. Never throws. An
 * UPDATE whose RFC 7606 action is treat-as-withdraw or attribute-discard is
 * still ok: check `message.action`.
 */
export function decodeMessage(message: Uint8Array, session: SessionOptions): DecodeResult {
  if (message.length < HEADER_LENGTH) return { ok: false, error: { code: 1, subcode: 2, data: Uint8Array.of(0, message.length) } };
  const length = checkHeader(message, 0, maxLength(session));
  if (typeof length !== 'number') return { ok: false, error: length };
  if (length !== message.length) return { ok: false, error: { code: 1, subcode: 2, data: message.slice(16, 18) } };
  const body = message.subarray(HEADER_LENGTH);
  switch (message[18]) {
    case MessageType.UPDATE: {
      const update = decodeUpdate(body, session);
      if (update.notification) return { ok: false, error: update.notification, update };
      return { ok: true, message: update };
    }
    case MessageType.KEEPALIVE:
      return { ok: true, message: KEEPALIVE_MESSAGE };
    case MessageType.OPEN: {
      const open = decodeOpen(body);
      return 'type' in open ? { ok: true, message: open } : { ok: false, error: open };
    }
    case MessageType.NOTIFICATION:
      return { ok: true, message: decodeNotification(body) };
    default: {
      const rr = decodeRouteRefresh(message, body);
      return 'type' in rr ? { ok: true, message: rr } : { ok: false, error: rr };
    }
  }
}
