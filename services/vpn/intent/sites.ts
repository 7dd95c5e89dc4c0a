// Sites (RFC 8299 site + site-network-access): a CE attached to a PE
// interface, in one VPN. Writing one keeps its VRF in step (vrfs.ts).
import { Prisma, type Site } from '../../common/gen/prisma/client.js';
import { conflict, Problems } from './errors.js';
import type { Filter, ResourceHandler } from './handler.js';
import { statusFilter } from './handler.js';
import { ipEquals, parseIp, type IpFamily } from '../../common/net/address.js';
import { formatPrefixNetwork, isIpv4SubnetEdge, parseIpPrefix, prefixContains, prefixesOverlap } from '../../common/net/prefix.js';
import { checkAddressUse } from './address-rules.js';
import { siteView, toDbEnum } from './records.js';
import type { Family, SiteRole, SiteSpec, SiteView } from './types.js';
import { canonicalRt } from './vpns.js';
import { syncVrf } from './vrfs.js';
import { lockRows, type WriteContext } from './write-context.js';

const FAMILIES: Family[] = ['ipv4', 'ipv6'];
const familyName = (f: IpFamily): Family => (f === 4 ? 'ipv4' : 'ipv6');

/** The site's role, with the any-to-any default; 422 when it does not fit the VPN's topology. */
function roleOf(s: SiteSpec, topology: string, p: Problems): SiteRole {
  if (topology === 'HUB_SPOKE') {
    if (!s.role || s.role === 'any-to-any') p.add('/role', 'a site of a hub-spoke VPN must be a hub or a spoke');
    return s.role ?? 'spoke';
  }
  if (s.role && s.role !== 'any-to-any') p.add('/role', `a site of an any-to-any VPN cannot be a ${s.role}`);
  return 'any-to-any';
}

function checkAddressing(s: SiteSpec, families: string[], p: Problems): void {
  for (const f of FAMILIES) {
    const a = s[f];
    if (!a) continue;
    if (!families.includes(f)) {
      p.add(`/${f}`, `VPN '${s.vpn}' does not carry ${f} (addressFamilies: ${families.join(', ')})`);
      continue;
    }
    checkAddressUse(p, `/${f}/peAddress`, a.peAddress, 'host');
    checkAddressUse(p, `/${f}/ceAddress`, a.ceAddress, 'host');
    const pe = parseIpPrefix(a.peAddress)!;
    const ce = parseIp(a.ceAddress)!;
    if (familyName(pe.family) !== f) p.add(`/${f}/peAddress`, `must be an ${f} address`);
    else if (isIpv4SubnetEdge(pe, pe)) p.add(`/${f}/peAddress`, `is the network or broadcast address of ${formatPrefixNetwork(pe)}`);
    if (!prefixContains(pe, ce)) p.add(`/${f}/ceAddress`, `is not in the PE interface subnet ${formatPrefixNetwork(pe)}`);
    else if (ipEquals(ce, pe)) p.add(`/${f}/ceAddress`, 'must differ from the PE address');
    else if (isIpv4SubnetEdge(pe, ce)) p.add(`/${f}/ceAddress`, `is the network or broadcast address of ${formatPrefixNetwork(pe)}`);
  }
  (s.routing?.static ?? []).forEach((r, i) => {
    const family = familyName(parseIpPrefix(r.prefix)!.family);
    const a = s[family];
    if (!a) {
      p.add(`/routing/static/${i}/prefix`, `the site has no ${family} attachment to route it over`);
      return;
    }
    if (r.nextHop) {
      checkAddressUse(p, `/routing/static/${i}/nextHop`, r.nextHop, 'host');
      const nh = parseIp(r.nextHop)!;
      if (!prefixContains(parseIpPrefix(a.peAddress)!, nh)) p.add(`/routing/static/${i}/nextHop`, `is not in the PE interface subnet ${formatPrefixNetwork(parseIpPrefix(a.peAddress)!)}`);
    }
  });
}

async function check(ctx: WriteContext, s: SiteSpec, current: SiteView | undefined): Promise<SiteRole> {
  // Site writes on a PE are serialised by its row lock, so the overlap and VLAN checks below see every other write.
  const locked = await lockRows(ctx.tx, 'node', [s.node, current?.node ?? s.node]);
  const p = new Problems();
  const [vpn, node] = await Promise.all([ctx.tx.vpn.findUnique({ where: { id: s.vpn } }), ctx.tx.node.findUnique({ where: { id: s.node } })]);
  if (!vpn) p.add('/vpn', `no VPN '${s.vpn}'`);
  if (!node || !locked.includes(s.node)) p.add('/node', `no node '${s.node}'`);
  else if (node.role !== 'PE') p.add('/node', `node '${s.node}' is a P router; sites attach to PEs`);
  p.throwIfAny();
  const role = roleOf(s, vpn!.topology, p);
  checkAddressing(s, vpn!.addressFamilies, p);
  if (s.routing?.bgp && BigInt(s.routing.bgp.peerAs) === node!.asNumber) {
    p.add('/routing/bgp/peerAs', `equals the PE's AS ${node!.asNumber}; PE-CE routing here is eBGP`);
  }
  const sameVrf = await ctx.tx.site.findMany({ where: { vpnId: s.vpn, nodeId: s.node, id: { not: s.id } } });
  if (vpn!.topology === 'HUB_SPOKE') {
    // RFC 4364 §4.3.5: hubs and spokes on one PE need separate VRFs; here a VPN has one VRF per PE.
    const other = sameVrf.find((o) => o.role !== toDbEnum(role));
    if (other) p.add('/role', `site '${other.id}' of this VPN on ${s.node} is a ${other.role.toLowerCase()}; hubs and spokes of one VPN need different PEs`);
  }
  const routes = sameVrf.reduce((n, o) => n + (o.staticRoutes as unknown[]).length, 0) + (s.routing?.static?.length ?? 0);
  if (routes > vpn!.maxRoutesPerVrf) p.add('/routing/static', `the VRF would hold ${routes} static routes, above the VPN's maxRoutesPerVrf (${vpn!.maxRoutesPerVrf})`);
  p.throwIfAny();
  await checkConflicts(ctx, s, sameVrf);
  return role;
}

