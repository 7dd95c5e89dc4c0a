// Sites (RFC 8299 site + site-network-accesses): a customer location in one
// VPN, attached by one or more accesses, each on a PE interface. Writing one
// keeps the VRF of each of its PEs in step (vrfs.ts).
import { conflict, invalid, Problems, semantic } from './errors.js';
import type { ResourceHandler } from './handler.js';
import { ipEquals, parseIp, type IpFamily } from '../../common/net/address.js';
import { formatPrefixNetwork, isIpv4SubnetEdge, parseIpPrefix, prefixContains, prefixesOverlap } from '../../common/net/prefix.js';
import { checkAddressUse } from './address-rules.js';
import type { IntentStore } from '../store/intent-store.js';
import type { Family, SiteAccess, SiteRole, SiteSpec, SiteView, Topology } from './types.js';
import { accessesOf, DEFAULT_MULTIHOMING, FLAT_ACCESS_FIELDS } from '../domain/site-access.js';
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

/** The pointer of an access's fields: the flat form's are the site's own. */
const accessPointer = (flat: boolean, i: number) => (flat ? '' : `/accesses/${i}`);

function checkAddressing(s: SiteSpec, accesses: SiteAccess[], flat: boolean, families: string[], p: Problems): void {
  accesses.forEach((a, i) => {
    const at = accessPointer(flat, i);
    for (const f of FAMILIES) {
      const att = a[f];
      if (!att) continue;
      if (!families.includes(f)) {
        p.add(`${at}/${f}`, `VPN '${s.vpn}' does not carry ${f} (addressFamilies: ${families.join(', ')})`);
        continue;
      }
      checkAddressUse(p, `${at}/${f}/peAddress`, att.peAddress, 'host');
      checkAddressUse(p, `${at}/${f}/ceAddress`, att.ceAddress, 'host');
      const pe = parseIpPrefix(att.peAddress)!;
      const ce = parseIp(att.ceAddress)!;
      if (familyName(pe.family) !== f) p.add(`${at}/${f}/peAddress`, `must be an ${f} address`);
      else if (isIpv4SubnetEdge(pe, pe)) p.add(`${at}/${f}/peAddress`, `is the network or broadcast address of ${formatPrefixNetwork(pe)}`);
      if (!prefixContains(pe, ce)) p.add(`${at}/${f}/ceAddress`, `is not in the PE interface subnet ${formatPrefixNetwork(pe)}`);
      else if (ipEquals(ce, pe)) p.add(`${at}/${f}/ceAddress`, 'must differ from the PE address');
      else if (isIpv4SubnetEdge(pe, ce)) p.add(`${at}/${f}/ceAddress`, `is the network or broadcast address of ${formatPrefixNetwork(pe)}`);
    }
  });
  (s.routing?.static ?? []).forEach((r, i) => {
    const family = familyName(parseIpPrefix(r.prefix)!.family);
    const subnets = accesses.flatMap((a) => (a[family] ? [parseIpPrefix(a[family].peAddress)!] : []));
    if (!subnets.length) {
      p.add(`/routing/static/${i}/prefix`, `the site has no ${family} attachment to route it over`);
      return;
    }
    if (r.nextHop) {
      checkAddressUse(p, `/routing/static/${i}/nextHop`, r.nextHop, 'host');
      const nh = parseIp(r.nextHop)!;
      if (!subnets.some((sn) => prefixContains(sn, nh))) p.add(`/routing/static/${i}/nextHop`, `is not in the PE interface subnet ${subnets.map(formatPrefixNetwork).join(' or ')}`);
    }
  });
}

/**
 * The site's accesses, from `accesses` or the flat fields (one access with
 * the site's id). Both may be given when they say the same (a GET body of a
 * one-access site shows both, and PUT back must work); otherwise the flat
 * field that differs is named. Within the request: access ids are unique and
 * a site has at most one access per PE (domain/site-access.ts says why).
 */
