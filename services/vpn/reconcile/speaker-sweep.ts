// What the bgp speaker holds is reconciled against the intent the way an
// agent's state is: a VRF `<vpn>@<node>` of this controller that no intent
// VRF names is removed, with its originated paths (the paths of the VRFs the
// intent names are made exact by every reconcile, BgpVpnRouting.originate).
//
// The removal belongs to the node's reconcile job (removeUnwantedVrfs), the
// one writer of that node's speaker VRFs and of the RDs and labels they
// carry (BullMQ runs one job per node id at a time). The job removes them
// before it releases anything, and fails (to be retried) while the speaker
// cannot answer: an RD goes back to the pool only once the speaker no
// longer uses it, else a new VRF given that RD after its hold-down would be
// refused ("VRF x@pe2 already uses this route distinguisher").
//
// Level-triggered: a VRF left behind by a crash between the intent write and
// the speaker delete, by rows removed by hand, or by a deleted node whose
// job gave up, is found by the periodic SpeakerSweep, which only queues the
// nodes concerned; their jobs remove it (a node no longer in the intent is
// forgotten: VRFs removed, then everything it held released).
import type { Logger } from '../../common/logger.js';
import type { HeldVrf, VpnRouting } from '../routes/vpn-routing.js';
import type { VrfPlacements } from '../store/reconcile-store.js';

/** Per node, the VPNs whose VRF the speaker holds for this controller though no intent VRF names it. */
export function unwantedVrfs(held: readonly HeldVrf[], wanted: readonly HeldVrf[]): Map<string, string[]> {
  const key = (v: HeldVrf) => JSON.stringify([v.vpn, v.node]);
  const keep = new Set(wanted.map(key));
  const out = new Map<string, string[]>();
  for (const h of held) {
    if (keep.has(key(h))) continue;
    out.set(h.node, [...new Set([...(out.get(h.node) ?? []), h.vpn])].sort());
  }
  return out;
}

/**
 * The node's part, run by its reconcile job: removes every VRF the speaker
 * holds for the node whose VPN is not in `live` (all of them for a node that
 * left the intent). Resolves once the speaker has confirmed each removal;
 * throws while it cannot answer, so the caller releases nothing they held.
 * Returns the VPNs whose VRF was removed.
 */
export async function removeUnwantedVrfs(routing: VpnRouting, node: string, live: ReadonlySet<string>, log: Logger): Promise<string[]> {
  const removed: string[] = [];
  for (const { vpn } of await routing.heldVrfs(node)) {
    if (live.has(vpn)) continue;
    await routing.deleteVrf(node, vpn);
    removed.push(vpn);
  }
  if (removed.length) log.info({ node, vpns: removed }, 'VRFs the intent no longer names removed from the bgp speaker');
  return removed;
}

export interface SpeakerSweepOptions {
  routing: VpnRouting;
  /** The intent's VRFs. */
  vrfs: VrfPlacements;
  /** Queues a reconcile of each node. */
  enqueue(nodes: string[]): Promise<unknown>;
  log: Logger;
}

/** The periodic part: queues the nodes whose speaker VRFs no intent names. */
export class SpeakerSweep {
  constructor(private readonly o: SpeakerSweepOptions) {}

  /** One pass: the nodes queued, with the VPNs of their unwanted VRFs. */
  async sweep(): Promise<Map<string, string[]>> {
    // It only queues: a node queued for a VRF wanted again meanwhile costs a reconcile that changes nothing.
    // A relayed PE-CE peer in a VRF no intent names counts as that VRF held: its node's job removes it (reconcilePeers).
    const held = [...(await this.o.routing.heldVrfs()), ...((await this.o.routing.heldPeerVrfs?.()) ?? [])];
    if (!held.length) return new Map();
    const unwanted = unwantedVrfs(held, await this.o.vrfs.on([...new Set(held.map((h) => h.node))]));
    if (unwanted.size) {
      this.o.log.info({ vrfs: [...unwanted].map(([node, vpns]) => ({ node, vpns })) }, 'the bgp speaker holds VRFs no intent names; their nodes are reconciled');
      await this.o.enqueue([...unwanted.keys()]);
    }
    return unwanted;
  }
}
