// What `l3vpn lab` prints once the lab is up: what runs where, the API
// addresses, the admin token, and commands to try next.
import { relative } from 'node:path';
import type { Lab } from './lab.js';
import type { Topology } from './topology.js';

export function labSummary(lab: Lab, t: Topology, o: { topologyFile: string; externalState?: string; ops?: string }): string {
  const rel = (p: string) => relative(process.cwd(), p) || '.';
  const services = lab.parts.filter((p) => !p.label.startsWith('agent '));
  const agents = lab.parts.filter((p) => p.label.startsWith('agent '));
  const firstSite = t.sample.sites[0] as { id?: string; vpn?: string; node?: string; interface?: string } | undefined;
  const otherSite = t.sample.sites.find((s) => s.node !== firstSite?.node) as { routing?: { static?: { prefix: string }[] } } | undefined;
  const target = otherSite?.routing?.static?.[0]?.prefix.replace(/0\/\d+$/, '1');
  const lines = [
    '',
    `l3vpn lab is up — topology ${rel(o.topologyFile)}, ${t.nodes.length} managed nodes on the ${lab.driver} driver${lab.driverReason ? ` (${lab.driverReason})` : ''}`,
    '',
    `  REST API     ${lab.restUrl}/v1    OpenAPI docs ${lab.restUrl}/docs`,
    `  gRPC         vpn ${lab.grpc.vpn}   labels ${lab.grpc.labels}   bgp ${lab.grpc.bgp}`,
    `  admin token  ${lab.adminToken}`,
    `               (in ${rel(lab.tokenFile)}; kept across restarts, new with --fresh)`,
    `  operator     read-only gRPC to labels and bgp: authorization: Bearer $(cat ${rel(lab.operatorSecretFile)})`,
    `  BGP          our speaker ${lab.bgp.address}:${lab.bgp.port}` +
      (lab.external ? ` <-> external PE gobgpd ${t.external!.address} (${o.externalState ?? 'starting'})` : t.external ? ` — no external PE: ${lab.externalReason}` : ''),
    `  PostgreSQL   ${lab.database.url}${lab.database.private ? ` (private, data in ${rel(lab.stateDir)}/postgres)` : ''}`,
    `  Redis        ${lab.redis.url}${lab.redis.private ? ' (private)' : ''}`,
    ...services.map((p) => `  ${p.label.padEnd(12)} ${p.where}${p.ops ? `, ops ${p.ops}` : ''}`),
    `  agents       ${agents.map((a) => a.label.slice(6)).join(' ')} (${lab.driver} driver; ${agents[0]?.service ? 'this process' : `a process each, logs ${rel(lab.logDir)}/agent-<node>.log`})`,
    ...(o.ops ? [`  ops          http://${o.ops}/healthz /readyz /metrics`] : []),
    ...(lab.network
      ? [
          `  Open vSwitch bridges ${lab.network.bridges.join(' ')} (run dir ${rel(lab.network.dir)}; OVS_RUNDIR for ovs-ofctl)`,
          `  CE hosts     ${lab.network.ces.map((c) => c.namespace).join(' ')}`,
        ]
      : []),
    `  logs         ${rel(lab.logDir)}/`,
    '',
    'Try next:',
    `  export L3VPN_SERVER=${lab.restUrl} L3VPN_TOKEN=$(cat ${rel(lab.tokenFile)})`,
    '  curl -s -H "Authorization: Bearer $L3VPN_TOKEN" $L3VPN_SERVER/v1/sites',
    '  npx l3vpn get nodes; npx l3vpn get sites -o wide',
    ...(firstSite ? [`  npx l3vpn routes ${firstSite.vpn}:${firstSite.node}; npx l3vpn state ${firstSite.node}`] : []),
    ...(lab.network && firstSite && target ? [`  ip netns exec ${lab.ce(String(firstSite.node), String(firstSite.interface))?.namespace} ping -c 3 ${target}`] : []),
    ...(lab.external ? [`  gobgp -u ${t.external!.address} global rib -a vpnv4`] : []),
    '',
    'Sites you create on a PE port get their CE host (namespace) addressed; their intent survives a restart (--fresh: start empty).',
    'Ctrl-C stops everything and removes the namespaces, bridges and processes it started.',
    '',
  ];
  return lines.join('\n');
}
