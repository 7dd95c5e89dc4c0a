// A decoded message (or the decoder's complaint) as the FSM event it is
// (RFC 4271 §8.1.2-§8.1.5). Pure: the peer glue feeds the result to the FSM.
import type { FsmEvent } from '../fsm/types.js';
import { ErrorCode, OpenSubcode } from '../wire/constants.js';
import type { DecodeResult } from '../wire/message.js';
import type { BgpError } from '../wire/notification.js';
import { openSummary } from './open-summary.js';

export function eventForError(error: BgpError): FsmEvent {
  const notification = { code: error.code, subcode: error.subcode, data: error.data };
  switch (error.code) {
    case ErrorCode.OPEN_MESSAGE:
      return { type: 'BGPOpenMsgErr', notification };
    case ErrorCode.UPDATE_MESSAGE:
      return { type: 'UpdateMsgErr', notification };
    default:
      // Message Header errors, and ROUTE-REFRESH Invalid Message Length
      // (RFC 7313 §5): the FSM sends the decoder's own code in every state
      // that has exchanged OPENs.
      return { type: 'BGPHeaderErr', notification };
  }
}

/** Undefined: nothing for the FSM (a ROUTE-REFRESH subtype of RFC 7313, which we do not negotiate). */
export function eventFor(result: DecodeResult): FsmEvent | undefined {
  if (!result.ok) return eventForError(result.error);
  const m = result.message;
  switch (m.type) {
    case 'open':
      return { type: 'BGPOpen', open: openSummary(m) };
    case 'keepalive':
      return { type: 'KeepAliveMsg' };
    case 'update':
      // Treat-as-withdraw and attribute-discard stay UPDATEs (RFC 7606 §2).
      return { type: 'UpdateMsg', update: m };
    case 'route-refresh':
      if (m.subtype !== 0) return undefined;
      return { type: 'RouteRefresh', family: { afi: m.afi, safi: m.safi } };
    case 'notification': {
      const notification = { code: m.code, subcode: m.subcode, data: m.data.slice() };
      // RFC 4271 §8.1.5 event 24: the peer does not speak our version.
      const versionError = m.code === ErrorCode.OPEN_MESSAGE && m.subcode === OpenSubcode.UNSUPPORTED_VERSION_NUMBER;
      return { type: versionError ? 'NotifMsgVerErr' : 'NotifMsg', notification };
    }
  }
}
