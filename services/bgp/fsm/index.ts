// Public surface of the BGP finite state machine (RFC 4271 §8).
export * from './types.js';
export { BgpFsm } from './fsm.js';
export {
  BGP_VERSION,
  ceaseForStop,
  checkOpen,
  effectiveFamilies,
  formatBgpId,
  fsmError,
  notification,
  parseBgpId,
  type OpenCheck,
  type OpenCheckParams,
} from './negotiate.js';
export { CollisionResolver, collisionWinner, type CollisionResolverConfig, type ConnectionView, type Direction } from './collision.js';
export {
  FakeClock,
  FsmDriver,
  PeerConnections,
  systemClock,
  type Clock,
  type FsmDriverOptions,
  type PeerConnection,
  type PeerConnectionsOptions,
} from './driver.js';
