// VPNs (RFC 8299 vpn-service): topology, address families, label mode, and
// the route targets and route distinguisher that keep them apart.
import { formatRd, parseRd } from '../../common/vpn/rd.js';
import { formatRouteTarget, parseRouteTarget } from '../../common/vpn/route-target.js';
import { conflict, Problems } from './errors.js';
import type { ResourceHandler } from './handler.js';
import type { IntentStore } from '../store/intent-store.js';
import { routeTargetKeys } from '../store/records.js';
import type { RouteTargets, VpnSpec, VpnView } from './types.js';
import { touchVrfsOf } from './vrfs.js';

const RT_KEYS: (keyof RouteTargets)[] = ['anyToAny', 'hub', 'spoke'];

export const canonicalRt = (v: string) => formatRouteTarget(parseRouteTarget(v));
export const canonicalRd = (v: string) => formatRd(parseRd(v));

/** The spec with its route targets and RD written the one way the store keeps them. */
function canonical(v: VpnSpec): VpnSpec {
  const routeTargets: RouteTargets = {};
  for (const key of RT_KEYS) {
    const value = v.routeTargets?.[key];
    if (value) routeTargets[key] = canonicalRt(value);
  }
  return { ...v, routeTargets, routeDistinguisher: v.routeDistinguisher ? canonicalRd(v.routeDistinguisher) : undefined };
}

/** Checks a VPN against the rest of the intent; throws the IntentErrors. */
export async function checkVpn(store: IntentStore, v: VpnSpec, current: VpnView | undefined): Promise<void> {
  const p = new Problems();
  const keys = routeTargetKeys(v.topology);
  const given = v.routeTargets ?? {};
  for (const key of RT_KEYS) {
    if (given[key] && !keys.includes(key)) p.add(`/routeTargets/${key}`, `a ${v.topology ?? 'any-to-any'} VPN has no ${key} route target`);
  }
  if (given.hub && given.spoke && canonicalRt(given.hub) === canonicalRt(given.spoke)) p.add('/routeTargets/spoke', 'must differ from the hub route target');
  const imports = v.extranetImports ?? [];
  if (imports.includes(v.id)) p.add(`/extranetImports/${imports.indexOf(v.id)}`, 'a VPN does not import itself');
  if (imports.length) {
    const found = new Set(await store.vpns.existing(imports));
    imports.forEach((id, i) => id !== v.id && !found.has(id) && p.add(`/extranetImports/${i}`, `no VPN '${id}'`));
  }
  if (current) {
    // Sites must still fit the topology (RFC 8299 site-role).
    const sites = await store.sites.ofVpn(v.id);
    const hubSpoke = keys.includes('hub');
    const misfits = sites.filter((s) => (hubSpoke ? s.role === 'any-to-any' : s.role !== 'any-to-any')).map((s) => s.id);
    if (misfits.length) p.add('/topology', `site(s) ${misfits.slice(0, 5).join(', ')} have role ${hubSpoke ? 'any-to-any, not hub or spoke' : 'hub or spoke'}`);
    const families = new Set(v.addressFamilies ?? ['ipv4']);
    const v4 = sites.filter((s) => s.ipv4).map((s) => s.id);
    const v6 = sites.filter((s) => s.ipv6).map((s) => s.id);
    p.throwIfAny();
    if (!families.has('ipv4') && v4.length) throw conflict('/addressFamilies', `site(s) ${v4.slice(0, 5).join(', ')} use IPv4`);
    if (!families.has('ipv6') && v6.length) throw conflict('/addressFamilies', `site(s) ${v6.slice(0, 5).join(', ')} use IPv6`);
  }
  p.throwIfAny();
  if (v.routeDistinguisher) {
    const rd = canonicalRd(v.routeDistinguisher);
    const owner = await store.vpns.rdOwner(rd, v.id);
    if (owner) throw conflict('/routeDistinguisher', `route distinguisher ${rd} belongs to VPN '${owner}'`);
  }
  for (const key of keys) {
    const value = given[key];
    if (!value) continue;
    const owner = await store.vpns.rtOwner(canonicalRt(value), v.id);
    if (owner) throw conflict(`/routeTargets/${key}`, `route target ${canonicalRt(value)} belongs to VPN '${owner}'`);
  }
}

export const vpns: ResourceHandler<'vpn'> = {
  kind: 'vpn',
  filters: ['customer', 'status'],

  read: (store, id) => store.vpns.read(id),

  list: (store, filter, after, limit) => store.vpns.list(filter, after, limit),

  async save(ctx, next, current) {
    await checkVpn(ctx.store, next, current);
    const vpn = canonical(next);
    if (current) {
      await ctx.store.vpns.update(vpn);
      ctx.changed('vpn', next.id, 'update');
      // Its VRFs and those of the VPNs importing it get new route targets.
      await touchVrfsOf(ctx, [next.id, ...(await ctx.store.vpns.importers(next.id))]);
    } else {
      await ctx.store.vpns.create(vpn);
      ctx.changed('vpn', next.id, 'create');
    }
  },

  async remove(ctx, current) {
    const [sites, importers] = await Promise.all([ctx.store.sites.count({ vpn: current.id }), ctx.store.vpns.importers(current.id)]);
    if (sites) throw conflict('', `VPN '${current.id}' still has ${sites} site(s); delete them first`);
    if (importers.length) throw conflict('', `VPN(s) ${importers.join(', ')} import VPN '${current.id}' (extranet)`);
    await ctx.store.vpns.delete(current.id);
    ctx.changed('vpn', current.id, 'delete');
  },
};
