// BgpService.RelayPeerSession: the byte stream of a relayed PE-CE session
// (BGP-as-a-service). The CE peers with the PE's access address; the PE's
// agent accepts that TCP connection and the controller relays it here. The
// first frame names the peer (open), the rest are its bytes; from then on
// the stream is that peer's connection, handled like one accepted on the
// TCP listener (collisions, RFC 4271 §6.8; its end is the connection's
// loss, so RFC 4724 keeps a restarting CE's routes as stale).
import type { Logger } from '../common/logger.js';
import { ApiError, failedPrecondition, invalidArgument, notFound, toServiceError, unavailable } from '../common/grpc/errors.js';
import { checkAddress } from '../common/net/classify.js';
import type { RelayPeerSessionRequest, RelayedSessionOpen } from '../common/gen/proto/l3vpn/v1/bgp.js';
import { RelayConduit, type RelayCall } from './relay-conduit.js';
import { Speaker, SpeakerError } from './speaker/speaker.js';

interface RelayOpen {
  readonly vrf: string;
  readonly peerAddress: string;
  readonly localAddress: string | undefined;
}

function field(text: string, name: string, required: boolean): string | undefined {
  if (!text) {
    if (required) throw invalidArgument(name, 'is required');
    return undefined;
  }
  const checked = checkAddress(text, { refused: ['unspecified', 'multicast', 'broadcast'] });
  if (!checked.ok) throw invalidArgument(name, checked.problem);
  return checked.text;
}

/** The open frame, checked; INVALID_ARGUMENT naming the field. */
export function relayOpen(req: RelayPeerSessionRequest): RelayOpen {
  if (req.frame?.$case !== 'open') throw invalidArgument('open', 'the first frame of a relayed session must be open');
  const o: RelayedSessionOpen = req.frame.value;
  const vrf = o.vrf.trim();
  if (!vrf) throw invalidArgument('open.vrf', 'is required');
  if (/[\u0000-\u001f\u007f]/.test(vrf)) throw invalidArgument('open.vrf', 'contains a control character');
  return { vrf, peerAddress: field(o.peerAddress, 'open.peer_address', true)!, localAddress: field(o.localAddress, 'open.local_address', false) };
}

function translate(err: unknown): unknown {
  if (!(err instanceof SpeakerError)) return err;
  if (err.kind === 'not-found') return notFound(err.message);
  if (err.kind === 'precondition') return failedPrecondition(err.message);
  if (err.kind === 'unavailable') return unavailable(err.message);
  return invalidArgument('open.peer_address', err.message);
}

export function relayPeerSession(speaker: Speaker, log: Logger): (call: RelayCall) => void {
  return (call) => {
    const refuse = (err: unknown) => {
      const e = translate(err);
      if (!(e instanceof ApiError)) log.error({ err }, 'RelayPeerSession failed');
      call.emit('error', toServiceError(e));
    };
    // A relay that closes before its open frame: nothing to do.
    const early = () => call.end();
    call.once('end', early);
    call.on('error', () => undefined); // a cancelled call before its open frame
    call.once('data', (req: RelayPeerSessionRequest) => {
      call.off('end', early);
      let open: RelayOpen;
      try {
        open = relayOpen(req);
      } catch (err) {
        refuse(err);
        return;
      }
      // Created before the peer is known: its listeners must be on the call before the next frame.
      const conduit = new RelayConduit(call, open.localAddress);
      let name: string;
      try {
        name = speaker.relay(open.vrf, open.peerAddress, conduit).address;
      } catch (err) {
        refuse(err);
        return;
      }
      const started = Date.now();
      log.info({ vrf: open.vrf, peer: name, localAddress: open.localAddress }, 'relayed session opened');
      conduit.once('close', () => log.info({ vrf: open.vrf, peer: name, seconds: Math.round((Date.now() - started) / 1000) }, 'relayed session closed'));
    });
  };
}
