// Computes each managed node's complete desired forwarding state (the data
// plane model of DESIGN.md) from the inventory, the VPN intents with their
// allocated resources and the VPN routes BGP selected. Pure: no I/O, no
// clocks, no randomness; equal inputs give byte-identical states whatever
// the order of the input lists.
//
// Transport (RFC 8402 node SIDs, RFC 3032 label stacks):
// - every SR node X gets, for every other SR node D with a node SID that it
//   can reach, an LFIB entry for its own label of D (SRGB(X).base + index(D)):
//   swap to the next hop N's label of D (SRGB(N).base + index(D)), or pop
//   when N is D itself: penultimate hop popping, so D receives the packet
//   with the VPN label on top and needs no entry for its own SID. PHP is
//   the only choice with Open vSwitch, which lacks copy_ttl_in/out: TTL
//   follows the pipe model (RFC 3443 §3);
// - an ingress PE pushes [N's label of D, VPN label] towards next hop N, or
//   just [VPN label] when D is its neighbour (it is then the penultimate hop);
// - a node with 'external' transport gets no transport entries; its remote
//   routes carry only the VPN label and the remote PE's address, and the
//   node's own LDP/SR pushes the transport label.
//
// VPNs (RFC 4364 §5-§10): one VRF per VPN per PE with the interfaces of its
// sites; local routes are the attachment subnets (connected) and the sites'
// static prefixes (via the CE); remote routes are the selected VPN routes,
// resolved over the transport. When two routes of one VRF have one prefix,
// connected beats static beats PE–CE BGP beats remote VPN routes; equal
// ones are decided by the lowest (next hop, RD, label) and reported as
// warnings. A selected route flagged `multipath` (VRF multipath, an
// all-active site) is no rival but an ECMP member: it joins the prefix's
// remote route in VrfRoute.multipath, resolved the same way, one per PE.
// Routes with the same resolved next hop, VPN label and RD share
// one next-hop object: treat the returned state as immutable. VPN labels become LFIB entries: per-VRF label ->
// pop and look up in the VRF; per-CE label -> pop and forward to the CE;
// per-prefix label -> pop and forward to the prefix's CE, or pop and look up
// for a connected subnet.
import {
  type BackupNextHop,
  type CeBgpSession,
  type CeNextHop,
  type LfibEntry,
  LookupFamily,
  NodeRole,
  type NodeDesiredState,
  type NodeTransport,
  type RemotePeNextHop,
  type TransportPath,
  TransportMode,
  type VrfInstance,
  type VrfInterface,
  type VrfRoute,
  VrfRouteSource,
} from '../gen/proto/l3vpn/v1/agent.js';
import {
  type InterfaceAddress,
  type Prefix,
  PrefixError,
  compareStrings,
  parseAddress,
  parseInterfaceAddress,
  parsePrefix,
  prefixInfo,
  prefixSortKey,
  comparePrefixKeys,
  type PrefixInfo,
  type PrefixKey,
} from './prefix.js';
import { alternate } from './alternates.js';
import { buildTopology, type Topology, type TopologyNode } from './topology.js';
import {
  type DesiredStateInput,
  DesiredStateError,
  type DesiredStateWarning,
  MAX_LABEL,
  MIN_UNRESERVED_LABEL,
  RESERVED_TABLE_IDS,
  type LabelModeName,
  type SelectedVpnRoute,
  type VpnPathCandidate,
} from './types.js';

interface PreparedSite {
  readonly id: string;
  readonly interface: string;
  readonly vlan: number;
  readonly pe: InterfaceAddress;
  readonly ce: string;
  readonly connected: PrefixInfo;
  readonly statics: readonly PrefixInfo[];
  readonly ceLabel: number | undefined;
  readonly prefixLabels: readonly (readonly [PrefixInfo, number])[];
  readonly bgp: boolean;
}

interface PreparedVrf {
  readonly vpn: string;
  readonly labelMode: LabelModeName;
  readonly name: string;
  readonly tableId: number;
  readonly rd: string;
  readonly importRouteTargets: readonly string[];
  readonly exportRouteTargets: readonly string[];
  readonly vrfLabel: number | undefined;
  readonly vrfLabelIpv6: number | undefined;
  /** Sorted by id. */
  readonly sites: PreparedSite[];
  /** CE address -> site. */
  readonly ces: Map<string, PreparedSite>;
}

