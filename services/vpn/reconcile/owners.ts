// Owner keys of what the vpn service takes from the labels service. Stable:
// the same intent always names the same owner, so allocation is idempotent
// across retries, duplicate jobs and restarts.
export const owners = {
  /** A node's SID index, in the SR domain's index space. */
  sid: (node: string) => `sid:${node}`,
  /** A VRF's per-VRF label (on its node) and its RD from the pool. */
  vrf: (vpn: string, node: string) => `vrf:${vpn}:${node}`,
  /**
   * A VRF's IPv6 label (on its node), beside its per-VRF label: a per-VRF
   * label per address family, so a data plane that cannot see the IP version
   * under a label (OpenFlow) pops IPv6 under it. Released with the VRF.
   */
  vrfIpv6: (vpn: string, node: string) => `vrf:${vpn}:${node}:ipv6`,
  /** Per-CE mode: the label of one CE (a site's attachment of one family). */
  ce: (vpn: string, site: string, family: 4 | 6) => `ce:${vpn}:${site}:v${family}`,
  /** Per-prefix mode: the label of one prefix of a VRF. */
  prefix: (vpn: string, node: string, prefix: string) => `prefix:${vpn}:${node}:${prefix}`,
  /** A VPN's route target of one role (any-to-any, hub, spoke). */
  routeTarget: (vpn: string, role: string) => `rt:${vpn}:${role}`,
  /** A VPN's given RD, registered so the pool never hands it out. */
  vpnRd: (vpn: string) => `rd:${vpn}`,
};

/** The labels-service "node" whose SRGB index space numbers node SIDs across the SR domain. */
export const SR_DOMAIN = 'sr-domain';

/** VRF table ids start here on every node (below: room for the node's own tables). */
export const FIRST_TABLE_ID = 1000;
