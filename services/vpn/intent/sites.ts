// Sites (RFC 8299 site + site-network-access): a CE attached to a PE
// interface, in one VPN. Writing one keeps its VRF in step (vrfs.ts).
import { conflict, Problems } from './errors.js';
import type { ResourceHandler } from './handler.js';
import { ipEquals, parseIp, type IpFamily } from '../../common/net/address.js';
import { formatPrefixNetwork, isIpv4SubnetEdge, parseIpPrefix, prefixContains, prefixesOverlap } from '../../common/net/prefix.js';
import { checkAddressUse } from './address-rules.js';
import type { IntentStore } from '../store/intent-store.js';
import type { Family, SiteRole, SiteSpec, SiteView, Topology } from './types.js';
import { canonicalRt } from './vpns.js';
import { syncVrf } from './vrfs.js';
import type { WriteContext } from './write-context.js';

const FAMILIES: Family[] = ['ipv4', 'ipv6'];
const familyName = (f: IpFamily): Family => (f === 4 ? 'ipv4' : 'ipv6');

/** The site's role, with the any-to-any default; 422 when it does not fit the VPN's topology. */
function roleOf(s: SiteSpec, topology: Topology | undefined, p: Problems): SiteRole {
  if (topology === 'hub-spoke') {
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

/** Checks a site against the rest of the intent (throws the IntentErrors); its role, defaulted. */
export async function checkSite(store: IntentStore, s: SiteSpec, current: SiteView | undefined): Promise<SiteRole> {
  // Site writes on a PE are serialised by its row lock, so the overlap and VLAN checks below see every other write.
  const locked = await store.nodes.lock([s.node, current?.node ?? s.node]);
  const p = new Problems();
  const [vpn, node] = await Promise.all([store.vpns.read(s.vpn), store.nodes.read(s.node)]);
  if (!vpn) p.add('/vpn', `no VPN '${s.vpn}'`);
  if (!node || !locked.includes(s.node)) p.add('/node', `no node '${s.node}'`);
  else if (node.role !== 'PE') p.add('/node', `node '${s.node}' is a P router; sites attach to PEs`);
  p.throwIfAny();
  const role = roleOf(s, vpn!.topology, p);
  checkAddressing(s, vpn!.addressFamilies, p);
  if (s.routing?.bgp && s.routing.bgp.peerAs === node!.asNumber) {
    p.add('/routing/bgp/peerAs', `equals the PE's AS ${node!.asNumber}; PE-CE routing here is eBGP`);
  }
  const sameVrf = await store.sites.inVrf(s.vpn, s.node, s.id);
  if (vpn!.topology === 'hub-spoke') {
    // RFC 4364 §4.3.5: hubs and spokes on one PE need separate VRFs; here a VPN has one VRF per PE.
    const other = sameVrf.find((o) => o.role !== role);
    if (other) p.add('/role', `site '${other.id}' of this VPN on ${s.node} is a ${other.role}; hubs and spokes of one VPN need different PEs`);
  }
  const routes = sameVrf.reduce((n, o) => n + (o.routing?.static?.length ?? 0), 0) + (s.routing?.static?.length ?? 0);
  if (routes > vpn!.maxRoutesPerVrf) p.add('/routing/static', `the VRF would hold ${routes} static routes, above the VPN's maxRoutesPerVrf (${vpn!.maxRoutesPerVrf})`);
  p.throwIfAny();
  await checkConflicts(store, s, sameVrf);
  return role;
}

async function checkConflicts(store: IntentStore, s: SiteSpec, sameVrf: SiteView[]): Promise<void> {
  const vlan = s.vlan ?? 0;
  const onPort = await store.sites.onPort(s.node, s.interface, vlan, s.id);
  if (onPort) {
    throw conflict(s.vlan ? '/vlan' : '/interface', vlan ? `VLAN ${vlan} on ${s.node} ${s.interface} is already used by site '${onPort}'` : `${s.node} ${s.interface} (untagged) is already used by site '${onPort}'`);
  }
  const link = await store.interfaces.linkOn({ node: s.node, interface: s.interface });
  if (link) throw conflict('/interface', `${s.node} ${s.interface} is a core interface (link '${link}')`);
  // Subnets may repeat across VPNs (that is what VRFs are for) but not within one VRF.
  for (const f of FAMILIES) {
    const mine = s[f] && parseIpPrefix(s[f].peAddress)!;
    if (!mine) continue;
    for (const o of sameVrf) {
      const theirs = o[f]?.peAddress;
      if (theirs && prefixesOverlap(mine, parseIpPrefix(theirs)!)) {
        throw conflict(`/${f}/peAddress`, `${formatPrefixNetwork(mine)} overlaps ${theirs} of site '${o.id}' in the same VRF on ${s.node}`);
      }
    }
  }
}

/** The VRF of the site's VPN on its node, and the VPN's status, follow its sites. */
async function siteMoved(ctx: WriteContext, vpn: string, node: string): Promise<void> {
  await syncVrf(ctx, vpn, node);
  await ctx.store.vpns.markPending(vpn);
}

export const sites: ResourceHandler<'site'> = {
  kind: 'site',
  filters: ['vpn', 'node', 'status'],

  read: (store, id) => store.sites.read(id),

  list: (store, filter, after, limit) => store.sites.list(filter, after, limit),

  async save(ctx, next, current) {
    const role = await checkSite(ctx.store, next, current);
    const site = { ...next, siteOfOrigin: next.siteOfOrigin ? canonicalRt(next.siteOfOrigin) : undefined };
    if (current) {
      await ctx.store.sites.update(site, role);
      ctx.changed('site', next.id, 'update');
    } else {
      await ctx.store.sites.create(site, role);
      ctx.changed('site', next.id, 'create');
    }
    await syncVrf(ctx, next.vpn, next.node);
    if (current && (current.vpn !== next.vpn || current.node !== next.node)) await siteMoved(ctx, current.vpn, current.node);
    await ctx.store.vpns.markPending(next.vpn);
    ctx.affect(next.node, current?.node);
  },

  async remove(ctx, current) {
    await ctx.store.nodes.lock([current.node]);
    await ctx.store.sites.delete(current.id);
    ctx.changed('site', current.id, 'delete');
    await siteMoved(ctx, current.vpn, current.node);
    ctx.affect(current.node);
  },
};