/** The validated, indexed input: build once, compute many nodes. */
export interface Network {
  readonly topology: Topology;
  /** PE id -> its VRFs, sorted by name. */
  readonly vrfsByNode: ReadonlyMap<string, readonly PreparedVrf[]>;
}

export interface ComputeOptions {
  /** The generation number to stamp on the state (the caller's store assigns it). */
  readonly generation: number;
}

export interface NodeDesiredStateResult {
  readonly state: NodeDesiredState;
  /** Sorted; what was left out of the state and why. */
  readonly warnings: readonly DesiredStateWarning[];
}

function checkLabel(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_UNRESERVED_LABEL || v > MAX_LABEL) {
    throw new DesiredStateError(`must be a label from ${MIN_UNRESERVED_LABEL} to ${MAX_LABEL}`, field);
  }
  return v;
}

function wrap<T>(field: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof PrefixError) throw new DesiredStateError(err.message, field);
    throw err;
  }
}

function sortedSet(list: readonly string[] | undefined): string[] {
  return [...new Set(list ?? [])].sort(compareStrings);
}

function inSubnet(address: string, subnet: Prefix): boolean {
  const a = parseAddress(address);
  if (!a || a.family !== subnet.family) return false;
  return parsePrefix(`${address}/${subnet.length}`, 'address', true).text === subnet.text;
}

