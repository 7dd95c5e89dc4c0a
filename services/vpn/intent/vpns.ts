// VPNs (RFC 8299 vpn-service): topology, address families, label mode, and
// the route targets and route distinguisher that keep them apart.
import { formatRd, parseRd } from '../../common/vpn/rd.js';
import { formatRouteTarget, parseRouteTarget } from '../../common/vpn/route-target.js';
import { conflict, Problems } from './errors.js';
import type { Filter, ResourceHandler } from './handler.js';
import { statusFilter } from './handler.js';
import { toDbEnum, vpnView } from './records.js';
import type { RouteTargets, VpnSpec, VpnView } from './types.js';
import { touchVrfsOf } from './vrfs.js';
import type { WriteContext } from './write-context.js';

const include = { routeTargets: true, imports: true } as const;

type RtRole = 'ANY_TO_ANY' | 'HUB' | 'SPOKE';
const RT_KEYS: Record<RtRole, keyof RouteTargets> = { ANY_TO_ANY: 'anyToAny', HUB: 'hub', SPOKE: 'spoke' };

export const canonicalRt = (v: string) => formatRouteTarget(parseRouteTarget(v));
export const canonicalRd = (v: string) => formatRd(parseRd(v));

function rolesOf(v: VpnSpec): RtRole[] {
  return (v.topology ?? 'any-to-any') === 'any-to-any' ? ['ANY_TO_ANY'] : ['HUB', 'SPOKE'];
}

async function check(ctx: WriteContext, v: VpnSpec, current: VpnView | undefined): Promise<void> {
  const p = new Problems();
  const roles = rolesOf(v);
  const given = v.routeTargets ?? {};
  for (const [role, key] of Object.entries(RT_KEYS) as [RtRole, keyof RouteTargets][]) {
    if (given[key] && !roles.includes(role)) p.add(`/routeTargets/${key}`, `a ${v.topology ?? 'any-to-any'} VPN has no ${key} route target`);
  }
  if (given.hub && given.spoke && canonicalRt(given.hub) === canonicalRt(given.spoke)) p.add('/routeTargets/spoke', 'must differ from the hub route target');
  const imports = v.extranetImports ?? [];
  if (imports.includes(v.id)) p.add(`/extranetImports/${imports.indexOf(v.id)}`, 'a VPN does not import itself');
  if (imports.length) {
    const found = new Set((await ctx.tx.vpn.findMany({ where: { id: { in: imports } }, select: { id: true } })).map((x) => x.id));
    imports.forEach((id, i) => id !== v.id && !found.has(id) && p.add(`/extranetImports/${i}`, `no VPN '${id}'`));
  }
  if (current) {
    // Sites must still fit the topology (RFC 8299 site-role).
    const sites = await ctx.tx.site.findMany({ where: { vpnId: v.id }, select: { id: true, role: true, ipv4PeAddress: true, ipv6PeAddress: true } });
    const hubSpoke = roles.includes('HUB');
    const misfits = sites.filter((s) => (hubSpoke ? s.role === 'ANY_TO_ANY' : s.role !== 'ANY_TO_ANY')).map((s) => s.id);
    if (misfits.length) p.add('/topology', `site(s) ${misfits.slice(0, 5).join(', ')} have role ${hubSpoke ? 'any-to-any, not hub or spoke' : 'hub or spoke'}`);
    const families = new Set(v.addressFamilies ?? ['ipv4']);
    const v4 = sites.filter((s) => s.ipv4PeAddress).map((s) => s.id);
    const v6 = sites.filter((s) => s.ipv6PeAddress).map((s) => s.id);
    p.throwIfAny();
    if (!families.has('ipv4') && v4.length) throw conflict('/addressFamilies', `site(s) ${v4.slice(0, 5).join(', ')} use IPv4`);
    if (!families.has('ipv6') && v6.length) throw conflict('/addressFamilies', `site(s) ${v6.slice(0, 5).join(', ')} use IPv6`);
  }
  p.throwIfAny();
  if (v.routeDistinguisher) {
    const rd = canonicalRd(v.routeDistinguisher);
    const other = await ctx.tx.vpn.findFirst({ where: { routeDistinguisher: rd, id: { not: v.id } } });
    const vrf = other ? undefined : await ctx.tx.vrf.findFirst({ where: { routeDistinguisher: rd, vpnId: { not: v.id } } });
    if (other || vrf) throw conflict('/routeDistinguisher', `route distinguisher ${rd} belongs to VPN '${other?.id ?? vrf?.vpnId}'`);
  }
  for (const [role, key] of Object.entries(RT_KEYS) as [RtRole, keyof RouteTargets][]) {
    const value = given[key];
    if (!value || !roles.includes(role)) continue;
    const taken = await ctx.tx.vpnRouteTarget.findFirst({ where: { value: canonicalRt(value), vpnId: { not: v.id } } });
    if (taken) throw conflict(`/routeTargets/${key}`, `route target ${canonicalRt(value)} belongs to VPN '${taken.vpnId}'`);
  }
}

