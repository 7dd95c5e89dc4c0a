// Who may call which BgpService method: the vpn service everything (it
// defines VRFs and originates routes); operators the reads and watches.
// A method missing here is refused (and does not compile: accessPolicy wants
// every method of the definition).
import { BgpServiceService } from '../common/gen/proto/l3vpn/v1/bgp.js';
import { accessPolicy, type AccessRule } from '../common/grpc/access-control.js';

const VPN: AccessRule = ['service:vpn'];
const READERS: AccessRule = ['service:vpn', 'operator:*'];

export const bgpAccessPolicy = accessPolicy(BgpServiceService, {
  getGlobal: READERS,
  completeRestart: VPN,
  addPeer: VPN,
  updatePeer: VPN,
  deletePeer: VPN,
  disablePeer: VPN,
  enablePeer: VPN,
  resetPeer: VPN,
  softResetPeer: VPN,
  listPeers: READERS,
  addPath: VPN,
  deletePath: VPN,
  listPath: READERS,
  watchEvent: READERS,
  addVrf: VPN,
  updateVrf: VPN,
  deleteVrf: VPN,
  listVrfs: READERS,
  relayPeerSession: VPN,
  addVrfPath: VPN,
  deleteVrfPath: VPN,
  changeVrfPaths: VPN,
  setVrfExportReady: VPN,
  listVrfPaths: READERS,
  watchVrfRoutes: READERS,
});
