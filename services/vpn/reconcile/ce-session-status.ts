// What a site's PE-CE eBGP sessions add to its access's status. With
// routing.bgp the customer's routes exist only while the CE's session does:
// an access whose entries are installed but whose CE is silent carries no
// traffic to the site's networks, so it is not `active`.
//
// - never established since the speaker configured the peer: provisioning,
//   waiting for the CE (a new site whose CE is not configured yet is not an
//   outage);
// - established once and not now: down, with the speaker's last error (the
//   NOTIFICATION's IANA name, or the transport error);
// - not established but its routes still held (graceful restart, RFC 4724
//   §4.2: the speaker keeps them as stale while the agent or the CE
//   restarts, and the PE keeps forwarding): unchanged;
// - no such peer on the speaker yet: provisioning.
import type { CeSessionStatus } from '../routes/bgp-ce-peers.js';
import { aggregate, type DerivedStatus } from '../state/forwarding.js';
import type { CePeer } from './ce-peer-intent.js';

function sessionStatus(peer: CePeer, session: CeSessionStatus | undefined): DerivedStatus {
  const ce = `CE ${peer.ceAddress}`;
  if (!session) return { status: 'PROVISIONING', reason: `the BGP session with ${ce} is not on the bgp service yet` };
  if (session.state === 'established' || session.prefixesStale > 0) return { status: 'ACTIVE', reason: null };
  const why = session.lastError ? `: ${session.lastError}` : '';
  if (!session.everEstablished) return { status: 'PROVISIONING', reason: `waiting for ${ce} to open its BGP session to ${peer.peAddress} (${session.state}${why})` };
  return { status: 'DOWN', reason: `the BGP session with ${ce} is ${session.state}${why}` };
}

/**
 * The access's status from what its agent installed (`installed`) and its
 * CE sessions (`peers`, as the intent wants them; `sessions`, the node's as
 * the speaker reports them, undefined when it could not be asked: then the
 * sessions say nothing and the status stays what the install says).
 */
export function withCeSessions(installed: DerivedStatus, peers: readonly CePeer[], sessions: readonly CeSessionStatus[] | undefined): DerivedStatus {
  if (installed.status !== 'ACTIVE' || !peers.length || !sessions) return installed;
  const byCe = new Map(sessions.map((s) => [JSON.stringify([s.vpn, s.ceAddress]), s]));
  return aggregate(peers.map((p) => sessionStatus(p, byCe.get(JSON.stringify([p.vpn, p.ceAddress])))));
}
