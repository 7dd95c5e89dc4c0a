// The one interface every data-plane driver (soft, ovs, linux) implements.
// A driver knows only entries of the desired-state model (agent.proto); the
// agent decides what to change and in which order, the driver makes it so
// in the tables it owns and says what it has.
import type {
  DesiredStateChange,
  LfibEntry,
  PortState,
  TransportPath,
  VrfInstance,
  VrfRoute,
} from '../common/gen/proto/l3vpn/v1/agent.js';

/** What a driver has installed, in the desired-state model's terms (any order). */
export interface InstalledState {
  vrfs: VrfInstance[];
  vrfRoutes: VrfRoute[];
  lfibEntries: LfibEntry[];
  /** Empty unless the driver programs transport paths (Driver.programsTransportPaths). */
  transportPaths: TransportPath[];
}

/** A change the driver could not make, with its reason as the driver gives it. */
export interface ChangeFailure {
  /** Index of the change in the list given to apply(). */
  index: number;
  reason: string;
}

export interface Driver {
  /** "soft", "ovs", "linux": reported to the controller. */
  readonly name: string;
  /**
   * Whether transport paths are entries of their own (hierarchical next
   * hops: OpenFlow groups, Linux nexthop objects). When false the agent
   * neither sends transport-path changes nor expects them back from read():
   * every remote route carries its whole label stack anyway.
   */
  readonly programsTransportPaths: boolean;
  /**
   * Reads what is really installed in the driver's own tables. An entry
   * changed by hand comes back with its installed contents (or as far as the
   * driver can tell them apart); something in its tables that no entry
   * explains comes back as a entry with the key it occupies, so the agent can
   * delete it.
   *
   * `expected` is the desired state the agent holds. A driver whose tables
   * keep less than the model (an OpenFlow flow has no RD, no owner, no VRF
   * name) returns the expected entry where what it has installed is exactly
   * what that entry installs, and something unequal to it where it differs.
   */
  read(expected?: InstalledState): Promise<InstalledState>;
  /**
   * Makes the changes in list order. Each change is idempotent and keyed:
   * ADD and MODIFY mean "the key holds this entry" (ADD of an existing key
   * replaces it, MODIFY of a missing key adds it), DELETE means "the key is
   * absent". A failed change does not stop the ones after it; the agent's
   * order already keeps dependants after what they depend on.
   */
  apply(changes: readonly DesiredStateChange[]): Promise<ChangeFailure[]>;
  /**
   * The operational state of each named interface now, in the data plane's
   * words ("no such port", "link down", "administratively down").
   */
  portStates(interfaces: readonly string[]): Promise<PortState[]>;
  /** `fn` runs when the data plane signals that a port changed (OVS PORT_STATUS). */
  onPortChange(fn: () => void): void;
  /** Whether onPortChange tells every change; when false the agent reads port states every agent.port-poll-ms. */
  readonly signalsPortChanges: boolean;
  /** Datagrams to and from the node's own core link addresses through the data plane (BFD); absent when the driver cannot carry them. */
  readonly coreIo?: CoreIo;
  /** Releases connections; leaves the installed state in place (headless forwarding). */
  close(): Promise<void>;
}

/** A UDP datagram on a core link, sent or received by the agent itself. */
export interface CoreDatagram {
  /** The core interface (as the desired state names it). */
  interface: string;
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
  /** IP TTL: set on sending, as received on receiving (RFC 5881 §5 GTSM). */
  ttl: number;
  payload: Uint8Array;
}

/**
 * The agent's own UDP on core links, as a router's control plane sends and
 * receives through its forwarding plane: the datagrams travel over the
 * link itself, so they prove that it forwards.
 */
export interface CoreIo {
  /** Receive datagrams to `port` at these local addresses on these interfaces (and answer ARP for them); replaces the previous set. */
  bind(bindings: readonly { interface: string; address: string }[], port: number): Promise<void>;
  send(d: CoreDatagram): void;
  onDatagram(fn: (d: CoreDatagram) => void): void;
}
