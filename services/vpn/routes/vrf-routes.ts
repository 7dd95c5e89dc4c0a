// Where a VRF's route table comes from.
//
// TODO(issue 5): ask the bgp service (BgpService.ListPath on the VRF's
// table, or its event stream) once it carries VRF tables; until then every
// VRF answers 'unavailable' with the reason, never made-up routes.
import type { VrfRoutesSource } from '../intent/intent-service.js';
import type { RoutesView } from '../intent/types.js';

export class UnavailableRoutes implements VrfRoutesSource {
  constructor(private readonly reason: string) {}
  async routes(): Promise<RoutesView> {
    return { state: 'unavailable', reason: this.reason, routes: [] };
  }
}

export function vrfRoutesSource(bgpAddress: string): VrfRoutesSource {
  return new UnavailableRoutes(
    bgpAddress
      ? `VRF route tables are not yet read from the bgp service at ${bgpAddress} (issue 5)`
      : 'no bgp service configured (vpn.bgp-address)',
  );
}