/** Validates the inventory and the VPN intents and indexes them. Throws DesiredStateError. */
export function prepareNetwork(input: DesiredStateInput): Network {
  const topology = buildTopology(input.inventory);
  const vrfsByNode = new Map<string, PreparedVrf[]>();
  const vpnIds = new Set<string>();
  (input.vpns ?? []).forEach((vpn, vi) => {
    const f = `vpns[${vi}]`;
    if (typeof vpn.id !== 'string' || vpn.id === '') throw new DesiredStateError('must be a non-empty string', `${f}.id`);
    if (vpnIds.has(vpn.id)) throw new DesiredStateError(`duplicate VPN id '${vpn.id}'`, `${f}.id`);
    vpnIds.add(vpn.id);
    if (!['per-vrf', 'per-ce', 'per-prefix'].includes(vpn.labelMode)) {
      throw new DesiredStateError("must be 'per-vrf', 'per-ce' or 'per-prefix'", `${f}.labelMode`);
    }
    const byPe = new Map<string, PreparedVrf>();
    (vpn.vrfs ?? []).forEach((v, i) => {
      const vf = `${f}.vrfs[${i}]`;
      const pe = topology.byId.get(v.pe);
      if (!pe) throw new DesiredStateError(`unknown node '${v.pe}'`, `${vf}.pe`);
      if (pe.role !== 'PE') throw new DesiredStateError(`node '${v.pe}' is not a PE`, `${vf}.pe`);
      if (byPe.has(v.pe)) throw new DesiredStateError(`VPN '${vpn.id}' has two VRFs on '${v.pe}'`, `${vf}.pe`);
      if (typeof v.name !== 'string' || v.name === '') throw new DesiredStateError('must be a non-empty string', `${vf}.name`);
      if (!Number.isInteger(v.tableId) || v.tableId < 1 || v.tableId > 0xffffffff || RESERVED_TABLE_IDS.has(v.tableId)) {
        throw new DesiredStateError('must be an integer from 1 to 4294967295 other than 253, 254, 255', `${vf}.tableId`);
      }
      const prepared: PreparedVrf = {
        vpn: vpn.id,
        labelMode: vpn.labelMode,
        name: v.name,
        tableId: v.tableId,
        rd: v.rd ?? '',
        importRouteTargets: sortedSet(v.importRouteTargets),
        exportRouteTargets: sortedSet(v.exportRouteTargets),
        vrfLabel: v.vrfLabel === undefined ? undefined : checkLabel(v.vrfLabel, `${vf}.vrfLabel`),
        vrfLabelIpv6: v.vrfLabelIpv6 === undefined ? undefined : checkLabel(v.vrfLabelIpv6, `${vf}.vrfLabelIpv6`),
        sites: [],
        ces: new Map(),
      };
      byPe.set(v.pe, prepared);
      const list = vrfsByNode.get(v.pe) ?? [];
      for (const other of list) {
        if (other.name === prepared.name) throw new DesiredStateError(`VRF name '${v.name}' is used twice on '${v.pe}'`, `${vf}.name`);
        if (other.tableId === prepared.tableId) {
          throw new DesiredStateError(`table id ${v.tableId} is also VRF '${other.name}''s on '${v.pe}'`, `${vf}.tableId`);
        }
      }
      list.push(prepared);
      vrfsByNode.set(v.pe, list);
    });
    const siteIds = new Set<string>();
    (vpn.sites ?? []).forEach((s, i) => {
      const sf = `${f}.sites[${i}]`;
      if (typeof s.id !== 'string' || s.id === '') throw new DesiredStateError('must be a non-empty string', `${sf}.id`);
      if (siteIds.has(s.id)) throw new DesiredStateError(`duplicate site id '${s.id}'`, `${sf}.id`);
      siteIds.add(s.id);
      const vrf = byPe.get(s.pe);
      if (!vrf) throw new DesiredStateError(`VPN '${vpn.id}' has no VRF on '${s.pe}'`, `${sf}.pe`);
      const pe = topology.byId.get(s.pe)!;
      if (typeof s.interface !== 'string' || s.interface === '') throw new DesiredStateError('must be a non-empty string', `${sf}.interface`);
      if (pe.coreInterfaces.has(s.interface)) {
        throw new DesiredStateError(`interface '${s.interface}' of '${s.pe}' is a core link`, `${sf}.interface`);
      }
      const vlan = s.vlan ?? 0;
      if (!Number.isInteger(vlan) || vlan < 0 || vlan > 4094) throw new DesiredStateError('must be a VLAN id from 0 to 4094', `${sf}.vlan`);
      const peAddr = wrap(`${sf}.peAddress`, () => parseInterfaceAddress(s.peAddress, 'PE address'));
      const ceParsed = parseAddress(s.ceAddress ?? '');
      if (!ceParsed) throw new DesiredStateError('must be an IPv4 or IPv6 address', `${sf}.ceAddress`);
      const ce = parseInterfaceAddress(`${s.ceAddress}/${peAddr.subnet.length}`).address;
      if (!inSubnet(ce, peAddr.subnet) || ce === peAddr.address) {
        throw new DesiredStateError(`CE address ${ce} is not another address on ${peAddr.subnet.text}`, `${sf}.ceAddress`);
      }
      if (vrf.ces.has(ce)) throw new DesiredStateError(`CE address ${ce} is also site '${vrf.ces.get(ce)!.id}''s`, `${sf}.ceAddress`);
      const statics = (s.staticPrefixes ?? []).map((p, k) => {
        const prefix = wrap(`${sf}.staticPrefixes[${k}]`, () => prefixInfo(p));
        if (prefix.family !== peAddr.family) throw new DesiredStateError('is not of the CE address family', `${sf}.staticPrefixes[${k}]`);
        return prefix;
      });
      const prefixLabels = Object.entries(s.prefixLabels ?? {})
        .map(([p, label]): readonly [PrefixInfo, number] => [
          wrap(`${sf}.prefixLabels`, () => prefixInfo(p)),
          checkLabel(label, `${sf}.prefixLabels['${p}']`),
        ])
        .sort((x, y) => comparePrefixKeys(x[0].key, y[0].key));
      const site: PreparedSite = {
        id: s.id,
        interface: s.interface,
        vlan,
        pe: peAddr,
        ce,
        connected: prefixInfo(peAddr.subnet.text),
        statics: statics.sort((x, y) => comparePrefixKeys(x.key, y.key)),
        ceLabel: s.ceLabel === undefined ? undefined : checkLabel(s.ceLabel, `${sf}.ceLabel`),
        prefixLabels,
        bgp: s.bgp === true,
      };
      vrf.sites.push(site);
      vrf.ces.set(ce, site);
    });
  });
  // Interfaces: one VRF each.
  for (const [node, vrfs] of vrfsByNode) {
    vrfs.sort((a, b) => compareStrings(a.name, b.name));
    const owner = new Map<string, string>();
    for (const vrf of vrfs) {
      vrf.sites.sort((a, b) => compareStrings(a.id, b.id));
      for (const site of vrf.sites) {
        const key = `${site.interface}.${site.vlan}`;
        const other = owner.get(key);
        if (other !== undefined && other !== vrf.name) {
          throw new DesiredStateError(
            `interface '${site.interface}' VLAN ${site.vlan} of '${node}' is in VRFs '${other}' and '${vrf.name}'`,
            `site '${site.id}'`,
          );
        }
        owner.set(key, vrf.name);
      }
    }
  }
  return { topology, vrfsByNode };
}

