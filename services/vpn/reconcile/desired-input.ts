// A node's intent (domain/node-intent.ts) -> the input of the pure
// desired-state computation, and the label requests a node's VRFs need.
import { LabelKind } from '../../common/gen/proto/l3vpn/v1/labels.js';
import { canonicalPrefix, screenInventory, type DesiredStateInput, type RejectedRecord, type InventoryNode, type LabelModeName, type SiteIntent, type VpnIntent } from '../../common/desired-state/index.js';
import { canonicalAddress, parseInterfaceAddress } from '../../common/desired-state/prefix.js';
import type { Link, Node, NodeIntent, Site } from '../domain/node-intent.js';
import type { ExportingSite } from '../routes/route-selection.js';
import { owners } from './owners.js';

/** The labels service's defaults, used when a node gives none. */
export const DEFAULT_SRGB = { base: 16000, size: 8000 };

export function inventoryNode(n: Node): InventoryNode {
  return {
    id: n.id,
    role: n.role,
    routerId: n.routerId,
    loopback: n.loopback,
    srgb: n.srgb ?? DEFAULT_SRGB,
    ...(n.nodeSidIndex !== undefined ? { nodeSidIndex: n.nodeSidIndex } : {}),
    transport: n.transport,
  };
}

function inventoryLink(l: Link) {
  const end = (e: Link['a']) => ({ node: e.node, interface: e.interface, ...(e.address ? { address: e.address } : {}) });
  // An operationally down link stays in the inventory (its agents keep watching it) but carries no path.
  return { id: l.id, a: end(l.a), b: end(l.b), metric: l.igpMetric, down: l.operStatus === 'down' };
}

interface Attachment {
  family: 4 | 6;
  peAddress: string;
  ceAddress: string;
  /** The subnet of the PE address, canonical. */
  connected: string;
  statics: string[];
}

/**
 * The site's attachments, with canonical prefixes. What cannot be parsed (a
 * record written around the API's validation) is left out and said in
 * `unusable`: a static prefix alone, an attachment with its PE or CE address.
 */
function attachments(site: Site, unusable: string[] = []): Attachment[] {
  const statics: string[] = [];
  for (const r of site.routing?.static ?? []) {
    try {
      statics.push(canonicalPrefix(r.prefix, 'static route prefix'));
    } catch (err) {
      unusable.push((err as Error).message);
    }
  }
  const out: Attachment[] = [];
  const attach = (family: 4 | 6, attachment: Site['ipv4']) => {
    if (!attachment) return;
    const { peAddress, ceAddress } = attachment;
    try {
      const connected = parseInterfaceAddress(peAddress, 'PE address').subnet.text;
      canonicalAddress(ceAddress, 'CE address');
      out.push({ family, peAddress, ceAddress, connected, statics: statics.filter((p) => p.includes(':') === (family === 6)) });
    } catch (err) {
      unusable.push((err as Error).message);
    }
  };
  attach(4, site.ipv4);
  attach(6, site.ipv6);
  return out;
}

/** Why some of a site's addresses cannot be used; empty when all can. */
export function unusableAddresses(site: Site): string[] {
  const unusable: string[] = [];
  attachments(site, unusable);
  return unusable;
}

/** Every label a VRF's sites need, by owner. */
export function vrfLabelRequests(vpnId: string, mode: LabelModeName, node: string, sites: Site[]): { owner: string; kind: LabelKind }[] {
  const out = [{ owner: owners.vrf(vpnId, node), kind: LabelKind.LABEL_KIND_VRF }];
  // IPv6 routes the VRF label would carry (per-VRF: all; per-CE: the connected subnets) get the VRF's IPv6 label;
  // per-prefix connected subnets have labels of their own.
  if (mode !== 'per-prefix' && sites.some((site) => attachments(site).some((a) => a.family === 6))) {
    out.push({ owner: owners.vrfIpv6(vpnId, node), kind: LabelKind.LABEL_KIND_VRF });
  }
  for (const site of sites) {
    for (const a of attachments(site)) {
      // Per-prefix: the routes a CE advertises over eBGP have no label of their own; they share the CE's (ce-peers.ts routeLabel).
      if (mode === 'per-ce' || (mode === 'per-prefix' && site.routing?.bgp)) out.push({ owner: owners.ce(vpnId, site.id, a.family), kind: LabelKind.LABEL_KIND_CE });
      if (mode === 'per-prefix') {
        for (const p of [a.connected, ...a.statics]) out.push({ owner: owners.prefix(vpnId, node, p), kind: LabelKind.LABEL_KIND_PREFIX });
      }
    }
  }
  return out;
}

