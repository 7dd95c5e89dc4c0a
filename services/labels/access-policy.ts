// Who may call which LabelsService method: the vpn service allocates,
// releases and configures; operators read. A method missing here is refused
// (and does not compile: accessPolicy wants every method of the definition).
import { LabelsServiceService } from '../common/gen/proto/l3vpn/v1/labels.js';
import { accessPolicy, type AccessRule } from '../common/grpc/access-control.js';

const VPN: AccessRule = ['service:vpn'];
const READERS: AccessRule = ['service:vpn', 'operator:*'];

export const labelsAccessPolicy = accessPolicy(LabelsServiceService, {
  configureLabelSpaces: VPN,
  getLabelSpaces: READERS,
  allocateLabel: VPN,
  allocateLabels: VPN,
  releaseLabel: VPN,
  releaseLabels: VPN,
  getLabel: READERS,
  listLabels: READERS,
  allocateRouteDistinguisher: VPN,
  releaseRouteDistinguisher: VPN,
  listRouteDistinguishers: READERS,
  allocateRouteTarget: VPN,
  releaseRouteTarget: VPN,
  listRouteTargets: READERS,
  configurePool: VPN,
});
