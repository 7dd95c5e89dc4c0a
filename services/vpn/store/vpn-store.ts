// VPN rows with their route targets and extranet imports. Specs come in
// canonical (route targets and RD as the formatters write them).
import type { Filter } from '../intent/handler.js';
import type { RouteTargets, VpnSpec, VpnView } from '../intent/types.js';
import type { Db } from './db.js';
import { afterWhere, statusWhere } from './filters.js';
import { routeTargetKeys, toDbEnum, vpnView } from './records.js';

export interface VpnStore {
  read(id: string): Promise<VpnView | undefined>;
  /** Filters: customer, status. Ids > after, in id order, at most limit. */
  list(filter: Filter, after: string | undefined, limit: number): Promise<VpnView[]>;
  /** Which of `ids` name a VPN. */
  existing(ids: string[]): Promise<string[]>;
  /** The VPN other than `exceptVpn` whose RD, or one of whose VRFs' RDs, is `rd`. */
  rdOwner(rd: string, exceptVpn: string): Promise<string | undefined>;
  /** The VPN other than `exceptVpn` that has route target `rt`, given or allocated. */
  rtOwner(rt: string, exceptVpn: string): Promise<string | undefined>;
  /** The VPNs that import `id` (extranet). */
  importers(id: string): Promise<string[]>;
  /** Writes the VPN, its route targets and its imports. */
  create(vpn: VpnSpec): Promise<void>;
  /** The same, incrementing its version. */
  update(vpn: VpnSpec): Promise<void>;
  delete(id: string): Promise<void>;
  /** Sets the VPN's status pending (its version stays: the VPN itself did not change). */
  markPending(id: string): Promise<void>;
}

type RtRole = 'ANY_TO_ANY' | 'HUB' | 'SPOKE';
const RT_ROLE: Record<keyof RouteTargets, RtRole> = { anyToAny: 'ANY_TO_ANY', hub: 'HUB', spoke: 'SPOKE' };

const include = { routeTargets: true, imports: true } as const;

const rowOf = (v: VpnSpec) => ({
  customer: v.customer,
  description: v.description ?? null,
  topology: toDbEnum(v.topology ?? 'any-to-any') as 'ANY_TO_ANY' | 'HUB_SPOKE',
  addressFamilies: v.addressFamilies ?? ['ipv4'],
  labelMode: toDbEnum(v.labelMode ?? 'per-vrf') as 'PER_VRF' | 'PER_CE' | 'PER_PREFIX',
  maxRoutesPerVrf: v.maxRoutesPerVrf ?? 10000,
  routeDistinguisher: v.routeDistinguisher ?? null,
  status: 'PENDING' as const,
  statusReason: null,
});

async function writeRouteTargets(db: Db, v: VpnSpec): Promise<void> {
  const roles = routeTargetKeys(v.topology).map((k) => [k, RT_ROLE[k]] as const);
  const existing = await db.vpnRouteTarget.findMany({ where: { vpnId: v.id } });
  await db.vpnRouteTarget.deleteMany({ where: { vpnId: v.id, role: { notIn: roles.map(([, role]) => role) } } });
  for (const [key, role] of roles) {
    const value = v.routeTargets?.[key];
    const old = existing.find((r) => r.role === role);
    let row: { value: string | null; given: boolean };
    if (value) {
      // A GET body PUT back repeats the allocated value; it stays allocated (released on delete).
      row = { value, given: !(old && !old.given && old.value === value) };
    } else {
      row = old && !old.given ? { value: old.value, given: false } : { value: null, given: false };
    }
    await db.vpnRouteTarget.upsert({ where: { vpnId_role: { vpnId: v.id, role } }, create: { vpnId: v.id, role, ...row }, update: row });
  }
}

async function writeImports(db: Db, v: VpnSpec): Promise<void> {
  await db.vpnImport.deleteMany({ where: { importerId: v.id } });
  if (v.extranetImports?.length) await db.vpnImport.createMany({ data: v.extranetImports.map((exporterId) => ({ importerId: v.id, exporterId })) });
}

export function prismaVpnStore(db: Db): VpnStore {
  return {
    async read(id) {
      const r = await db.vpn.findUnique({ where: { id }, include });
      return r ? vpnView(r) : undefined;
    },
    async list(filter, after, limit) {
      const rows = await db.vpn.findMany({
        where: { ...afterWhere(after), ...(filter.customer ? { customer: filter.customer } : {}), ...statusWhere(filter) },
        include,
        orderBy: { id: 'asc' },
        take: limit,
      });
      return rows.map(vpnView);
    },
    existing: async (ids) => (ids.length ? (await db.vpn.findMany({ where: { id: { in: ids } }, select: { id: true } })).map((x) => x.id) : []),
    async rdOwner(rd, exceptVpn) {
      const other = await db.vpn.findFirst({ where: { routeDistinguisher: rd, id: { not: exceptVpn } }, select: { id: true } });
      if (other) return other.id;
      return (await db.vrf.findFirst({ where: { routeDistinguisher: rd, vpnId: { not: exceptVpn } }, select: { vpnId: true } }))?.vpnId;
    },
    rtOwner: async (rt, exceptVpn) => (await db.vpnRouteTarget.findFirst({ where: { value: rt, vpnId: { not: exceptVpn } }, select: { vpnId: true } }))?.vpnId,
    importers: async (id) => (await db.vpnImport.findMany({ where: { exporterId: id }, select: { importerId: true } })).map((i) => i.importerId),
    async create(v) {
      await db.vpn.create({ data: { id: v.id, ...rowOf(v) } });
      await writeRouteTargets(db, v);
      await writeImports(db, v);
    },
    async update(v) {
      await db.vpn.update({ where: { id: v.id }, data: { ...rowOf(v), version: { increment: 1 } } });
      await writeRouteTargets(db, v);
      await writeImports(db, v);
    },
    async delete(id) {
      await db.vpn.delete({ where: { id } });
    },
    async markPending(id) {
      await db.vpn.updateMany({ where: { id }, data: { status: 'PENDING', statusReason: null } });
    },
  };
}