/** What a VRF's sites export, with the labels the node holds for them (for route selection); what cannot be parsed is left out. */
export function exportingSites(vpnId: string, node: string, sites: Site[], labels: ReadonlyMap<string, number>): ExportingSite[] {
  return sites.map((site) => {
    const as = attachments(site);
    const prefixLabels: Record<string, number> = {};
    const ceLabels: ExportingSite['ceLabels'] = {};
    for (const a of as) {
      const ce = labels.get(owners.ce(vpnId, site.id, a.family));
      if (ce !== undefined) ceLabels[a.family] = ce;
      for (const p of [a.connected, ...a.statics]) {
        const l = labels.get(owners.prefix(vpnId, node, p));
        if (l !== undefined) prefixLabels[p] = l;
      }
    }
    return { connected: as.map((a) => a.connected), statics: as.flatMap((a) => a.statics), ceLabels, prefixLabels };
  });
}

function siteIntents(vpnId: string, node: string, site: Site, labels: ReadonlyMap<string, number>): SiteIntent[] {
  const as = attachments(site);
  return as.map((a) => {
    const prefixLabels: Record<string, number> = {};
    for (const p of [a.connected, ...a.statics]) {
      const l = labels.get(owners.prefix(vpnId, node, p));
      if (l !== undefined) prefixLabels[p] = l;
    }
    const ceLabel = labels.get(owners.ce(vpnId, site.id, a.family));
    return {
      // A dual-stack site is two attachments; the second needs an id of its own.
      id: a.family === 6 && as.length > 1 ? `${site.id}:v6` : site.id,
      pe: node,
      interface: site.interface,
      vlan: site.vlan ?? 0,
      peAddress: a.peAddress,
      ceAddress: a.ceAddress,
      staticPrefixes: a.statics,
      ...(ceLabel !== undefined ? { ceLabel } : {}),
      ...(Object.keys(prefixLabels).length ? { prefixLabels } : {}),
      ...(site.routing?.bgp ? { bgp: true } : {}),
    };
  });
}

/** A record that cannot be used: an inventory record, or a site's. */
export type UnusableRecord = RejectedRecord | { readonly kind: 'site'; readonly id: string; readonly reason: string };

/** The node's own record, one of its links or one of its sites cannot be used: it fails alone, with this reason. */
export class NodeRejectedError extends Error {
  constructor(
    readonly node: string,
    readonly records: readonly UnusableRecord[],
  ) {
    super(records.map((r) => `${r.kind} '${r.id}' cannot be used: ${r.reason}`).join('; '));
    this.name = 'NodeRejectedError';
  }
}

/**
 * The inventory the computation can use: other nodes and links that cannot
 * be used are left out (so one bad record never fails every node), and the
 * node's own bad record, a bad link of its own, or a site of its own with
 * an address that cannot be parsed, fails it with the reason
 * (NodeRejectedError). (Other PEs' bad sites are left out of what they
 * export: exportingSites.)
 */
export function usableInventory(intent: NodeIntent): DesiredStateInput['inventory'] {
  const node = intent.node.id;
  const { inventory, rejected } = screenInventory({ nodes: intent.nodes.map(inventoryNode), links: intent.links.map(inventoryLink) }, intent.links.map((l) => l.id));
  const ownLinks = new Set(intent.links.filter((l) => l.a.node === node || l.b.node === node).map((l) => l.id));
  // A link left out because the node at its other end is fails neither this node nor its other links.
  const self = rejected.find((r) => r.kind === 'node' && r.id === node);
  const own: UnusableRecord[] = self ? [self] : rejected.filter((r) => r.kind === 'link' && ownLinks.has(r.id) && r.becauseOf === undefined);
  for (const site of intent.vrfs.flatMap((vi) => vi.sites)) {
    const unusable = unusableAddresses(site);
    if (unusable.length) own.push({ kind: 'site', id: site.id, reason: unusable.join('; ') });
  }
  if (own.length) throw new NodeRejectedError(node, own);
  return inventory;
}

/** The VRF's IPv6 label as the node holds it, as a field of the VRF ({} when it has none). */
export function vrfIpv6Label(intent: NodeIntent, vpnId: string): { vrfLabelIpv6?: number } {
  const label = intent.labels.get(owners.vrfIpv6(vpnId, intent.node.id));
  return label === undefined ? {} : { vrfLabelIpv6: label };
}

/** The computation's input for one node: the usable inventory and the node's own, allocated VRFs. Throws NodeRejectedError. */
export function desiredInput(intent: NodeIntent): DesiredStateInput {
  const vpns: VpnIntent[] = [];
  for (const vi of intent.vrfs) {
    const a = vi.allocation;
    if (!a || !a.rd) continue; // not allocated yet: nothing to install for it
    vpns.push({
      id: vi.vpn.id,
      labelMode: vi.vpn.labelMode,
      vrfs: [
        {
          pe: intent.node.id,
          name: vi.vpn.id,
          tableId: a.tableId,
          rd: a.rd,
          importRouteTargets: vi.importRouteTargets,
          exportRouteTargets: vi.exportRouteTargets,
          ...(a.label !== null ? { vrfLabel: a.label } : {}),
          ...vrfIpv6Label(intent, vi.vpn.id),
        },
      ],
      sites: vi.sites.flatMap((s) => siteIntents(vi.vpn.id, intent.node.id, s, intent.labels)),
    });
  }
  return { inventory: usableInventory(intent), vpns };
}
