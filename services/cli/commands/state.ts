// l3vpn state NODE: the node's latest desired state next to what its agent
// reports as applied.
import { stringify } from 'yaml';
import { argsOf, pathOf, type Invocation } from '../invocation.js';
import { write } from '../output.js';
import { nodeStateView } from '../views.js';

export async function state(inv: Invocation): Promise<void> {
  const [node] = argsOf(inv, 1, 1, 'state NODE');
  const res = await inv.client.call('GET', pathOf('nodes', node!, '/state'));
  if (inv.format === 'json') return write(res.text);
  if (inv.format === 'yaml') return write(stringify(res.body));
  write(nodeStateView(res.body as Record<string, unknown>, true));
}
