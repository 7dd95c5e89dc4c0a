// What BGP would select into each PE's VRFs when every VPN is any-to-any
// and every PE runs the controller's label allocation: each VRF imports the
// connected subnets and static prefixes of the VPN's sites on other PEs,
// with the label the egress PE's mode gives them. For tests and benchmarks;
// the real input comes from the bgp service.
import { buildTopology } from '../../services/common/desired-state/topology.js';
import { parseInterfaceAddress, parsePrefix } from '../../services/common/desired-state/prefix.js';
import type { DesiredStateInput, SelectedVpnRoute, SiteIntent, VpnIntent, VrfAllocation } from '../../services/common/desired-state/types.js';

function exportedLabel(vpn: VpnIntent, vrf: VrfAllocation, site: SiteIntent, prefix: string, connected: boolean): number | undefined {
  const byPrefix = Object.entries(site.prefixLabels ?? {}).find(([p]) => parsePrefix(p, 'prefix', true).text === prefix)?.[1];
  // A VRF with an IPv6 label exports its IPv6 routes with it (a per-VRF label per address family).
  const vrfLabel = parsePrefix(prefix).family === 6 ? (vrf.vrfLabelIpv6 ?? vrf.vrfLabel) : vrf.vrfLabel;
  switch (vpn.labelMode) {
    case 'per-vrf':
      return vrfLabel;
    case 'per-ce':
      return connected ? (vrfLabel ?? site.ceLabel) : site.ceLabel;
    case 'per-prefix':
      return byPrefix ?? (connected ? vrfLabel : undefined);
  }
}

/** PE id -> the routes of its VRFs, any-to-any within each VPN. */
export function simulateSelectedRoutes(input: DesiredStateInput): Map<string, SelectedVpnRoute[]> {
  const topology = buildTopology(input.inventory);
  const out = new Map<string, SelectedVpnRoute[]>();
  for (const vpn of input.vpns) {
    for (const site of vpn.sites) {
      const egress = vpn.vrfs.find((v) => v.pe === site.pe);
      const egressNode = topology.byId.get(site.pe);
      if (!egress || !egressNode) continue;
      const connected = parseInterfaceAddress(site.peAddress).subnet.text;
      const prefixes: [string, boolean][] = [
        [connected, true],
        ...(site.staticPrefixes ?? []).map((p): [string, boolean] => [parsePrefix(p).text, false]),
      ];
      for (const vrf of vpn.vrfs) {
        if (vrf.pe === site.pe) continue;
        let list = out.get(vrf.pe);
        if (!list) out.set(vrf.pe, (list = []));
        for (const [prefix, isConnected] of prefixes) {
          const label = exportedLabel(vpn, egress, site, prefix, isConnected);
          if (label === undefined) continue;
          list.push({ vrf: vrf.name, prefix, nextHop: egressNode.loopback, label, rd: egress.rd });
        }
      }
    }
  }
  return out;
}