const PRECEDENCE: Record<number, number> = {
  [VrfRouteSource.VRF_ROUTE_SOURCE_CONNECTED]: 1,
  [VrfRouteSource.VRF_ROUTE_SOURCE_STATIC]: 2,
  [VrfRouteSource.VRF_ROUTE_SOURCE_BGP_CE]: 3,
  [VrfRouteSource.VRF_ROUTE_SOURCE_BGP_VPN]: 4,
};

type NextHopUnion = VrfRoute['nextHop'];

/** Decides between two routes of one precedence: the lower next hop (then RD, label) wins. */
function routeTie(r: VrfRoute): string {
  const nh = r.nextHop;
  if (nh?.$case === 'local') return `${addressSortKey(nh.value.address)}\u0000${nh.value.interface}\u0000${nh.value.vlan}`;
  if (nh?.$case === 'remote') {
    return `${addressSortKey(nh.value.remotePeAddress)}\u0000${nh.value.rd}\u0000${String(nh.value.labels.at(-1)).padStart(7, '0')}`;
  }
  return '';
}

/**
 * The other members of an ECMP set besides `primary`: one per remote PE
 * (another PE's, by its loopback), in (address, RD, label) order so equal
 * inputs give the same hash buckets.
 */
function ecmpSet(primary: RemotePeNextHop, members: readonly NextHopUnion[]): RemotePeNextHop[] {
  const byPe = new Map<string, { tie: string; hop: RemotePeNextHop }>();
  for (const m of members) {
    if (m?.$case !== 'remote' || m.value.remotePeAddress === primary.remotePeAddress) continue;
    const route = { nextHop: m } as VrfRoute;
    const tie = routeTie(route);
    const have = byPe.get(m.value.remotePeAddress);
    if (!have || compareStrings(tie, have.tie) < 0) byPe.set(m.value.remotePeAddress, { tie, hop: m.value });
  }
  return [...byPe.values()].sort((a, b) => compareStrings(a.tie, b.tie)).map((m) => m.hop);
}

interface ResolvedRemote {
  readonly base: Omit<RemotePeNextHop, 'labels' | 'rd'>;
  readonly transportLabels: readonly number[];
  /** Shared next hops by VPN label and RD: all routes of a per-VRF label share one object. */
  readonly byLabel: Map<number, Map<string, NextHopUnion>>;
}

function ceNextHop(site: PreparedSite, attached: boolean): CeNextHop {
  return { interface: site.interface, vlan: site.vlan, address: attached ? '' : site.ce };
}

function addressSortKey(text: string): string {
  const a = parseAddress(text);
  return a ? prefixSortKey({ ...a, length: 0, text }) : `9${text}`;
}

