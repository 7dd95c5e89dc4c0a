// l3vpn revert SITE: a non-revertive site's traffic back on its primary
// access (POST /v1/sites/{id}/revert); refused while the primary is not up.
import { stringify } from 'yaml';
import { argsOf, pathOf, type Invocation } from '../invocation.js';
import { write } from '../output.js';

export async function revert(inv: Invocation): Promise<void> {
  const [site] = argsOf(inv, 1, 1, 'revert SITE');
  const res = await inv.client.call('POST', pathOf('sites', site!, '/revert'));
  if (inv.format === 'json') return write(res.text);
  if (inv.format === 'yaml') return write(stringify(res.body));
  write(`site ${site}: traffic reverted to its primary access ${(res.body as { activeAccess: string }).activeAccess}; its PEs are being reconciled`);
}
