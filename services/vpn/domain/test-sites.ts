// Unit-test fixtures: a site written in the flat one-access form, as the
// store shows it (accesses, multihoming) and as its PE sees it (attachedTo).
import type { Meta, SiteRole, SiteSpec, SiteView } from '../intent/types.js';
import { accessesOf, attachedTo, type AttachedSite } from './site-access.js';

export function oneAccessView(s: SiteSpec & Meta & { role: SiteRole }): SiteView {
  const accesses = accessesOf(s).map((a) => ({ ...a, priority: a.priority ?? 100, status: s.status }));
  return { ...s, accesses, multihoming: s.multihoming ?? 'single-active' };
}

export const oneAccessSite = (s: SiteSpec & Meta & { role: SiteRole; node: string }): AttachedSite => attachedTo(oneAccessView(s), s.node)!;