/** The complete desired state of one node. Throws DesiredStateError on unknown nodes and label conflicts. */
export function computeNodeDesiredState(
  network: Network,
  nodeId: string,
  routes: readonly SelectedVpnRoute[],
  options: ComputeOptions,
): NodeDesiredStateResult {
  const topo = network.topology;
  const node = topo.byId.get(nodeId);
  if (!node) throw new DesiredStateError(`unknown node '${nodeId}'`);
  if (!Number.isSafeInteger(options.generation) || options.generation < 0) {
    throw new DesiredStateError('must be a non-negative safe integer', 'generation');
  }
  const warnings: DesiredStateWarning[] = [];
  const sr = node.transport === 'sr';

  const transport: NodeTransport = {
    mode: sr ? TransportMode.TRANSPORT_MODE_SR : TransportMode.TRANSPORT_MODE_EXTERNAL,
    routerId: node.routerId,
    loopback: node.loopback,
    srgb: sr ? { base: node.srgbBase, size: node.srgbSize } : undefined,
    nodeSidIndex: sr ? node.sidIndex : undefined,
    nodeSidLabel: sr && node.sidIndex !== undefined ? node.srgbBase + node.sidIndex : undefined,
    penultimateHopPopping: true,
    coreLinks: node.coreLinks.map((l) => ({
      link: l.link,
      interface: l.localInterface,
      address: l.localAddress,
      neighborNode: l.neighbor,
      neighborInterface: l.neighborInterface,
      neighborAddress: l.neighborAddress,
    })),
  };

  const lfib = new Map<number, LfibEntry>();
  const addLfib = (entry: LfibEntry): void => {
    const other = lfib.get(entry.inLabel);
    if (other) {
      throw new DesiredStateError(`label ${entry.inLabel} on '${node.id}' is both '${other.owner}' and '${entry.owner}'`);
    }
    lfib.set(entry.inLabel, entry);
  };

  // Transport: node SIDs along the shortest paths, PHP at the penultimate hop.
  if (sr) {
    for (const dest of topo.nodes) {
      if (dest === node || dest.transport !== 'sr' || dest.sidIndex === undefined) continue;
      const nh = topo.nextHop(node, dest);
      if (!nh) continue;
      const neighbor = topo.nodes[nh.adjacency.neighbor]!;
      const inLabel = topo.sidLabel(node, dest);
      const outInterface = nh.adjacency.localInterface;
      const nextHop = nh.adjacency.neighborAddress;
      const backup = backupOf(topo, node, dest);
      addLfib({
        inLabel,
        action:
          neighbor === dest
            ? { $case: 'pop', value: { outInterface, nextHop, destinationNode: dest.id, ...backup } }
            : { $case: 'swap', value: { outLabels: [topo.sidLabel(neighbor, dest)], outInterface, nextHop, destinationNode: dest.id, ...backup } },
        owner: `sid:${dest.id}`,
      });
    }
  }

  const vrfs: VrfInstance[] = [];
  const transportPaths: TransportPath[] = [];
  /** VRF -> prefix key -> route. */
  const tables = new Map<string, Map<PrefixKey, VrfRoute>>();
  const isPe = node.role === 'PE';

  if (isPe && sr) {
    for (const dest of topo.nodes) {
      if (dest === node || dest.role !== 'PE' || dest.transport !== 'sr' || dest.sidIndex === undefined) continue;
      const nh = topo.nextHop(node, dest);
      if (!nh) continue;
      const neighbor = topo.nodes[nh.adjacency.neighbor]!;
      transportPaths.push({
        remoteNode: dest.id,
        remoteAddress: dest.loopback,
        labels: neighbor === dest ? [] : [topo.sidLabel(neighbor, dest)],
        outInterface: nh.adjacency.localInterface,
        nextHop: nh.adjacency.neighborAddress,
        metric: nh.metric,
        ...backupOf(topo, node, dest),
      });
    }
  }
  const pathTo = new Map<string, TransportPath>(transportPaths.map((p) => [p.remoteNode, p]));

  const nodeVrfs = isPe ? (network.vrfsByNode.get(node.id) ?? []) : [];
  const vrfByName = new Map<string, PreparedVrf>();
  const offer = (route: VrfRoute, key: PrefixKey): void => {
    let table = tables.get(route.vrf);
    if (!table) tables.set(route.vrf, (table = new Map()));
    const other = table.get(key);
    if (other) {
      const precedence = PRECEDENCE[route.source]!;
      const otherPrecedence = PRECEDENCE[other.source]!;
      if (otherPrecedence < precedence) return;
      if (otherPrecedence === precedence) {
        warnings.push({
          code: 'duplicate-route',
          message: `two ${VrfRouteSource[route.source]} routes; kept the one with the lowest next hop`,
          vrf: route.vrf,
          prefix: route.prefix,
        });
        if (compareStrings(routeTie(other), routeTie(route)) <= 0) return;
      }
    }
    table.set(key, route);
  };

  if (isPe && nodeVrfs.length > 0 && sr && node.sidIndex === undefined) {
    warnings.push({ code: 'no-node-sid', message: `PE '${node.id}' has no node SID: remote PEs cannot reach its VRFs` });
  }

  for (const vrf of nodeVrfs) {
    vrfByName.set(vrf.name, vrf);
    const interfaces = new Map<string, { name: string; vlan: number; addresses: Set<string>; sessions: CeBgpSession[] }>();
    for (const site of vrf.sites) {
      const key = `${site.interface}\u0000${String(site.vlan).padStart(4, '0')}`;
      let itf = interfaces.get(key);
      if (!itf) interfaces.set(key, (itf = { name: site.interface, vlan: site.vlan, addresses: new Set(), sessions: [] }));
      itf.addresses.add(site.pe.text);
      // PE-CE eBGP: one session per address family the CE peers on, CE to the PE's address on the access (RFC 4364 §7).
      if (site.bgp) itf.sessions.push({ ceAddress: site.ce, peAddress: site.pe.address });

      // Local routes: the attachment subnet and the site's static prefixes.
      offer(
        { vrf: vrf.name, prefix: site.connected.text, nextHop: { $case: 'local', value: ceNextHop(site, true) }, source: VrfRouteSource.VRF_ROUTE_SOURCE_CONNECTED, multipath: [] },
        site.connected.key,
      );
      for (const p of site.statics) {
        offer(
          { vrf: vrf.name, prefix: p.text, nextHop: { $case: 'local', value: ceNextHop(site, false) }, source: VrfRouteSource.VRF_ROUTE_SOURCE_STATIC, multipath: [] },
          p.key,
        );
      }

      // VPN labels of the site.
      if (site.ceLabel !== undefined) {
        addLfib({
          inLabel: site.ceLabel,
          action: { $case: 'popAndForward', value: { vrf: vrf.name, nextHop: ceNextHop(site, false) } },
          owner: `ce:${vrf.name}:${site.id}`,
        });
      } else if (vrf.labelMode === 'per-ce') {
        warnings.push({ code: 'missing-label', message: `site '${site.id}' has no per-CE label`, vrf: vrf.name });
      }
      for (const [p, label] of site.prefixLabels) {
        addLfib({
          inLabel: label,
          action:
            p.text === site.connected.text
              ? { $case: 'popAndLookup', value: { vrf: vrf.name, family: p.family === 6 ? LookupFamily.LOOKUP_FAMILY_IPV6 : LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } }
              : { $case: 'popAndForward', value: { vrf: vrf.name, nextHop: ceNextHop(site, false) } },
          owner: `prefix:${vrf.name}:${p.text}`,
        });
      }
      if (vrf.labelMode === 'per-prefix') {
        const labelled = new Set(site.prefixLabels.map(([p]) => p.text));
        for (const p of site.statics) {
          if (!labelled.has(p.text)) {
            warnings.push({ code: 'missing-label', message: `site '${site.id}' has no per-prefix label`, vrf: vrf.name, prefix: p.text });
          }
        }
      }
    }
    if (vrf.vrfLabel !== undefined) {
      addLfib({ inLabel: vrf.vrfLabel, action: { $case: 'popAndLookup', value: { vrf: vrf.name, family: LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } }, owner: `vrf:${vrf.name}` });
    } else if (vrf.labelMode === 'per-vrf') {
      warnings.push({ code: 'missing-label', message: 'the VRF has no per-VRF label', vrf: vrf.name });
    }
    if (vrf.vrfLabelIpv6 !== undefined) {
      // A per-VRF label per address family: the data plane pops IPv6 under it (agent.proto LookupFamily).
      addLfib({ inLabel: vrf.vrfLabelIpv6, action: { $case: 'popAndLookup', value: { vrf: vrf.name, family: LookupFamily.LOOKUP_FAMILY_IPV6 } }, owner: `vrf:${vrf.name}:ipv6` });
    }
    const vrfInterfaces: VrfInterface[] = [...interfaces.entries()]
      .sort((a, b) => compareStrings(a[0], b[0]))
      .map(([, itf]) => ({
        name: itf.name,
        vlan: itf.vlan,
        addresses: [...itf.addresses].sort((a, b) => compareStrings(addressSortKey(a.split('/')[0]!), addressSortKey(b.split('/')[0]!)) || compareStrings(a, b)),
        bgpSessions: itf.sessions.sort((a, b) => compareStrings(a.ceAddress, b.ceAddress)),
      }));
    vrfs.push({
      name: vrf.name,
      tableId: vrf.tableId,
      rd: vrf.rd,
      importRouteTargets: [...vrf.importRouteTargets],
      exportRouteTargets: [...vrf.exportRouteTargets],
      interfaces: vrfInterfaces,
      vpn: vrf.vpn,
    });
  }

  // Routes BGP selected into the VRFs.
  const remoteCache = new Map<string, ResolvedRemote | null>();
  const nextHopText = new Map<string, string | null>();
  const unresolved = new Set<string>();
  /** A next hop as a canonical address, or null when it is not one. */
  const addressOf = (text: string): string | null => {
    let nh = nextHopText.get(text);
    if (nh === undefined) {
      const a = parseAddress(text ?? '');
      nh = a ? parseInterfaceAddress(`${text}/${a.family === 4 ? 32 : 128}`).address : null;
      nextHopText.set(text, nh);
    }
    return nh;
  };
  /** How to reach a remote PE's address over the transport; null (warned once) when it cannot be reached. */
  const resolveRemote = (nh: string): ResolvedRemote | null => {
    let resolved = remoteCache.get(nh);
    if (resolved === undefined) {
      const remote: TopologyNode | undefined = topo.byAddress.get(nh);
      if (!sr) {
        resolved = {
          base: { outInterface: '', nextHop: '', remotePe: remote?.id ?? '', remotePeAddress: nh, externalTransport: true, localSidLabel: 0 },
          transportLabels: [],
          byLabel: new Map(),
        };
      } else {
        const path = remote ? pathTo.get(remote.id) : undefined;
        resolved = path
          ? {
              base: {
                outInterface: path.outInterface,
                nextHop: path.nextHop,
                remotePe: path.remoteNode,
                remotePeAddress: nh,
                externalTransport: false,
                localSidLabel: topo.sidLabel(node, remote!),
              },
              transportLabels: path.labels,
              byLabel: new Map(),
            }
          : null;
      }
      remoteCache.set(nh, resolved);
    }
    if (resolved === null && !unresolved.has(nh)) {
      unresolved.add(nh);
      const remote = topo.byAddress.get(nh);
      warnings.push({
        code: 'unresolved-next-hop',
        message: remote ? `no segment-routing path from '${node.id}' to '${remote.id}' (${nh})` : `next hop ${nh} is not a managed PE reachable over segment routing`,
      });
    }
    return resolved;
  };
  /** Multipath members by VRF and prefix key: joined to the best's route once every best is in. */
  const ecmpMembers = new Map<string, NextHopUnion[]>();
  for (const r of routes) {
    const vrf = vrfByName.get(r.vrf);
    if (!vrf) {
      warnings.push({ code: 'unknown-vrf', message: `route for VRF '${r.vrf}', which is not on '${node.id}'`, vrf: r.vrf, prefix: r.prefix });
      continue;
    }
    let prefix: PrefixInfo;
    try {
      prefix = prefixInfo(r.prefix);
    } catch (err) {
      warnings.push({ code: 'invalid-route', message: (err as Error).message, vrf: r.vrf, prefix: r.prefix });
      continue;
    }
    const nh = addressOf(r.nextHop);
    if (nh === null) {
      warnings.push({ code: 'invalid-route', message: `next hop '${r.nextHop}' is not an address`, vrf: r.vrf, prefix: prefix.text });
      continue;
    }
    const site = vrf.ces.get(nh);
    if (site) {
      // Load sharing is across remote PEs only: a CE next hop is never an ECMP member.
      if (r.multipath) continue;
      offer(
        { vrf: vrf.name, prefix: prefix.text, nextHop: { $case: 'local', value: ceNextHop(site, false) }, source: VrfRouteSource.VRF_ROUTE_SOURCE_BGP_CE, multipath: [] },
        prefix.key,
      );
      continue;
    }
    if (nh === node.loopback || nh === node.routerId) continue; // our own route, already local
    // The selected path, else the first candidate whose next hop the transport reaches (RFC 4271 §9.1.2.1).
    let chosen: { candidate: VpnPathCandidate; resolved: ResolvedRemote } | undefined;
    for (const candidate of [r, ...(r.fallbacks ?? [])]) {
      const cnh = candidate === r ? nh : addressOf(candidate.nextHop);
      if (cnh === null || cnh === node.loopback || cnh === node.routerId) continue;
      if (!Number.isInteger(candidate.label) || candidate.label < MIN_UNRESERVED_LABEL || candidate.label > MAX_LABEL) {
        warnings.push({ code: 'invalid-route', message: `VPN label ${candidate.label} is not usable`, vrf: r.vrf, prefix: prefix.text });
        continue;
      }
      const resolved = resolveRemote(cnh);
      if (resolved) {
        chosen = { candidate, resolved };
        break;
      }
    }
    if (!chosen) continue;
    const { candidate, resolved } = chosen;
    const rd = candidate.rd ?? '';
    let byRd = resolved.byLabel.get(candidate.label);
    if (!byRd) resolved.byLabel.set(candidate.label, (byRd = new Map()));
    let nextHop = byRd.get(rd);
    if (!nextHop) {
      nextHop = { $case: 'remote', value: { ...resolved.base, labels: [...resolved.transportLabels, candidate.label], rd } };
      byRd.set(rd, nextHop);
    }
    if (r.multipath) {
      const k = `${vrf.name}\u0000${prefix.key}`;
      const list = ecmpMembers.get(k);
      if (list) list.push(nextHop);
      else ecmpMembers.set(k, [nextHop]);
      continue;
    }
    offer({ vrf: vrf.name, prefix: prefix.text, nextHop, source: VrfRouteSource.VRF_ROUTE_SOURCE_BGP_VPN, multipath: [] }, prefix.key);
  }

  // ECMP (VRF multipath): the members join the route only while a remote VPN route is what the prefix uses.
  for (const [vrfName, table] of tables) {
    for (const [key, route] of table) {
      const members = ecmpMembers.get(`${vrfName}\u0000${key}`);
      if (!members || route.nextHop?.$case !== 'remote') continue;
      const multipath = ecmpSet(route.nextHop.value, members);
      if (multipath.length) table.set(key, { ...route, multipath });
    }
  }

  const vrfRoutes: VrfRoute[] = [];
  for (const vrf of nodeVrfs) {
    const table = tables.get(vrf.name);
    if (!table) continue;
    const keys = [...table.keys()].sort(comparePrefixKeys);
    for (const k of keys) vrfRoutes.push(table.get(k)!);
  }
  const lfibEntries = [...lfib.values()].sort((a, b) => a.inLabel - b.inLabel);
  warnings.sort(
    (a, b) =>
      compareStrings(a.vrf ?? '', b.vrf ?? '') ||
      compareStrings(a.prefix ?? '', b.prefix ?? '') ||
      compareStrings(a.code, b.code) ||
      compareStrings(a.message, b.message),
  );
  return {
    state: {
      node: node.id,
      generation: options.generation,
      role: isPe ? NodeRole.NODE_ROLE_PE : NodeRole.NODE_ROLE_P,
      transport,
      vrfs,
      vrfRoutes,
      lfibEntries,
      transportPaths,
    },
    warnings: dedupe(warnings),
  };
}

