// Harness for real, independent BGP speakers (GoBGP, FRR, BIRD) on this
// machine, for interop tests and benchmarks. See README.md beside this file.
export * from './common.js';
export { startGobgp, GobgpPeer, gobgpConfig, normaliseGobgpRib } from './gobgp.js';
export { startFrr, FrrPeer, frrConfig } from './frr.js';
export { startBird, BirdPeer, birdConfig, birdRoutesConfig, parseBirdRoutes, birdProtocolName } from './bird.js';

import type { PeerHandle, PeerKind, PeerOptions } from './common.js';
import { startGobgp } from './gobgp.js';
import { startFrr } from './frr.js';
import { startBird } from './bird.js';

/** Starts a peer of the given kind. */
export function startPeer(kind: PeerKind, opts: PeerOptions): Promise<PeerHandle> {
  switch (kind) {
    case 'gobgp':
      return startGobgp(opts);
    case 'frr':
      return startFrr(opts);
    case 'bird':
      return startBird(opts);
  }
}
export { runPropagation, runPeerDut, benchRoute, benchRoutes } from './propagation.js';
export type { ExternalDut, PropagationOptions, PropagationResult } from './propagation.js';
