// The lab's provider network as a topology file describes it: managed PE and
// P nodes, core links with IGP metrics, the CE ports of each PE, our BGP
// speaker's address, the external PE / route reflector (a real GoBGP), and a
// sample VPN provisioned through the REST API. Pure: parsing and checks only.
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { parse as parseYaml } from 'yaml';

export interface LabNode {
  id: string;
  role: 'PE' | 'P';
  routerId: string;
  sidIndex: number;
  /** Customer-facing ports of a PE; each gets a CE host (a network namespace) on the ovs driver. */
  cePorts: string[];
}

export interface LabLink {
  a: string;
  b: string;
  metric: number;
}

/** A VPN-IPv4 route the external PE originates (RFC 4364 §4.3.2: RD, label, route targets, its own next hop). */
export interface ExternalRoute {
  rd: string;
  prefix: string;
  label: number;
  routeTargets: string[];
}

export interface ExternalPe {
  kind: 'gobgp';
  address: string;
  routerId: string;
  /** The next hop of its routes (a loopback the lab network does not own). */
  nextHop: string;
  routes: ExternalRoute[];
}

export interface Topology {
  as: number;
  nodes: LabNode[];
  links: LabLink[];
  /** Address our bgp service binds and the external PE peers with. */
  bgpAddress: string;
  external?: ExternalPe;
  /** REST bodies, posted in order: VPNs, then sites. */
  sample: { vpns: Record<string, unknown>[]; sites: Record<string, unknown>[] };
}

export class TopologyError extends Error {}

type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/;
const PORT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,7}$/;

