// Human views of the API's observed state: a VRF's routes, a node's
// desired/installed state, the per-node plan of a dry run.
import { age, renderTable } from './table.js';

type Json = Record<string, any>;

export function routesView(routes: Json | undefined): string {
  if (!routes || routes.state !== 'available') return `routes unavailable${routes?.reason ? `: ${routes.reason}` : ''}\n`;
  const list = (routes.routes ?? []) as Json[];
  if (list.length === 0) return 'no routes\n';
  return renderTable(
    ['PREFIX', 'NEXT-HOP', 'LABELS', 'RD', 'ORIGIN', 'BEST', 'ROUTE-TARGETS'],
    list.map((r) => [r.prefix ?? '', r.nextHop ?? '', (r.labels ?? []).join('/') || '-', r.routeDistinguisher ?? '', r.origin ?? '', r.best ? '*' : '', (r.routeTargets ?? []).join(',')]),
  );
}

/** A site's network accesses, each with its own status. */
export function accessesView(accesses: Json[]): string {
  if (!accesses.length) return 'no accesses\n';
  return renderTable(
    ['ID', 'NODE', 'INTERFACE', 'VLAN', 'IPV4-PE', 'IPV6-PE', 'PRIORITY', 'STATUS', 'REASON'],
    accesses.map((a) => [
      a.id ?? '',
      a.node ?? '',
      a.interface ?? '',
      a.vlan ? String(a.vlan) : '-',
      a.ipv4?.peAddress ?? '-',
      a.ipv6?.peAddress ?? '-',
      String(a.priority ?? ''),
      a.status?.state ?? '<unknown>',
      a.status?.reason ?? '',
    ]),
  );
}

/** A site's PE-CE eBGP sessions (routing.bgp), one row per access and CE address, as the bgp service reports them. */
export function bgpSessionsView(accesses: Json[]): string {
  const rows = accesses.flatMap((a) =>
    ((a.bgpSessions ?? []) as Json[]).map((s) => [
      a.id ?? '',
      a.node ?? '',
      s.ceAddress ?? '',
      s.maxPrefix ? `${s.state ?? '<unknown>'} (max-prefix ${s.maxPrefix})` : (s.state ?? '<unknown>'),
      `${s.prefixesReceived ?? 0}/${s.prefixesAccepted ?? 0}/${s.prefixesAdvertised ?? 0}`,
      s.lastError ?? '',
    ]),
  );
  if (!rows.length) return 'no sessions\n';
  return renderTable(['ACCESS', 'NODE', 'CE', 'STATE', 'PREFIXES RCVD/ACC/ADV', 'LAST-ERROR'], rows);
}

const count = (list: unknown) => (Array.isArray(list) ? list.length : 0);

function nextHopOf(route: Json): string {
  if (route.local) return `${route.local.address || 'connected'} via ${route.local.interface}${route.local.vlan ? `.${route.local.vlan}` : ''}`;
  if (route.remote) {
    const r = route.remote;
    return `${r.remotePe || r.remotePeAddress} [${(r.labels ?? []).join('/')}]${r.outInterface ? ` via ${r.outInterface}` : ''}`;
  }
  return '';
}

function lfibActionOf(e: Json): string {
  if (e.popAndLookup) return `pop, lookup in ${e.popAndLookup.vrf}`;
  if (e.popAndForward) return `pop, to ${e.popAndForward.nextHop?.address ?? ''} (${e.popAndForward.vrf})`;
  if (e.swap) return `swap [${(e.swap.outLabels ?? []).join('/')}] via ${e.swap.outInterface}`;
  if (e.pop) return `pop via ${e.pop.outInterface}`;
  return '';
}