async function checkConflicts(ctx: WriteContext, s: SiteSpec, sameVrf: Site[]): Promise<void> {
  const vlan = s.vlan ?? 0;
  const onPort = await ctx.tx.site.findFirst({ where: { nodeId: s.node, interface: s.interface, vlan, id: { not: s.id } } });
  if (onPort) {
    throw conflict(s.vlan ? '/vlan' : '/interface', vlan ? `VLAN ${vlan} on ${s.node} ${s.interface} is already used by site '${onPort.id}'` : `${s.node} ${s.interface} (untagged) is already used by site '${onPort.id}'`);
  }
  const link = await ctx.tx.link.findFirst({ where: { OR: [{ aNodeId: s.node, aInterface: s.interface }, { bNodeId: s.node, bInterface: s.interface }] } });
  if (link) throw conflict('/interface', `${s.node} ${s.interface} is a core interface (link '${link.id}')`);
  // Subnets may repeat across VPNs (that is what VRFs are for) but not within one VRF.
  for (const f of FAMILIES) {
    const mine = s[f] && parseIpPrefix(s[f].peAddress)!;
    if (!mine) continue;
    for (const o of sameVrf) {
      const theirs = f === 'ipv4' ? o.ipv4PeAddress : o.ipv6PeAddress;
      if (theirs && prefixesOverlap(mine, parseIpPrefix(theirs)!)) {
        throw conflict(`/${f}/peAddress`, `${formatPrefixNetwork(mine)} overlaps ${theirs} of site '${o.id}' in the same VRF on ${s.node}`);
      }
    }
  }
}

function rowOf(s: SiteSpec, role: SiteRole) {
  return {
    vpnId: s.vpn,
    nodeId: s.node,
    interface: s.interface,
    vlan: s.vlan ?? 0,
    ipv4PeAddress: s.ipv4?.peAddress ?? null,
    ipv4CeAddress: s.ipv4?.ceAddress ?? null,
    ipv6PeAddress: s.ipv6?.peAddress ?? null,
    ipv6CeAddress: s.ipv6?.ceAddress ?? null,
    role: toDbEnum(role) as 'ANY_TO_ANY' | 'HUB' | 'SPOKE',
    staticRoutes: (s.routing?.static ?? []).map((r) => ({ ...r })),
    bgp: s.routing?.bgp ? { peerAs: s.routing.bgp.peerAs } : undefined,
    siteOfOrigin: s.siteOfOrigin ? canonicalRt(s.siteOfOrigin) : null,
    status: 'PENDING' as const,
    statusReason: null,
  };
}

/** A VPN's status follows its sites: any change makes it pending until the worker catches up. */
async function markVpnPending(ctx: WriteContext, vpnId: string): Promise<void> {
  await ctx.tx.vpn.updateMany({ where: { id: vpnId }, data: { status: 'PENDING', statusReason: null } });
}

export const sites: ResourceHandler<'site'> = {
  kind: 'site',
  filters: ['vpn', 'node', 'status'],

  async read(db, id) {
    const r = await db.site.findUnique({ where: { id } });
    return r ? siteView(r) : undefined;
  },

  async list(db, filter: Filter, after, limit) {
    const rows = await db.site.findMany({
      where: {
        ...(after ? { id: { gt: after } } : {}),
        ...(filter.vpn ? { vpnId: filter.vpn } : {}),
        ...(filter.node ? { nodeId: filter.node } : {}),
        ...statusFilter(filter),
      },
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows.map(siteView);
  },

  async save(ctx, next, current) {
    const role = await check(ctx, next, current);
    const data = rowOf(next, role);
    const bgp = data.bgp ?? Prisma.DbNull;
    if (current) {
      await ctx.tx.site.update({ where: { id: next.id }, data: { ...data, bgp, version: { increment: 1 } } });
      ctx.changed('site', next.id, 'update');
    } else {
      await ctx.tx.site.create({ data: { id: next.id, ...data, bgp } });
      ctx.changed('site', next.id, 'create');
    }
    await syncVrf(ctx, next.vpn, next.node);
    if (current && (current.vpn !== next.vpn || current.node !== next.node)) {
      await syncVrf(ctx, current.vpn, current.node);
      await markVpnPending(ctx, current.vpn);
    }
    await markVpnPending(ctx, next.vpn);
    ctx.affect(next.node, current?.node);
  },

  async remove(ctx, current) {
    await lockRows(ctx.tx, 'node', [current.node]);
    await ctx.tx.site.delete({ where: { id: current.id } });
    ctx.changed('site', current.id, 'delete');
    await syncVrf(ctx, current.vpn, current.node);
    await markVpnPending(ctx, current.vpn);
    ctx.affect(current.node);
  },
};

