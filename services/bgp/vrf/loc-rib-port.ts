// What the VRF glue needs of the speaker's Loc-RIB (Speaker implements it),
// so VrfService can run on a stand-in in tests.
import type { Path } from '../rib/path.js';
import type { PathAttributes } from '../wire/attributes.js';
import type { NextHop } from '../wire/next-hop.js';
import type { Family, Route } from '../wire/nlri.js';
import type { RouteTarget } from '../../common/vpn/route-target.js';

export interface LocalPathInput {
  readonly family: Family;
  readonly route: Route;
  /** Undefined: next-hop-self. */
  readonly nextHop?: NextHop;
  readonly attributes: PathAttributes;
}

export type BestChangeListener = (family: Family, best: Path | undefined, previous: Path | undefined) => void;

export interface LocRibPort {
  /** Loc-RIB best changes, every family; returns the unsubscribe function. */
  onBestChange(listener: BestChangeListener): () => void;
  bests(family: Family): Iterable<Path>;
  /** A local path (source 'local') into the Loc-RIB, replacing the one with its key. */
  addPath(spec: LocalPathInput): Path;
  deletePath(family: Family, route: Route): Path | undefined;
  /** Every route target some VRF imports, after each change: what RFC 4684 peers are asked for. */
  importRouteTargetsChanged?(rts: readonly RouteTarget[]): void;
}
