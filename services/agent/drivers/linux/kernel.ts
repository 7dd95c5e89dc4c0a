// What the kernel holds, as `ip -N -j` prints it: links (VRF devices, VLAN
// subinterfaces, what is enslaved where, addresses), IP routes and MPLS
// routes, in a normalised form the driver compares with what its entries
// install. Pure parsing; no commands run here.
import { canonicalAddress, parseAddress } from '../../../common/desired-state/prefix.js';

export interface KernelLink {
  name: string;
  /** Device kind from linkinfo ("vrf", "vlan", "veth"...); undefined for plain devices. */
  kind?: string;
  master?: string;
  /** VRF devices: their routing table. */
  vrfTable?: number;
  /** VLAN subinterfaces: id and parent device. */
  vlanId?: number;
  parent?: string;
  alias?: string;
  up: boolean;
  /** Addresses with length, canonical, link-local IPv6 excluded, sorted. */
  addresses: string[];
}

/** An IP route's forwarding, or an MPLS route's: the fields the driver sets. */
export interface KernelHop {
  dev?: string;
  /** The neighbour ("via"), canonical address. */
  via?: string;
  /** IP routes: labels pushed (encap mpls); MPLS routes: outgoing labels (swap); outermost first. */
  labels: number[];
}

export interface KernelRoute extends KernelHop {
  table: number;
  /** Canonical prefix with length. */
  prefix: string;
  /** A multipath (ECMP) route: its next hops in order; then dev, via and labels are unset. */
  nexthops?: KernelHop[];
}

export interface KernelLabelRoute extends KernelHop {
  label: number;
}

const canonicalMaybe = (a: string) => (parseAddress(a) ? canonicalAddress(a) : a);

/** A stable text of a hop (or of a multipath route's hops, in order) for comparing intent with installed state. */
export function hopText(h: KernelHop & { nexthops?: KernelHop[] }): string {
  if (h.nexthops?.length) return `multipath ${h.nexthops.map(hopText).join(' | ')}`;
  return `dev=${h.dev ?? ''} via=${h.via ?? ''} labels=${h.labels.join('/')}`;
}

type Json = Record<string, unknown>;

function parseArray(text: string, what: string): Json[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  // `ip -j route` prints the encap labels under a second "dst" key: keep them apart.
  const fixed = trimmed.replace(/"encap":"mpls","dst":/g, '"encap":"mpls","encap_dst":');
  const parsed: unknown = JSON.parse(fixed);
  if (!Array.isArray(parsed)) throw new Error(`${what}: expected a JSON array from ip`);
  return parsed as Json[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const labelsOf = (v: unknown): number[] => (typeof v === 'string' && v !== '' ? v.split('/').map(Number) : []);

/** `ip -N -j -d link show` and `ip -N -j addr show`. */
export function parseLinks(linkJson: string, addrJson: string): Map<string, KernelLink> {
  const links = new Map<string, KernelLink>();
  for (const l of parseArray(linkJson, 'ip link')) {
    const name = str(l.ifname);
    if (!name) continue;
    const info = (l.linkinfo ?? {}) as Json;
    const data = (info.info_data ?? {}) as Json;
    const kind = str(info.info_kind);
    links.set(name, {
      name,
      kind,
      master: str(l.master),
      vrfTable: kind === 'vrf' && typeof data.table === 'number' ? data.table : undefined,
      vlanId: kind === 'vlan' && typeof data.id === 'number' ? data.id : undefined,
      parent: kind === 'vlan' ? str(l.link) : undefined,
      alias: str(l.ifalias),
      up: Array.isArray(l.flags) && l.flags.includes('UP'),
      addresses: [],
    });
  }
  for (const a of parseArray(addrJson, 'ip addr')) {
    const link = links.get(str(a.ifname) ?? '');
    if (!link || !Array.isArray(a.addr_info)) continue;
    for (const i of a.addr_info as Json[]) {
      const local = str(i.local);
      if (!local || (i.family === 'inet6' && local.toLowerCase().startsWith('fe80:'))) continue;
      link.addresses.push(`${canonicalMaybe(local)}/${String(i.prefixlen)}`);
    }
    link.addresses.sort();
  }
  return links;
}

/** An IPv4-mapped IPv6 gateway (a 6VPE route over an IPv4 core next hop, intent.ts) as the IPv4 address it stands for. */
function unmapped(gateway: string): string {
  const a = parseAddress(gateway);
  const b = a?.bytes;
  if (a?.family !== 6 || !b || b.subarray(0, 10).some((x) => x !== 0) || b[10] !== 0xff || b[11] !== 0xff) return canonicalMaybe(gateway);
  return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
}

function viaOf(r: Json): string | undefined {
  const gw = str(r.gateway);
  if (gw) return unmapped(gw);
  const via = r.via as Json | undefined;
  const host = via && str(via.host);
  return host ? canonicalMaybe(host) : undefined;
}

/** `ip -N -j -4|-6 route show table all proto P`. */
export function parseRoutes(json: string, family: 4 | 6): KernelRoute[] {
  const out: KernelRoute[] = [];
  for (const r of parseArray(json, 'ip route')) {
    let dst = str(r.dst) ?? '';
    if (dst === 'default') dst = family === 4 ? '0.0.0.0/0' : '::/0';
    else if (!dst.includes('/')) dst = `${dst}/${family === 4 ? 32 : 128}`;
    const slash = dst.indexOf('/');
    const table = Number(r.table ?? 254);
    const prefix = `${canonicalMaybe(dst.slice(0, slash))}${dst.slice(slash)}`;
    // An ECMP route: "nexthops": [{ "encap": "mpls", "dst": labels, "gateway", "dev", "weight" }, ...] (iproute2 6.1; "multipath" in some versions).
    const hops = Array.isArray(r.nexthops) ? r.nexthops : Array.isArray(r.multipath) ? r.multipath : undefined;
    if (hops) {
      const nexthops = (hops as Json[]).map((n) => ({ dev: str(n.dev), via: viaOf(n), labels: n.encap === 'mpls' ? labelsOf(n.encap_dst) : [] }));
      out.push({ table, prefix, labels: [], nexthops });
      continue;
    }
    out.push({
      table,
      prefix,
      dev: str(r.dev),
      via: viaOf(r),
      labels: r.encap === 'mpls' ? labelsOf(r.encap_dst) : [],
    });
  }
  return out;
}

/** `ip -N -j -f mpls route show proto P` (swapped-to labels print as "to": "as to 16003/200"). */
export function parseLabelRoutes(json: string): KernelLabelRoute[] {
  return parseArray(json, 'ip -f mpls route').map((r) => ({ label: Number(r.dst), dev: str(r.dev), via: viaOf(r), labels: labelsOf(r.to) }));
}
