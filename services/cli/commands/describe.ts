// l3vpn describe KIND ID: the resource, its status, and what relates to it
// (a VRF's routes; a node's state, sites and links; a VPN's VRFs and sites).
import { stringify } from 'yaml';
import type { ApiClient } from '../client.js';
import { argsOf, pathOf, type Invocation } from '../invocation.js';
import { KINDS, kindOf, type Kind, type Resource } from '../kinds.js';
import { resourcesTable, write } from '../output.js';
import { age } from '../table.js';
import { accessesView, bgpSessionsView, nodeStateView, routesView } from '../views.js';

const META = new Set(['id', 'status', 'version', 'createdAt', 'updatedAt', 'routes']);

function indent(text: string): string {
  return text.replace(/\n$/, '').replace(/^/gm, '  ') + '\n';
}

async function related(client: ApiClient, kind: Kind, query: Record<string, string>, title: string): Promise<string> {
  const items = (await client.listAll(`/v1/${kind.path}`, query)) as Resource[];
  return `${title}:\n${items.length ? indent(resourcesTable(kind, items, false)) : '  <none>\n'}`;
}

export async function describe(inv: Invocation): Promise<void> {
  const [kindWord, id] = argsOf(inv, 2, 2, 'describe KIND ID');
  const kind = kindOf(kindWord);
  const r = (await inv.client.call('GET', pathOf(kind.path, id!))).body as Record<string, any>;
  // A site's accesses get a table of their own (with their statuses).
  const spec = Object.fromEntries(Object.entries(r).filter(([k]) => !META.has(k) && !(kind.name === 'site' && k === 'accesses')));
  const out = [
    `Name:     ${r.id}\n`,
    `Kind:     ${kind.name}\n`,
    `Status:   ${r.status?.state ?? '<unknown>'}\n`,
    ...(r.status?.reason ? [`Reason:   ${r.status.reason}\n`] : []),
    `Version:  ${r.version}\n`,
    `Created:  ${r.createdAt} (${age(r.createdAt)} ago)\n`,
    `Updated:  ${r.updatedAt} (${age(r.updatedAt)} ago)\n`,
    `Spec:\n${indent(stringify(spec))}`,
  ];
  if (kind.name === 'vrf') out.push(`Routes:\n${indent(routesView(r.routes))}`);
  if (kind.name === 'site') {
    const accesses = (r.accesses ?? []) as Record<string, any>[];
    out.push(`Accesses (${r.multihoming ?? 'single-active'}, most preferred first):\n${indent(accessesView(accesses.map(({ bgpSessions: _s, ...a }) => a)))}`);
    if (r.routing?.bgp) out.push(`BGP sessions (peer AS ${r.routing.bgp.peerAs}):\n${indent(bgpSessionsView(accesses))}`);
    out.push(`VRFs:     ${accesses.map((a) => `${r.vpn}:${a.node}`).join(', ') || '<none>'}\n`);
  }
  if (kind.name === 'node') {
    const state = (await inv.client.call('GET', pathOf('nodes', id!, '/state'))).body as Record<string, any>;
    out.push(`State:\n${indent(nodeStateView(state, false))}`);
    out.push(await related(inv.client, KINDS.link, { node: id! }, 'Links'));
    out.push(await related(inv.client, KINDS.site, { node: id! }, 'Sites'));
  }
  if (kind.name === 'vpn') {
    out.push(await related(inv.client, KINDS.vrf, { vpn: id! }, 'VRFs'));
    out.push(await related(inv.client, KINDS.site, { vpn: id! }, 'Sites'));
  }
  write(out.join(''));
}
