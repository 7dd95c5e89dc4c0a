// The soft driver: in-memory VRFs, VRF routes and LFIB that can forward a
// described packet and say where it leaves and with which labels. Used by
// unit tests and by the lab where no other data plane is installed. It
// checks what a real data plane would refuse (unknown VRF, reserved label,
// interface bound twice) so failures look like a real driver's.
import {
  ChangeKind,
  type CeNextHop,
  type DesiredStateChange,
  type LfibEntry,
  LookupFamily,
  type VrfInstance,
  type VrfRoute,
} from '../../common/gen/proto/l3vpn/v1/agent.js';
import { vrfRouteKey } from '../../common/desired-state/index.js';
import { MAX_LABEL, MIN_UNRESERVED_LABEL, RESERVED_TABLE_IDS } from '../../common/desired-state/types.js';
import type { PortState } from '../../common/gen/proto/l3vpn/v1/agent.js';
import type { ChangeFailure, Driver, InstalledState } from '../driver.js';
import { PrefixTable } from './lpm.js';
import { ecmpIndex, ecmpMembers } from './ecmp.js';

const familyOf = (address: string): 4 | 6 => (address.includes(':') ? 6 : 4);

/** A packet as it arrives at the node. */
export interface Packet {
  interface: string;
  /** 802.1Q VLAN id; 0 or absent for untagged. */
  vlan?: number;
  /** MPLS label stack, outermost first; empty for an IP packet. */
  labels?: readonly number[];
  /** The IP destination address inside. */
  destination: string;
  /** The rest of the flow's 5-tuple: what picks one member of an ECMP route (ecmp.ts). */
  source?: string;
  protocol?: number;
  sourcePort?: number;
  destinationPort?: number;
}

export type Forwarding =
  | {
      action: 'forward';
      interface: string;
      vlan: number;
      /** The neighbour or CE the frame is sent to (the destination itself on a connected subnet). */
      nextHop: string;
      /** The label stack as it leaves, outermost first. */
      labels: number[];
      /** The VRF the packet was looked up in, if any. */
      vrf?: string;
    }
  | {
      /** Handed to the node's own LDP/SR to push the transport label towards the remote PE. */
      action: 'external-transport';
      remotePeAddress: string;
      labels: number[];
      vrf: string;
    }
  | { action: 'drop'; reason: string };

export interface SoftDriverOptions {
  /** Test hook: a reason to refuse a change, as a broken data plane would. */
  refuse?: (change: DesiredStateChange) => string | undefined;
}

const ifKey = (name: string, vlan: number) => `${name}.${vlan}`;

class Refused extends Error {}
const refuse = (reason: string): never => {
  throw new Refused(reason);
};

function checkLabel(label: number, what: string): void {
  // RFC 3032 §2.1: 0-15 are reserved, labels are 20 bits.
  if (!Number.isInteger(label) || label < MIN_UNRESERVED_LABEL || label > MAX_LABEL) refuse(`${what} ${label} is not a usable label (16-${MAX_LABEL})`);
}

export class SoftDriver implements Driver {
  readonly name = 'soft';
  readonly programsTransportPaths = false;
  readonly signalsPortChanges = true;
  private readonly vrfs = new Map<string, VrfInstance>();
  private readonly routes = new Map<string, VrfRoute>();
  private readonly fibs = new Map<string, PrefixTable<VrfRoute>>();
  private readonly lfib = new Map<number, LfibEntry>();
  /** (interface, vlan) -> VRF name. */
  private readonly bindings = new Map<string, string>();
  /** Changes applied, for tests that count what a delta touched. */
  changesApplied = 0;

  constructor(private readonly options: SoftDriverOptions = {}) {}

  async read(): Promise<InstalledState> {
    return { vrfs: [...this.vrfs.values()], vrfRoutes: [...this.routes.values()], lfibEntries: [...this.lfib.values()], transportPaths: [] };
  }

  async apply(changes: readonly DesiredStateChange[]): Promise<ChangeFailure[]> {
    const failures: ChangeFailure[] = [];
    changes.forEach((change, index) => {
      try {
        const reason = this.options.refuse?.(change);
        if (reason) refuse(reason);
        this.applyOne(change);
        this.changesApplied++;
      } catch (err) {
        if (!(err instanceof Refused)) throw err;
        failures.push({ index, reason: err.message });
      }
    });
    return failures;
  }