async function writeRouteTargets(ctx: WriteContext, v: VpnSpec): Promise<void> {
  const roles = rolesOf(v);
  const existing = await ctx.tx.vpnRouteTarget.findMany({ where: { vpnId: v.id } });
  await ctx.tx.vpnRouteTarget.deleteMany({ where: { vpnId: v.id, role: { notIn: roles } } });
  for (const role of roles) {
    const given = v.routeTargets?.[RT_KEYS[role]];
    const old = existing.find((r) => r.role === role);
    let row: { value: string | null; given: boolean };
    if (given) {
      const value = canonicalRt(given);
      // A GET body PUT back repeats the allocated value; it stays allocated (released on delete).
      row = { value, given: !(old && !old.given && old.value === value) };
    } else {
      row = old && !old.given ? { value: old.value, given: false } : { value: null, given: false };
    }
    await ctx.tx.vpnRouteTarget.upsert({ where: { vpnId_role: { vpnId: v.id, role } }, create: { vpnId: v.id, role, ...row }, update: row });
  }
}

const rowOf = (v: VpnSpec) => ({
  customer: v.customer,
  description: v.description ?? null,
  topology: toDbEnum(v.topology ?? 'any-to-any') as 'ANY_TO_ANY' | 'HUB_SPOKE',
  addressFamilies: v.addressFamilies ?? ['ipv4'],
  labelMode: toDbEnum(v.labelMode ?? 'per-vrf') as 'PER_VRF' | 'PER_CE' | 'PER_PREFIX',
  maxRoutesPerVrf: v.maxRoutesPerVrf ?? 10000,
  routeDistinguisher: v.routeDistinguisher ? canonicalRd(v.routeDistinguisher) : null,
  status: 'PENDING' as const,
  statusReason: null,
});

export const vpns: ResourceHandler<'vpn'> = {
  kind: 'vpn',
  filters: ['customer', 'status'],

  async read(db, id) {
    const r = await db.vpn.findUnique({ where: { id }, include });
    return r ? vpnView(r) : undefined;
  },

  async list(db, filter: Filter, after, limit) {
    const rows = await db.vpn.findMany({
      where: { ...(after ? { id: { gt: after } } : {}), ...(filter.customer ? { customer: filter.customer } : {}), ...statusFilter(filter) },
      include,
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows.map(vpnView);
  },

  async save(ctx, next, current) {
    await check(ctx, next, current);
    if (current) {
      await ctx.tx.vpn.update({ where: { id: next.id }, data: { ...rowOf(next), version: { increment: 1 } } });
      ctx.changed('vpn', next.id, 'update');
    } else {
      await ctx.tx.vpn.create({ data: { id: next.id, ...rowOf(next) } });
      ctx.changed('vpn', next.id, 'create');
    }
    await writeRouteTargets(ctx, next);
    await ctx.tx.vpnImport.deleteMany({ where: { importerId: next.id } });
    if (next.extranetImports?.length) {
      await ctx.tx.vpnImport.createMany({ data: next.extranetImports.map((exporterId) => ({ importerId: next.id, exporterId })) });
    }
    if (current) {
      // Its VRFs and those of the VPNs importing it get new route targets.
      const importers = await ctx.tx.vpnImport.findMany({ where: { exporterId: next.id }, select: { importerId: true } });
      await touchVrfsOf(ctx, [next.id, ...importers.map((i) => i.importerId)]);
    }
  },

  async remove(ctx, current) {
    const [sites, importers] = await Promise.all([
      ctx.tx.site.count({ where: { vpnId: current.id } }),
      ctx.tx.vpnImport.findMany({ where: { exporterId: current.id }, select: { importerId: true } }),
    ]);
    if (sites) throw conflict('', `VPN '${current.id}' still has ${sites} site(s); delete them first`);
    if (importers.length) throw conflict('', `VPN(s) ${importers.map((i) => i.importerId).join(', ')} import VPN '${current.id}' (extranet)`);
    await ctx.tx.vpn.delete({ where: { id: current.id } });
    ctx.changed('vpn', current.id, 'delete');
  },
};
