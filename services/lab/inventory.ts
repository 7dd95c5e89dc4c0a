// The lab's managed nodes and core links, created through the REST API as an
// operator's tooling would. Each node gets an agent identity (the credential
// its agent presents): the one it was given on an earlier start, else a
// random one; a node that exists already keeps its own.
import { randomBytes } from 'node:crypto';
import type { RestClient } from './rest-client.js';
import { coreInterfaces, linkAddresses, type Topology } from './topology.js';

/** Creates (or finds) every node and link of the topology; answers each node's agent identity. */
export async function createInventory(rest: RestClient, t: Topology, earlierIdentity: (node: string) => string | undefined = () => undefined): Promise<Map<string, string>> {
  const identities = new Map<string, string>();
  for (const n of t.nodes) {
    const identity = earlierIdentity(n.id) ?? `${n.id}-${randomBytes(16).toString('hex')}`;
    const body = { id: n.id, role: n.role, routerId: n.routerId, asNumber: t.as, nodeSidIndex: n.sidIndex, agentIdentity: identity };
    const node = await rest.ensure('nodes', body);
    identities.set(n.id, node.agentIdentity ?? identity);
  }
  const cores = coreInterfaces(t);
  for (const [i, l] of t.links.entries()) {
    const addr = linkAddresses(i);
    await rest.ensure('links', {
      id: `${l.a}-${l.b}-${i}`,
      a: { node: l.a, interface: cores[i]!.a, address: addr.a },
      b: { node: l.b, interface: cores[i]!.b, address: addr.b },
      igpMetric: l.metric,
    });
  }
  return identities;
}
