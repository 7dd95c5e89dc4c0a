// Which IPv6 routes a label pop cannot deliver on an OVS bridge. Pure.
//
// OpenFlow cannot see the IP version under an MPLS label, so a label that
// pops into a VRF lookup (the per-VRF label, RFC 4364 §4.3.2, or the
// per-prefix label of a connected subnet) pops to IPv4 on this driver. An
// IPv6 route of the VRF that the egress PE reaches from the core only under
// such a label would black-hole: the driver refuses it (a failure of the
// route's entry, so the controller neither calls its site active nor
// advertises it). A route with a pop-and-forward label of its own CE next
// hop (per-CE, per-prefix) is delivered by that label, whatever the family;
// one that pops to an IPv6 lookup (the VRF's IPv6 label, an IPv6 connected
// subnet's label) is what the controller advertises the VRF's IPv6 routes
// with instead of the VRF label (a per-VRF label per address family).
// Which label a local route is advertised with follows the VPN's label
// mode (services/vpn/routes/route-selection.ts): per-VRF -> the VRF label;
// per-CE -> the CE's label, a connected subnet the VRF label when there is
// one; per-prefix -> the prefix's label, a connected subnet pops to a lookup.
import { type CeNextHop, type LfibEntry, LookupFamily, type VrfRoute } from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { parsePrefix } from '../../../common/desired-state/prefix.js';

const sameCe = (a: CeNextHop, b: CeNextHop) => a.interface === b.interface && a.vlan === b.vlan && a.address === b.address;

/** The node's VPN labels that pop (into a lookup, or to a CE), kept as the LFIB changes. */
export class LookupPops {
  private readonly entries = new Map<number, LfibEntry>();

  /** Holds exactly these entries (the desired state's LFIB). */
  reset(entries: readonly LfibEntry[]): void {
    this.entries.clear();
    for (const e of entries) this.set(e);
  }

  set(e: LfibEntry): void {
    const c = e.action?.$case;
    if (c === 'popAndLookup' || c === 'popAndForward') this.entries.set(e.inLabel, e);
    else this.entries.delete(e.inLabel);
  }

  delete(inLabel: number): void {
    this.entries.delete(inLabel);
  }

  /** Why the route cannot be delivered from the core on OVS, or undefined when it can (or is not a local IPv6 route). */
  refusal(r: VrfRoute): string | undefined {
    const nh = r.nextHop;
    if (nh?.$case !== 'local') return undefined;
    let family: 4 | 6;
    try {
      family = parsePrefix(r.prefix).family;
    } catch {
      return undefined; // the pipeline names a bad prefix
    }
    if (family !== 6) return undefined;
    const lookups: number[] = [];
    for (const e of this.entries.values()) {
      const a = e.action;
      if (a?.$case === 'popAndForward' && a.value.vrf === r.vrf && nh.value.address && a.value.nextHop && sameCe(a.value.nextHop, nh.value)) return undefined;
      if (a?.$case !== 'popAndLookup' || a.value.vrf !== r.vrf) continue;
      if (a.value.family === LookupFamily.LOOKUP_FAMILY_IPV6) return undefined;
      lookups.push(e.inLabel);
    }
    if (!lookups.length) return undefined;
    const label = Math.min(...lookups);
    return (
      `IPv6 ${r.prefix} of VRF ${r.vrf} is reached from the core under label ${label}, popped to a lookup in the VRF, ` +
      'which pops to IPv4 on OVS (OpenFlow cannot see the IP version under an MPLS label): the VRF needs an IPv6 label, or per-CE labels'
    );
  }
}