/** `l3vpn state NODE`: a summary line, then the desired tables. */
export function nodeStateView(view: Json, verbose: boolean): string {
  const desired = view.desired as Json | undefined;
  const installed = view.installed as Json | undefined;
  const state = (desired?.state ?? {}) as Json;
  const out = [
    renderTable(
      ['NODE', 'DESIRED-GEN', 'APPLIED-GEN', 'IN-SYNC', 'DRIVER', 'REPORTED', 'VRFS', 'ROUTES', 'LFIB', 'FAILURES'],
      [
        [
          view.node,
          desired ? String(desired.generation) : '<none>',
          installed ? String(installed.appliedGeneration) : '<none>',
          view.inSync ? 'yes' : 'no',
          installed?.driver || '<none>',
          installed ? age(installed.reportedAt) : '<never>',
          String(count(state.vrfs)),
          String(count(state.vrfRoutes)),
          String(count(state.lfibEntries)),
          String(count(installed?.failures)),
        ],
      ],
    ),
  ];
  if (!verbose) return out.join('');
  if (count(state.vrfs)) {
    out.push('\nVRFs (desired)\n', renderTable(['NAME', 'VPN', 'TABLE', 'RD', 'INTERFACES'], (state.vrfs as Json[]).map((v) => [v.name, v.vpn ?? '', String(v.tableId ?? ''), v.rd ?? '', (v.interfaces ?? []).map((i: Json) => `${i.name}${i.vlan ? `.${i.vlan}` : ''}`).join(',')])));
  }
  if (count(state.vrfRoutes)) {
    out.push('\nVRF routes (desired)\n', renderTable(['VRF', 'PREFIX', 'SOURCE', 'NEXT-HOP'], (state.vrfRoutes as Json[]).map((r) => [r.vrf, r.prefix, String(r.source ?? '').replace('VRF_ROUTE_SOURCE_', '').toLowerCase(), nextHopOf(r)])));
  }
  if (count(state.lfibEntries)) {
    out.push('\nLFIB (desired)\n', renderTable(['IN-LABEL', 'ACTION', 'OWNER'], (state.lfibEntries as Json[]).map((e) => [String(e.inLabel), lfibActionOf(e), e.owner ?? ''])));
  }
  if (count(installed?.failures)) {
    out.push('\nFailures (reported by the agent)\n', ...(installed!.failures as Json[]).map((f) => `  ${JSON.stringify(f)}\n`));
  }
  return out.join('');
}

function counts(c: Json | undefined): string {
  if (!c) return '0';
  const parts = [c.added ? `+${c.added}` : '', c.modified ? `~${c.modified}` : '', c.deleted ? `-${c.deleted}` : ''].filter(Boolean);
  return parts.join(' ') || '0';
}

/** What a node would give back into the labels service's hold-down, and the routes it would withdraw. */
function releaseLines(node: string, releases: Json | undefined, withdrawn: Json[] | undefined): string[] {
  const parts = [
    ...((releases?.labels ?? []) as Json[]).map((l) => `label ${l.label}`),
    ...((releases?.routeDistinguishers ?? []) as Json[]).map((r) => `RD ${r.value}`),
    ...(releases?.sidIndex !== undefined ? [`SID index ${releases.sidIndex}`] : []),
  ];
  const lines = parts.length ? [`  ${node} would release ${parts.join(', ')} (into hold-down)\n`] : [];
  if (withdrawn?.length) lines.push(`  ${node} would withdraw ${withdrawn.map((r) => `${r.routeDistinguisher}:${r.prefix}`).join(', ')}\n`);
  return lines;
}

/** A dry run's answer: the intent changes, then per node what its desired state would gain (+), change (~) and lose (-). */
export function planView(what: string, answer: Json): string {
  const out = [`${what}\n`];
  for (const c of (answer.changes ?? []) as Json[]) out.push(`  ${c.action} ${c.kind}/${c.id}\n`);
  const plans = (answer.plan ?? []) as Json[];
  if (plans.length) {
    out.push(
      renderTable(
        ['  NODE', 'GENERATION', 'CHANGED', 'VRFS', 'ROUTES', 'LFIB', 'TRANSPORT', 'NEW-ALLOCATIONS'],
        plans.map((p) => [
          `  ${p.node}${p.removed ? ' (removed)' : ''}`,
          String(p.generation),
          p.changed ? 'yes' : 'no',
          counts(p.vrfs),
          counts(p.routes),
          counts(p.lfibEntries),
          counts(p.transportPaths),
          (p.newAllocations ?? []).length ? String(p.newAllocations.length) : '0',
        ]),
      ),
    );
    for (const p of plans) out.push(...releaseLines(p.node, p.releases, p.withdrawnRoutes));
  } else if ((answer.affectedNodes ?? []).length) {
    out.push(`  affected nodes: ${answer.affectedNodes.join(', ')}\n`);
  } else {
    out.push('  no node is affected\n');
  }
  const vpnWide = answer.releases as Json | undefined;
  const values = [...(vpnWide?.routeTargets ?? []), ...(vpnWide?.routeDistinguishers ?? [])] as Json[];
  if (values.length) out.push(`  would release ${values.map((v) => v.value).join(', ')} (into hold-down)\n`);
  return out.join('');
}