export function siteAccesses(s: SiteSpec): { accesses: SiteAccess[]; flat: boolean } {
  const p = new Problems();
  const given = FLAT_ACCESS_FIELDS.filter((f) => s[f] !== undefined);
  if (!s.accesses?.length) {
    const missing = (['node', 'interface'] as const).filter((f) => s[f] === undefined);
    if (missing.length) throw invalid(missing.map((f) => ({ pointer: `/${f}`, detail: 'is required (or give accesses)' })));
    return { accesses: accessesOf(s), flat: true };
  }
  if (given.length && s.accesses.length > 1) {
    for (const f of given) p.add(`/${f}`, 'the site has several accesses: give the access fields in accesses only');
  } else if (given.length) {
    const only = s.accesses[0]!;
    for (const f of FLAT_ACCESS_FIELDS) {
      if (s[f] !== undefined && JSON.stringify(s[f]) !== JSON.stringify(only[f])) p.add(`/${f}`, `differs from /accesses/0/${f}; give the access once`);
    }
  }
  const seenId = new Map<string, number>();
  const onNode = new Map<string, number>();
  s.accesses.forEach((a, i) => {
    if (seenId.has(a.id)) p.add(`/accesses/${i}/id`, `is also the id of /accesses/${seenId.get(a.id)}`);
    else seenId.set(a.id, i);
    const other = onNode.get(a.node);
    if (other === undefined) onNode.set(a.node, i);
    else if (s.accesses![other]!.interface === a.interface && (s.accesses![other]!.vlan ?? 0) === (a.vlan ?? 0)) {
      p.add(a.vlan ? `/accesses/${i}/vlan` : `/accesses/${i}/interface`, `${a.node} ${a.interface}${a.vlan ? ` VLAN ${a.vlan}` : ' (untagged)'} is also /accesses/${other}`);
    } else p.add(`/accesses/${i}/node`, `the site already has /accesses/${other} on ${a.node}; a site has one access per PE (its VRF there has one RD)`);
  });
  p.throwIfAny();
  return { accesses: s.accesses.map((a) => stripStatus(a)), flat: false };
}

/** A GET body's access carries its status; a request's is ignored. */
function stripStatus(a: SiteAccess & { status?: unknown }): SiteAccess {
  const { status: _ignored, bgpSessions: _read, ...rest } = a as SiteAccess & { status?: unknown; bgpSessions?: unknown };
  return rest;
}

/**
 * `revertive` says whether a single-active site's traffic returns to its
 * primary access once that is back (RFC 8299 has no leaf for it). True: the
 * primary's routes are advertised again, with the higher LOCAL_PREF, as soon
 * as its PE has reinstalled the site. False: the access that took over keeps
 * the higher LOCAL_PREF (the reconcile stores which access is active) until
 * an operator reverts or it fails in turn. On an all-active site every
 * access carries traffic and on a one-access site there is no backup, so
 * there is nothing to revert to and the field is refused as meaningless.
 */
export function checkRevertive(s: SiteSpec, accesses: readonly SiteAccess[]): void {
  if (s.revertive === undefined) return;
  if ((s.multihoming ?? DEFAULT_MULTIHOMING) === 'all-active') throw semantic('/revertive', 'applies to single-active multihoming only: all-active accesses carry traffic together, none is a backup to revert from');
  if (accesses.length < 2) throw semantic('/revertive', 'applies to a site with several accesses only: a one-access site has no backup to revert from');
}

/** Checks a site against the rest of the intent (throws the IntentErrors); its role, defaulted, and its accesses. */
export async function checkSite(store: IntentStore, s: SiteSpec, current: SiteView | undefined): Promise<{ role: SiteRole; accesses: SiteAccess[] }> {
  const { accesses, flat } = siteAccesses(s);
  checkRevertive(s, accesses);
  const nodeIds = [...new Set(accesses.map((a) => a.node))];
  // Site writes on a PE are serialised by its row lock, so the overlap and VLAN checks below see every other write.
  const locked = await store.nodes.lock([...nodeIds, ...(current?.accesses.map((a) => a.node) ?? [])]);
  const p = new Problems();
  const [vpn, ...nodes] = await Promise.all([store.vpns.read(s.vpn), ...nodeIds.map((id) => store.nodes.read(id))]);
  const nodeOf = new Map(nodeIds.map((id, i) => [id, nodes[i]]));
  if (!vpn) p.add('/vpn', `no VPN '${s.vpn}'`);
  accesses.forEach((a, i) => {
    const node = nodeOf.get(a.node);
    const at = accessPointer(flat, i);
    if (!node || !locked.includes(a.node)) p.add(`${at}/node`, `no node '${a.node}'`);
    else if (node.role !== 'PE') p.add(`${at}/node`, `node '${a.node}' is a P router; sites attach to PEs`);
  });
  p.throwIfAny();
  const role = roleOf(s, vpn!.topology, p);
  checkAddressing(s, accesses, flat, vpn!.addressFamilies, p);
  const peerAs = s.routing?.bgp?.peerAs;
  const provider = nodeIds.map((id) => nodeOf.get(id)!).find((n) => n.asNumber === peerAs);
  if (provider) p.add('/routing/bgp/peerAs', `equals the AS ${provider.asNumber} of PE ${provider.id}; PE-CE routing here is eBGP`);
  const vrfs = new Map<string, SiteView[]>();
  for (const id of nodeIds) vrfs.set(id, await store.sites.inVrf(s.vpn, id, s.id));
  for (const [node, sameVrf] of vrfs) {
    if (vpn!.topology === 'hub-spoke') {
      // RFC 4364 §4.3.5: hubs and spokes on one PE need separate VRFs; here a VPN has one VRF per PE.
      const other = sameVrf.find((o) => o.role !== role);
      if (other) p.add('/role', `site '${other.id}' of this VPN on ${node} is a ${other.role}; hubs and spokes of one VPN need different PEs`);
    }
    const routes = sameVrf.reduce((n, o) => n + (o.routing?.static?.length ?? 0), 0) + (s.routing?.static?.length ?? 0);
    if (routes > vpn!.maxRoutesPerVrf) p.add('/routing/static', `the VRF on ${node} would hold ${routes} static routes, above the VPN's maxRoutesPerVrf (${vpn!.maxRoutesPerVrf})`);
  }
  p.throwIfAny();
  for (const [i, a] of accesses.entries()) await checkConflicts(store, s.id, a, accessPointer(flat, i), vrfs.get(a.node)!);
  return { role, accesses };
}