function field<T>(o: Raw, key: string, where: string, check: (v: unknown) => v is T, what: string, fallback?: T): T {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (!check(v)) throw new TopologyError(`${where}.${key}: expected ${what}, got ${JSON.stringify(v)}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isId = (v: unknown): v is string => isString(v) && ID.test(v);
const isIp = (v: unknown): v is string => isString(v) && isIPv4(v);
const isInt = (min: number, max: number) => (v: unknown): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const isList = (v: unknown): v is unknown[] => Array.isArray(v);

function parseNode(raw: unknown, i: number): LabNode {
  const where = `nodes[${i}]`;
  if (!isObject(raw)) throw new TopologyError(`${where}: expected a mapping`);
  const role = field(raw, 'role', where, (v): v is 'PE' | 'P' => v === 'PE' || v === 'P', 'PE or P');
  const cePorts = field(raw, 'ce-ports', where, isList, 'a list of port names', []);
  for (const p of cePorts) if (!isString(p) || !PORT.test(p)) throw new TopologyError(`${where}.ce-ports: '${String(p)}' is not a port name of at most 8 letters, digits, '_' or '-'`);
  if (role === 'P' && cePorts.length) throw new TopologyError(`${where}: a P node has no CE ports`);
  return {
    id: field(raw, 'id', where, isId, 'an id of at most 31 letters, digits, ".", "_" or "-"'),
    role,
    routerId: field(raw, 'router-id', where, isIp, 'an IPv4 address'),
    sidIndex: field(raw, 'sid-index', where, isInt(0, 7999), 'a node SID index (0-7999)'),
    cePorts: cePorts as string[],
  };
}

function parseExternal(raw: unknown): ExternalPe {
  const where = 'external';
  if (!isObject(raw)) throw new TopologyError(`${where}: expected a mapping`);
  field(raw, 'kind', where, (v): v is 'gobgp' => v === 'gobgp', "'gobgp'");
  const routes = field(raw, 'routes', where, isList, 'a list', []).map((r, i) => {
    const w = `${where}.routes[${i}]`;
    if (!isObject(r)) throw new TopologyError(`${w}: expected a mapping`);
    return {
      rd: field(r, 'rd', w, isString, 'a route distinguisher'),
      prefix: field(r, 'prefix', w, isString, 'an IPv4 prefix'),
      label: field(r, 'label', w, isInt(16, 1048575), 'an MPLS label (16-1048575)'),
      routeTargets: field(r, 'route-targets', w, (v): v is string[] => isList(v) && v.every(isString), 'a list of route targets'),
    };
  });
  return {
    kind: 'gobgp',
    address: field(raw, 'address', where, isIp, 'an IPv4 address'),
    routerId: field(raw, 'router-id', where, isIp, 'an IPv4 address'),
    nextHop: field(raw, 'next-hop', where, isIp, 'an IPv4 address'),
    routes,
  };
}

/** Checks a topology's cross-references; throws TopologyError naming the first problem. */
export function checkTopology(t: Topology): Topology {
  const ids = new Set<string>();
  for (const n of t.nodes) {
    if (ids.has(n.id)) throw new TopologyError(`node '${n.id}' is listed twice`);
    ids.add(n.id);
  }
  if (!t.nodes.some((n) => n.role === 'PE')) throw new TopologyError('the topology needs at least one PE');
  t.links.forEach((l, i) => {
    for (const end of [l.a, l.b]) if (!ids.has(end)) throw new TopologyError(`links[${i}]: no node '${end}'`);
    if (l.a === l.b) throw new TopologyError(`links[${i}]: a link joins two different nodes`);
  });
  return t;
}

export function parseTopology(doc: unknown): Topology {
  if (!isObject(doc)) throw new TopologyError('a topology is a mapping with nodes, links, bgp, external and sample');
  const nodes = field(doc, 'nodes', 'topology', isList, 'a list of nodes').map(parseNode);
  const links = field(doc, 'links', 'topology', isList, 'a list of links').map((raw, i) => {
    const where = `links[${i}]`;
    if (!isObject(raw)) throw new TopologyError(`${where}: expected a mapping`);
    return { a: field(raw, 'a', where, isId, 'a node id'), b: field(raw, 'b', where, isId, 'a node id'), metric: field(raw, 'metric', where, isInt(1, 16777215), 'an IGP metric', 10) };
  });
  const bgp = field(doc, 'bgp', 'topology', isObject, 'a mapping with address');
  const sample = field(doc, 'sample', 'topology', isObject, 'a mapping with vpns and sites', {});
  const bodies = (key: string) => field(sample, key, 'sample', (v): v is Raw[] => isList(v) && v.every(isObject), 'a list of REST bodies', []);
  return checkTopology({
    as: field(doc, 'as', 'topology', isInt(1, 4294967295), 'an AS number', 65000),
    nodes,
    links,
    bgpAddress: field(bgp, 'address', 'bgp', isIp, 'an IPv4 address'),
    ...(doc.external !== undefined ? { external: parseExternal(doc.external) } : {}),
    sample: { vpns: bodies('vpns'), sites: bodies('sites') },
  });
}

export function loadTopology(path: string): Topology {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TopologyError(`cannot read topology ${path}: ${(err as Error).message}`);
  }
  try {
    return parseTopology(parseYaml(text));
  } catch (err) {
    if (err instanceof TopologyError) throw new TopologyError(`${path}: ${err.message}`);
    throw new TopologyError(`${path} is not valid YAML: ${(err as Error).message}`);
  }
}

/** The core interface names of each node, in link order: core0, core1, ... */
export function coreInterfaces(t: Topology): { a: string; b: string }[] {
  const next = new Map<string, number>();
  const take = (node: string) => {
    const n = next.get(node) ?? 0;
    next.set(node, n + 1);
    return `core${n}`;
  };
  return t.links.map((l) => ({ a: take(l.a), b: take(l.b) }));
}

/** The /31 of the i-th core link (RFC 3021), from 10.0.0.0/16: a gets the even address, b the odd. */
export function linkAddresses(i: number): { a: string; b: string } {
  const base = 2 * i;
  const addr = (n: number) => `10.0.${(n >> 8) & 255}.${n & 255}/31`;
  return { a: addr(base), b: addr(base + 1) };
}
