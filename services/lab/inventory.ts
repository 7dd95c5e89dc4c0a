// The lab's managed nodes and core links, created through the REST API as an
// operator's tooling would (a node that exists already keeps its own), and
// the join tokens its agents enrol with.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CREDENTIAL_FILE_NAME } from '../agent/credential.js';
import type { RestClient } from './rest-client.js';
import { coreInterfaces, linkAddresses, type Topology } from './topology.js';

/** Creates (or finds) every node and link of the topology. */
export async function createInventory(rest: RestClient, t: Topology): Promise<void> {
  for (const n of t.nodes) {
    await rest.ensure('nodes', { id: n.id, role: n.role, routerId: n.routerId, asNumber: t.as, nodeSidIndex: n.sidIndex });
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
}

/**
 * The join token file of a node's agent (agent.join-token-file), as an admin
 * would hand one over: a new one-time token unless the agent enrolled on an
 * earlier start (its saved credential in `stateDir` is kept, with the file
 * it came from).
 */
export async function joinTokenFile(rest: RestClient, node: string, agentDir: string, stateDir: string): Promise<string> {
  const file = join(agentDir, 'join-token');
  if (existsSync(file) && existsSync(join(stateDir, CREDENTIAL_FILE_NAME))) return file;
  const made = await rest.expect('POST', `/v1/nodes/${encodeURIComponent(node)}/join-tokens`, [201], { ttlSeconds: 3600 });
  writeFileSync(file, `${made.token}\n`, { mode: 0o600 });
  return file;
}