/** The precomputed fast-reroute next hop of `node` towards `dest`'s node SID (alternates.ts), as a field to spread into an entry: none when there is no alternate. */
function backupOf(topo: Topology, node: TopologyNode, dest: TopologyNode): { backup: BackupNextHop | undefined } {
  const alt = alternate(topo, node, dest);
  // Present as undefined, as the wire decoder gives it back.
  if (!alt) return { backup: undefined };
  return {
    backup: {
      outInterface: alt.adjacency.localInterface,
      nextHop: alt.adjacency.neighborAddress,
      outLabels: [...alt.labels],
      viaNode: topo.nodes[alt.adjacency.neighbor]!.id,
      repairNode: alt.repair?.id ?? '',
      nodeProtecting: alt.nodeProtecting,
    },
  };
}

function dedupe(list: DesiredStateWarning[]): DesiredStateWarning[] {
  const out: DesiredStateWarning[] = [];
  let last = '';
  for (const w of list) {
    const key = `${w.vrf}\u0000${w.prefix}\u0000${w.code}\u0000${w.message}`;
    if (key !== last) out.push(w);
    last = key;
  }
  return out;
}

/**
 * Every managed node's desired state. `routes` maps a PE id to the VPN routes
 * BGP selected into its VRFs.
 */
export function computeDesiredStates(
  input: DesiredStateInput,
  routes: ReadonlyMap<string, readonly SelectedVpnRoute[]>,
  options: ComputeOptions,
): Map<string, NodeDesiredStateResult> {
  const network = prepareNetwork(input);
  const out = new Map<string, NodeDesiredStateResult>();
  for (const node of network.topology.nodes) {
    out.set(node.id, computeNodeDesiredState(network, node.id, routes.get(node.id) ?? [], options));
  }
  return out;
}
