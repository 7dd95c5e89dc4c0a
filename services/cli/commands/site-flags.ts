// `l3vpn create site ID --vpn V --node N --interface IF --pe-address A/LEN
// --ce-address A [--vlan N] [--static PREFIX]... [--role R]`: the common
// case of a site without writing a file. Addresses pair up by family.
import { UsageError } from '../errors.js';
import { list, str, type OptionValues } from '../invocation.js';
import type { Resource } from '../kinds.js';

export const SITE_OPTIONS = ['vpn', 'node', 'interface', 'vlan', 'pe-address', 'ce-address', 'static', 'role'] as const;

const familyOf = (address: string) => (address.includes(':') ? 'ipv6' : 'ipv4');

export function siteFromFlags(id: string, options: OptionValues): Resource {
  const missing = ['vpn', 'node', 'interface'].filter((k) => !str(options, k));
  if (missing.length) throw new UsageError(`create site ${id}: needs ${missing.map((m) => `--${m}`).join(', ')} (or -f FILE)`);
  const site: Resource = { id, vpn: str(options, 'vpn'), node: str(options, 'node'), interface: str(options, 'interface') };
  const vlan = str(options, 'vlan');
  if (vlan !== undefined) {
    if (!/^\d+$/.test(vlan)) throw new UsageError(`--vlan ${vlan}: a number from 1 to 4094`);
    site.vlan = Number(vlan);
  }
  const pes = list(options, 'pe-address');
  const ces = list(options, 'ce-address');
  if (pes.length === 0) throw new UsageError(`create site ${id}: needs --pe-address ADDRESS/LEN and --ce-address ADDRESS (per address family)`);
  for (const pe of pes) {
    const family = familyOf(pe);
    const ce = ces.filter((c) => familyOf(c) === family);
    if (ce.length !== 1 || pes.filter((p) => familyOf(p) === family).length !== 1) {
      throw new UsageError(`create site ${id}: give one --pe-address and one --ce-address per address family (${family})`);
    }
    site[family] = { peAddress: pe, ceAddress: ce[0] };
  }
  if (ces.some((c) => !site[familyOf(c)])) throw new UsageError(`create site ${id}: a --ce-address without a --pe-address of its family`);
  const statics = list(options, 'static');
  if (statics.length) site.routing = { static: statics.map((prefix) => ({ prefix })) };
  const role = str(options, 'role');
  if (role) site.role = role;
  return site;
}
