// The API's resource kinds as the client names and tabulates them.
import { UsageError } from './errors.js';
import { age } from './table.js';

export type Resource = Record<string, unknown>;
export type KindName = 'node' | 'link' | 'vpn' | 'site' | 'vrf';

export interface Column {
  header: string;
  value: (r: Resource) => string;
}

export interface Kind {
  name: KindName;
  /** Collection path under /v1. */
  path: string;
  /** List filters the API takes for this kind. */
  filters: readonly string[];
  /** Derived kinds (VRFs) are read-only. */
  writable: boolean;
  columns: Column[];
  /** Extra columns of `-o wide`, inserted before STATUS. */
  wide: Column[];
}

/** A field by dotted path, as text ('' when absent). */
function field(r: Resource, path: string): string {
  let v: unknown = r;
  for (const part of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.join(',');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const col = (header: string, path: string): Column => ({ header, value: (r) => field(r, path) || '<none>' });
const NAME = col('NAME', 'id');
const STATUS: Column = { header: 'STATUS', value: (r) => field(r, 'status.state') || '<unknown>' };
const AGE: Column = { header: 'AGE', value: (r) => age(field(r, 'createdAt') || undefined) };
const REASON = col('REASON', 'status.reason');
const perAccess = (header: string, key: string): Column => ({
  header,
  value: (r) => field(r, key) || (Array.isArray(r.accesses) ? (r.accesses as Resource[]).map((a) => field(a, key) || '-').join(',') : '') || '<none>',
});
const linkEnd = (end: 'a' | 'b'): Column => ({ header: end.toUpperCase(), value: (r) => `${field(r, `${end}.node`)}/${field(r, `${end}.interface`)}` });

export const KINDS: Record<KindName, Kind> = {
  node: {
    name: 'node',
    path: 'nodes',
    filters: ['role', 'status'],
    writable: true,
    columns: [NAME, col('ROLE', 'role'), col('ROUTER-ID', 'routerId'), col('AS', 'asNumber')],
    wide: [col('LOOPBACK', 'loopback'), col('TRANSPORT', 'transport'), col('SID-INDEX', 'nodeSidIndex')],
  },
  link: {
    name: 'link',
    path: 'links',
    filters: ['node', 'status'],
    writable: true,
    columns: [NAME, linkEnd('a'), linkEnd('b'), col('METRIC', 'igpMetric')],
    wide: [col('A-ADDRESS', 'a.address'), col('B-ADDRESS', 'b.address')],
  },
  vpn: {
    name: 'vpn',
    path: 'vpns',
    filters: ['customer', 'status'],
    writable: true,
    columns: [NAME, col('CUSTOMER', 'customer'), col('TOPOLOGY', 'topology')],
    wide: [col('FAMILIES', 'addressFamilies'), col('LABEL-MODE', 'labelMode'), col('RD', 'routeDistinguisher'), { header: 'RTS', value: (r) => Object.entries((r.routeTargets ?? {}) as Record<string, unknown>).map(([role, rt]) => `${role}=${rt ?? '<new>'}`).join(',') || '<none>' }],
  },
  site: {
    name: 'site',
    path: 'sites',
    filters: ['vpn', 'node', 'status'],
    writable: true,
    // A multi-homed site has no flat access: its nodes, interfaces and VLANs per access, in order of preference.
    columns: [NAME, col('VPN', 'vpn'), perAccess('NODE', 'node'), perAccess('INTERFACE', 'interface'), perAccess('VLAN', 'vlan')],
    wide: [col('IPV4-PE', 'ipv4.peAddress'), col('IPV4-CE', 'ipv4.ceAddress'), col('IPV6-PE', 'ipv6.peAddress'), col('ROLE', 'role')],
  },
  vrf: {
    name: 'vrf',
    path: 'vrfs',
    filters: ['vpn', 'node', 'status'],
    writable: false,
    columns: [NAME, col('VPN', 'vpn'), col('NODE', 'node'), col('RD', 'routeDistinguisher'), col('SITES', 'sites')],
    wide: [col('IMPORT-RTS', 'importRouteTargets'), col('EXPORT-RTS', 'exportRouteTargets')],
  },
};

/** `reasons`: some row is not active for a reason, which the default table then shows too (why a site failed matters more than its age). */
export function columnsOf(kind: Kind, wide: boolean, reasons = false): Column[] {
  return wide ? [...kind.columns, ...kind.wide, STATUS, REASON, AGE] : [...kind.columns, STATUS, ...(reasons ? [REASON] : []), AGE];
}

const ALIASES: Record<string, KindName> = Object.fromEntries(
  Object.values(KINDS).flatMap((k) => [[k.name, k.name], [k.path, k.name]] as [string, KindName][]),
);

export function kindOf(word: string | undefined, what = 'KIND'): Kind {
  const name = word ? ALIASES[word.toLowerCase()] : undefined;
  if (!name) throw new UsageError(`${word ? `unknown kind '${word}'` : `missing ${what}`}; one of ${Object.values(KINDS).map((k) => k.path).join(', ')}`);
  return KINDS[name];
}

export function writableKindOf(word: string | undefined): Kind {
  const kind = kindOf(word);
  if (!kind.writable) throw new UsageError(`${kind.path} are derived from sites and cannot be written; create or delete sites instead`);
  return kind;
}

/** `node/pe1`, how kubectl names a resource in messages. */
export const ref = (kind: Kind, id: string) => `${kind.name}/${id}`;