  /** Ports set down (tests); every other port is up. */
  private readonly downPorts = new Map<string, string>();
  private readonly portListeners: (() => void)[] = [];

  /** Sets a port's operational state, as a cable pulled or put back would. */
  setPort(name: string, up: boolean, reason = 'link down'): void {
    if (up) this.downPorts.delete(name);
    else this.downPorts.set(name, reason);
    for (const fn of this.portListeners) fn();
  }

  async portStates(interfaces: readonly string[]): Promise<PortState[]> {
    return interfaces.map((name) => {
      const reason = this.downPorts.get(name);
      return { interface: name, up: reason === undefined, reason: reason ?? '' };
    });
  }

  onPortChange(fn: () => void): void {
    this.portListeners.push(fn);
  }

  async close(): Promise<void> {}

  private applyOne(change: DesiredStateChange): void {
    const del = change.kind === ChangeKind.CHANGE_KIND_DELETE;
    const e = (del ? change.previous : change.entry)?.entry;
    if (!e) return refuse('change without an entry');
    switch (e.$case) {
      case 'vrf':
        return del ? this.deleteVrf(e.value.name) : this.setVrf(e.value);
      case 'vrfRoute':
        return del ? this.deleteRoute(e.value) : this.setRoute(e.value);
      case 'lfibEntry':
        return del ? void this.lfib.delete(e.value.inLabel) : this.setLfib(e.value);
      case 'transportPath':
        return; // routes carry their whole label stack
    }
  }

  /** A VRF's bgp_sessions are held with it and relay nothing: the soft driver has no packets (README, PE-CE eBGP). */
  private setVrf(v: VrfInstance): void {
    if (!v.name) refuse('VRF without a name');
    if (RESERVED_TABLE_IDS.has(v.tableId)) refuse(`table id ${v.tableId} is reserved`);
    for (const o of this.vrfs.values()) if (o.name !== v.name && o.tableId === v.tableId) refuse(`table id ${v.tableId} is used by VRF ${o.name}`);
    for (const i of v.interfaces) {
      const owner = this.bindings.get(ifKey(i.name, i.vlan));
      if (owner !== undefined && owner !== v.name) refuse(`interface ${i.name} vlan ${i.vlan} is bound to VRF ${owner}`);
    }
    this.unbind(v.name);
    for (const i of v.interfaces) this.bindings.set(ifKey(i.name, i.vlan), v.name);
    this.vrfs.set(v.name, v);
    if (!this.fibs.has(v.name)) this.fibs.set(v.name, new PrefixTable());
  }

  private unbind(vrf: string): void {
    const old = this.vrfs.get(vrf);
    for (const i of old?.interfaces ?? []) if (this.bindings.get(ifKey(i.name, i.vlan)) === vrf) this.bindings.delete(ifKey(i.name, i.vlan));
  }

  /** Like a kernel VRF, the table and its routes go with it. */
  private deleteVrf(name: string): void {
    this.unbind(name);
    this.vrfs.delete(name);
    this.fibs.delete(name);
    for (const [k, r] of this.routes) if (r.vrf === name) this.routes.delete(k);
  }

  private hasInterface(vrf: string, nh: CeNextHop): boolean {
    return this.bindings.get(ifKey(nh.interface, nh.vlan)) === vrf;
  }

  private setRoute(r: VrfRoute): void {
    const fib = this.fibs.get(r.vrf) ?? refuse(`no VRF ${r.vrf}`);
    const nh = r.nextHop;
    if (!nh) refuse('route without a next hop');
    if (nh!.$case === 'local' && !this.hasInterface(r.vrf, nh!.value)) refuse(`interface ${nh!.value.interface} vlan ${nh!.value.vlan} is not in VRF ${r.vrf}`);
    if (r.multipath.length && nh!.$case !== 'remote') refuse('ECMP members (multipath) without a remote next hop');
    for (const m of ecmpMembers(r)) {
      if (m.labels.length === 0) refuse('remote route without a label stack');
      for (const l of m.labels) checkLabel(l, 'pushed label');
    }
    try {
      fib.set(r.prefix, r);
    } catch (err) {
      refuse((err as Error).message);
    }
    this.routes.set(vrfRouteKey(r), r);
  }

  private deleteRoute(r: VrfRoute): void {
    const key = vrfRouteKey(r);
    if (!this.routes.delete(key)) return;
    this.fibs.get(r.vrf)?.delete(r.prefix);
  }