async function checkConflicts(store: IntentStore, siteId: string, a: SiteAccess, at: string, sameVrf: SiteView[]): Promise<void> {
  const vlan = a.vlan ?? 0;
  const onPort = await store.sites.onPort(a.node, a.interface, vlan, siteId);
  if (onPort) {
    throw conflict(a.vlan ? `${at}/vlan` : `${at}/interface`, vlan ? `VLAN ${vlan} on ${a.node} ${a.interface} is already used by site '${onPort}'` : `${a.node} ${a.interface} (untagged) is already used by site '${onPort}'`);
  }
  const link = await store.interfaces.linkOn({ node: a.node, interface: a.interface });
  if (link) throw conflict(`${at}/interface`, `${a.node} ${a.interface} is a core interface (link '${link}')`);
  // Subnets may repeat across VPNs (that is what VRFs are for) but not within one VRF.
  for (const f of FAMILIES) {
    const mine = a[f] && parseIpPrefix(a[f].peAddress)!;
    if (!mine) continue;
    for (const o of sameVrf) {
      const theirs = o.accesses.find((x) => x.node === a.node)?.[f]?.peAddress;
      if (theirs && prefixesOverlap(mine, parseIpPrefix(theirs)!)) {
        throw conflict(`${at}/${f}/peAddress`, `${formatPrefixNetwork(mine)} overlaps ${theirs} of site '${o.id}' in the same VRF on ${a.node}`);
      }
    }
  }
}

const nodesOf = (accesses: readonly SiteAccess[]) => [...new Set(accesses.map((a) => a.node))];

/** The VRF of the site's VPN on each node it left, and the VPN's status, follow its sites. */
async function siteMoved(ctx: WriteContext, vpn: string, nodes: string[]): Promise<void> {
  for (const node of nodes) await syncVrf(ctx, vpn, node);
  await ctx.store.vpns.markPending(vpn);
}

export const sites: ResourceHandler<'site'> = {
  kind: 'site',
  filters: ['vpn', 'node', 'status'],

  read: (store, id) => store.sites.read(id),

  list: (store, filter, after, limit) => store.sites.list(filter, after, limit),

  async save(ctx, next, current) {
    const { role, accesses } = await checkSite(ctx.store, next, current);
    const site: SiteSpec = { id: next.id, vpn: next.vpn, accesses, ...(next.multihoming ? { multihoming: next.multihoming } : {}), ...(next.revertive !== undefined ? { revertive: next.revertive } : {}), ...(next.role ? { role: next.role } : {}), ...(next.routing ? { routing: next.routing } : {}) };
    if (next.siteOfOrigin) site.siteOfOrigin = canonicalRt(next.siteOfOrigin);
    if (current) {
      await ctx.store.sites.update(site, role);
      ctx.changed('site', next.id, 'update');
    } else {
      await ctx.store.sites.create(site, role);
      ctx.changed('site', next.id, 'create');
    }
    const nodes = nodesOf(accesses);
    for (const node of nodes) await syncVrf(ctx, next.vpn, node);
    const before = current ? nodesOf(current.accesses) : [];
    const left = current ? before.filter((n) => current.vpn !== next.vpn || !nodes.includes(n)) : [];
    if (current && (current.vpn !== next.vpn || left.length)) await siteMoved(ctx, current.vpn, left);
    await ctx.store.vpns.markPending(next.vpn);
    ctx.affect(...nodes, ...before);
  },

  async remove(ctx, current) {
    const nodes = nodesOf(current.accesses);
    await ctx.store.nodes.lock(nodes);
    await ctx.store.sites.delete(current.id);
    ctx.changed('site', current.id, 'delete');
    await siteMoved(ctx, current.vpn, nodes);
    ctx.affect(...nodes);
  },

  /**
   * A site written in the flat form (one access named like the site) is
   * patched in it, so `{"vlan": 200}` works as before; one written with
   * `accesses` is patched in them (its access keeps its id and priority).
   */
  patchBase(current) {
    if (current.accesses.length === 1 && current.accesses[0]!.id === current.id) {
      const { accesses: _shownFlat, ...flat } = current;
      return flat;
    }
    // The default is left out, so a patch to all-active or to one access is not refused for a revertive it did not write.
    if (current.revertive !== false) {
      const { revertive: _default, ...rest } = current;
      return rest;
    }
    return current;
  },
};
