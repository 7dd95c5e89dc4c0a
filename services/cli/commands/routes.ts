// l3vpn routes VRF (VPN:NODE, or VPN NODE): the VRF's route table.
import { stringify } from 'yaml';
import { ApiFailure } from '../errors.js';
import { argsOf, pathOf, type Invocation } from '../invocation.js';
import { write } from '../output.js';
import { routesView } from '../views.js';

export async function routes(inv: Invocation): Promise<void> {
  const words = argsOf(inv, 1, 2, 'routes VPN:NODE');
  const id = words.join(':');
  const res = await inv.client.call('GET', pathOf('vrfs', id, '/routes'));
  if (inv.format === 'json') return write(res.text);
  if (inv.format === 'yaml') return write(stringify(res.body));
  const body = res.body as { state?: string; reason?: string };
  // The API answered, but without routes: say so and fail, so scripts notice.
  if (body.state !== 'available') throw new ApiFailure(`routes of VRF ${id} are unavailable${body.reason ? `: ${body.reason}` : ''}`);
  write(routesView(body));
}
