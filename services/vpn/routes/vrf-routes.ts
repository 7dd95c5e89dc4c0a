// Where a VRF's route table comes from: the bgp service's table of the
// node's VRF (ListVrfPaths, every candidate path), or, with no bgp service
// (a test that injects predicted routing), 'unavailable' with the reason,
// never made-up routes.
import { status } from '@grpc/grpc-js';
import { VrfPathOrigin, type VrfPath } from '../../common/gen/proto/l3vpn/v1/bgp.js';
import type { VrfRoutesSource } from '../intent/intent-service.js';
import type { RoutesView, VrfRoute, VrfView } from '../intent/types.js';
import { bgpVrfName, isGrpcStatus, listVrfPaths, unmappedNextHop, type BgpApi } from './bgp-client.js';

export class UnavailableRoutes implements VrfRoutesSource {
  constructor(private readonly reason: string) {}
  async routes(): Promise<RoutesView> {
    return { state: 'unavailable', reason: this.reason, routes: [] };
  }
}

function routeView(vrf: VrfView, p: VrfPath): VrfRoute {
  const remote = p.origin === VrfPathOrigin.VRF_PATH_ORIGIN_IMPORTED;
  return {
    prefix: p.prefix,
    nextHop: remote ? unmappedNextHop(p.nextHop) : p.nextHop,
    labels: p.label ? [p.label] : [],
    ...(p.rd ? { routeDistinguisher: p.rd } : {}),
    // A local route is exported with the VRF's export route targets; an imported one carries its own.
    routeTargets: remote ? [...(p.path?.routeTargets ?? [])] : [...vrf.exportRouteTargets],
    origin: remote ? 'remote' : 'local',
    best: p.best,
  };
}

export class BgpVrfRoutes implements VrfRoutesSource {
  constructor(private readonly bgp: BgpApi) {}

  async routes(vrf: VrfView): Promise<RoutesView> {
    const name = bgpVrfName(vrf.vpn, vrf.node);
    try {
      const paths = await listVrfPaths(this.bgp, name, true);
      return { state: 'available', routes: paths.map((p) => routeView(vrf, p)) };
    } catch (err) {
      const reason = isGrpcStatus(err, status.NOT_FOUND)
        ? `the bgp service has no VRF ${name} yet (defined by the reconcile of node ${vrf.node})`
        : `the bgp service did not answer: ${(err as Error).message}`;
      return { state: 'unavailable', reason, routes: [] };
    }
  }
}

export function vrfRoutesSource(bgp: BgpApi | undefined): VrfRoutesSource {
  return bgp ? new BgpVrfRoutes(bgp) : new UnavailableRoutes('no bgp service: VPN routes are predicted, not read from a speaker');
}
