// A large desired state of one PE built without the controller: `vrfs`
// VRFs with `routesPerVrf` remote routes each (the same prefixes in every
// VRF, as customers reuse private space), one per-VRF label each and one
// transport path. For tests and benches of the agent and its drivers.
import {
  ChangeKind,
  type DesiredStateDelta,
  NodeRole,
  type LfibEntry,
  type NodeDesiredState,
  type RemotePeNextHop,
  type VrfInstance,
  type VrfRoute,
  VrfRouteSource,
  LookupFamily,
} from '../common/gen/proto/l3vpn/v1/agent.js';

export interface SyntheticOptions {
  node?: string;
  vrfs: number;
  routesPerVrf: number;
  generation?: number;
  /** Port / interface names used for CEs and the core. */
  ceInterface?: string;
  coreInterface?: string;
}

export const syntheticPrefix = (j: number) => `${10 + (j >> 16)}.${(j >> 8) & 255}.${j & 255}.0/24`;
export const syntheticVrfName = (i: number) => `vrf${String(i).padStart(5, '0')}`;
export const SYNTHETIC_VRF_LABEL_BASE = 200_000;

export function syntheticState(o: SyntheticOptions): NodeDesiredState {
  const ce = o.ceInterface ?? 'cust0';
  const core = o.coreInterface ?? 'core0';
  const vrfs: VrfInstance[] = [];
  const vrfRoutes: VrfRoute[] = [];
  const lfibEntries: LfibEntry[] = [];
  for (let i = 0; i < o.vrfs; i++) {
    const name = syntheticVrfName(i);
    vrfs.push({
      name,
      tableId: 1000 + i,
      rd: `65000:${i}`,
      importRouteTargets: [`65000:${i}`],
      exportRouteTargets: [`65000:${i}`],
      interfaces: [{ name: ce, vlan: (i % 4094) + 1, addresses: ['192.168.0.1/30'], bgpSessions: [] }],
      vpn: `vpn${i}`,
    });
    lfibEntries.push({ inLabel: SYNTHETIC_VRF_LABEL_BASE + i, action: { $case: 'popAndLookup', value: { vrf: name, family: LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } }, owner: `vrf:${name}` });
    const nh: RemotePeNextHop = {
      labels: [16002, 100_000 + i],
      outInterface: core,
      nextHop: '10.0.0.1',
      remotePe: 'PE2',
      remotePeAddress: '10.255.0.2',
      externalTransport: false,
      rd: `65000:${i}`,
      // No LFIB entry of PE2's SID here: routes go straight out of the core port, not through a group.
      localSidLabel: 0,
    };
    for (let j = 0; j < o.routesPerVrf; j++) {
      vrfRoutes.push({ vrf: name, prefix: syntheticPrefix(j), nextHop: { $case: 'remote', value: nh }, source: VrfRouteSource.VRF_ROUTE_SOURCE_BGP_VPN, multipath: [] });
    }
  }
  return {
    node: o.node ?? 'PE1',
    generation: o.generation ?? 1,
    role: NodeRole.NODE_ROLE_PE,
    transport: undefined,
    vrfs,
    vrfRoutes,
    lfibEntries,
    transportPaths: [{ remoteNode: 'PE2', remoteAddress: '10.255.0.2', labels: [16002], outInterface: core, nextHop: '10.0.0.1', metric: 20, backup: undefined }],
  };
}

/** The delta from generation `from` to `from + 1` that changes one VRF route. */
export function oneRouteDelta(node: string, from: number, old: VrfRoute, updated: VrfRoute): DesiredStateDelta {
  return {
    node,
    fromGeneration: from,
    generation: from + 1,
    changes: [{ kind: ChangeKind.CHANGE_KIND_MODIFY, entry: { entry: { $case: 'vrfRoute', value: updated } }, previous: { entry: { $case: 'vrfRoute', value: old } } }],
    transport: undefined,
    role: 0,
  };
}