  private setLfib(e: LfibEntry): void {
    checkLabel(e.inLabel, 'incoming label');
    const a = e.action ?? refuse('LFIB entry without an action');
    switch (a.$case) {
      case 'popAndLookup':
        if (!this.vrfs.has(a.value.vrf)) refuse(`no VRF ${a.value.vrf}`);
        break;
      case 'popAndForward':
        if (!a.value.nextHop || !this.hasInterface(a.value.vrf, a.value.nextHop)) refuse(`no interface of VRF ${a.value.vrf} for the CE`);
        break;
      case 'swap':
        if (a.value.outLabels.length === 0) refuse('swap without outgoing labels');
        for (const l of a.value.outLabels) checkLabel(l, 'outgoing label');
        break;
      case 'pop':
        break;
    }
    this.lfib.set(e.inLabel, e);
  }

  /** Where a packet arriving at this node leaves, and with which labels. */
  forward(packet: Packet): Forwarding {
    const labels = packet.labels ?? [];
    if (labels.length > 0) return this.switchLabel(labels, packet);
    const vrf = this.bindings.get(ifKey(packet.interface, packet.vlan ?? 0));
    if (vrf === undefined) return { action: 'drop', reason: `interface ${packet.interface} vlan ${packet.vlan ?? 0} is in no VRF` };
    return this.lookup(vrf, packet);
  }

  private lookup(vrf: string, packet: Packet): Forwarding {
    const destination = packet.destination;
    const r = this.fibs.get(vrf)?.lookup(destination);
    if (!r?.nextHop) return { action: 'drop', reason: `no route to ${destination} in VRF ${vrf}` };
    const nh = r.nextHop;
    if (nh.$case === 'local') return this.toCe(vrf, nh.value, destination);
    // ECMP: the flow's 5-tuple picks one remote PE, the same one for every packet of the flow.
    const members = ecmpMembers(r);
    const remote = members[ecmpIndex(packet, members.length)]!;
    if (remote.externalTransport) return { action: 'external-transport', remotePeAddress: remote.remotePeAddress, labels: [...remote.labels], vrf };
    return { action: 'forward', interface: remote.outInterface, vlan: 0, nextHop: remote.nextHop, labels: [...remote.labels], vrf };
  }

  private toCe(vrf: string, ce: CeNextHop, destination: string): Forwarding {
    return { action: 'forward', interface: ce.interface, vlan: ce.vlan, nextHop: ce.address || destination, labels: [], vrf };
  }

  private switchLabel(labels: readonly number[], packet: Packet): Forwarding {
    const destination = packet.destination;
    const top = labels[0]!;
    const rest = labels.slice(1);
    const bottom = rest.length === 0;
    if (top < MIN_UNRESERVED_LABEL) return { action: 'drop', reason: `reserved label ${top} on top (RFC 3032 §2.1)` };
    const e = this.lfib.get(top);
    if (!e?.action) return { action: 'drop', reason: `no LFIB entry for label ${top}` };
    const a = e.action;
    switch (a.$case) {
      case 'swap':
        return { action: 'forward', interface: a.value.outInterface, vlan: 0, nextHop: a.value.nextHop, labels: [...a.value.outLabels, ...rest] };
      case 'pop':
        return { action: 'forward', interface: a.value.outInterface, vlan: 0, nextHop: a.value.nextHop, labels: rest };
      case 'popAndLookup':
        // A VPN label is the bottom of the stack (RFC 4364 §5); anything below it is not an IP packet to look up.
        if (!bottom) return { action: 'drop', reason: `VPN label ${top} is not at the bottom of the stack` };
        // A label of one family pops what is under it as that family: the other one would not parse.
        if (a.value.family !== LookupFamily.LOOKUP_FAMILY_UNSPECIFIED && familyOf(destination) !== (a.value.family === LookupFamily.LOOKUP_FAMILY_IPV6 ? 6 : 4)) {
          return { action: 'drop', reason: `IPv${familyOf(destination)} packet under the IPv${a.value.family === LookupFamily.LOOKUP_FAMILY_IPV6 ? 6 : 4} label ${top}` };
        }
        return this.lookup(a.value.vrf, packet);
      case 'popAndForward':
        if (!bottom) return { action: 'drop', reason: `VPN label ${top} is not at the bottom of the stack` };
        if (!a.value.nextHop) return { action: 'drop', reason: `label ${top} has no CE next hop` };
        return this.toCe(a.value.vrf, a.value.nextHop, destination);
    }
  }
}
