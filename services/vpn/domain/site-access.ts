// A site's network accesses (RFC 8299 site-network-access) and how they share
// traffic (multihoming). Pure.
//
// A site has at most one access per PE: one VPN has one VRF (one RD) per PE,
// so two accesses on one PE could not be told apart in BGP (RFC 4364 §4.2
// keeps paths apart by RD); a multi-homed site's accesses are on different
// PEs, whose VRFs have distinct RDs, so route reflectors keep every path.
import type { Multihoming, SiteAccess, SiteAccessView, SiteSpec, SiteView } from '../intent/types.js';

export const DEFAULT_ACCESS_PRIORITY = 100;
export const DEFAULT_MULTIHOMING: Multihoming = 'single-active';

/** LOCAL_PREF of a single-active site's primary access's VPN routes, and of every other access's (RFC 4271 §5.1.5: higher is preferred). */
export const PRIMARY_LOCAL_PREF = 200;
export const BACKUP_LOCAL_PREF = 100;

/** The fields of the flat form: one access, named like the site. */
export const FLAT_ACCESS_FIELDS = ['node', 'interface', 'vlan', 'ipv4', 'ipv6'] as const;

/** The site's accesses as written: `accesses`, or the flat fields as one access with the site's id. */
export function accessesOf(s: SiteSpec): SiteAccess[] {
  if (s.accesses?.length) return s.accesses;
  if (s.node === undefined || s.interface === undefined) return [];
  return [{ id: s.id, node: s.node, interface: s.interface, ...(s.vlan !== undefined ? { vlan: s.vlan } : {}), ...(s.ipv4 ? { ipv4: s.ipv4 } : {}), ...(s.ipv6 ? { ipv6: s.ipv6 } : {}) }];
}

const priorityOf = (a: SiteAccess) => a.priority ?? DEFAULT_ACCESS_PRIORITY;

/** Most preferred first: the highest priority, then the lowest id (so the order is total and the same on every replica). */
export function byPreference<A extends SiteAccess>(accesses: readonly A[]): A[] {
  return [...accesses].sort((a, b) => priorityOf(b) - priorityOf(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A site whose accesses are primary and backups: single-active with several accesses. */
export function hasBackups(site: Pick<SiteView, 'multihoming' | 'accesses'>): boolean {
  return site.accesses.length > 1 && site.multihoming !== 'all-active';
}

/**
 * The access of a single-active site that carries its traffic, given the
 * accesses that failed (CE-facing port down, PE unreachable) and, for a
 * non-revertive site, the one active so far (`current`, stored):
 * - revertive: the most preferred access that has not failed;
 * - non-revertive: the current one as long as it has not failed (the
 *   primary's return does not take traffic back; an operator does, revert),
 *   else the most preferred one that has not failed.
 * With every access failed, the current one (or the primary) stays: there is
 * nowhere better to go and nothing to flap to. Undefined for a site without
 * backups.
 */
export function activeAccess(
  site: Pick<SiteView, 'multihoming' | 'accesses' | 'revertive'>,
  failed: ReadonlySet<string>,
  current: string | undefined,
): string | undefined {
  if (!hasBackups(site)) return undefined;
  const ordered = byPreference(site.accesses);
  const known = current !== undefined && ordered.some((a) => a.id === current) ? current : undefined;
  if (site.revertive === false && known !== undefined && !failed.has(known)) return known;
  return ordered.find((a) => !failed.has(a.id))?.id ?? known ?? ordered[0]!.id;
}

/** The access an operator's revert makes active: the primary (the most preferred). */
export function primaryAccess(site: Pick<SiteView, 'accesses'>): string | undefined {
  return byPreference(site.accesses)[0]?.id;
}

/**
 * The LOCAL_PREF the VPN routes originated for the site's access `accessId`
 * carry: on a multi-homed single-active site, the active access's are
 * preferred by every PE's best-path selection (RFC 4271 §9.1.2.2 a; between
 * our own PEs the VPN routes are iBGP, so LOCAL_PREF is what counts): on a
 * revertive site that is the primary (a failed primary's routes are
 * withdrawn instead), on a non-revertive one the stored active access
 * (`activeAccess` of the view). All-active ones are equal, so importing PEs
 * can use them all. A site with one access leaves it to the speaker's default.
 */
export function localPreference(site: Pick<SiteView, 'multihoming' | 'accesses' | 'revertive' | 'activeAccess'>, accessId: string): number | undefined {
  if (site.accesses.length < 2) return undefined;
  if (site.multihoming === 'all-active') return BACKUP_LOCAL_PREF;
  const preferred = site.revertive === false && site.activeAccess !== undefined ? site.activeAccess : byPreference(site.accesses)[0]!.id;
  return preferred === accessId ? PRIMARY_LOCAL_PREF : BACKUP_LOCAL_PREF;
}

/** A site as one PE sees it: the flat fields are its access on that PE. */
export type AttachedSite = SiteView & { node: string; interface: string; access: SiteAccessView };

/** The site as attached to `node`, or undefined when no access of it is there. */
export function attachedTo(site: SiteView, node: string): AttachedSite | undefined {
  const access = site.accesses.find((a) => a.node === node);
  if (!access) return undefined;
  const { vlan, ipv4, ipv6 } = access;
  const out: AttachedSite = { ...site, node, interface: access.interface, access };
  delete out.vlan;
  delete out.ipv4;
  delete out.ipv6;
  return { ...out, ...(vlan !== undefined ? { vlan } : {}), ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
}

/** The flat fields a view shows for a site with one access. */
export function flatFields(a: SiteAccess): Pick<SiteSpec, (typeof FLAT_ACCESS_FIELDS)[number]> {
  return { node: a.node, interface: a.interface, ...(a.vlan !== undefined ? { vlan: a.vlan } : {}), ...(a.ipv4 ? { ipv4: a.ipv4 } : {}), ...(a.ipv6 ? { ipv6: a.ipv6 } : {}) };
}

export type { SiteAccessView };
