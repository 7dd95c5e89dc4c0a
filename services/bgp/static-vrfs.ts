// bgp.vrfs: VRFs defined in the config file, so `l3vpn bgp --config FILE`
// runs as a PE on its own. Checked entry by entry with the same rules as
// AddVrf (vrf/config.ts); errors name the entry and the field.
import { ConfigError, type SettingValue } from '../common/config.js';
import { formatRd } from '../common/vpn/rd.js';
import { LABEL_MODES, VrfConfigError, vrfConfig, type LabelMode, type VrfConfig, type VrfConfigInput } from './vrf/config.js';

type Entry = { [key: string]: SettingValue };

const VRF_KEYS = new Set(['name', 'rd', 'import-rts', 'export-rts', 'label-mode', 'label', 'label-block', 'max-routes', 'next-hop']);
const MAX_ROUTES_KEYS = new Set(['limit', 'warning-percent', 'warning-only']);

function isMap(v: SettingValue | undefined): v is Entry {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** bgp.vrfs as checked VRF definitions; ConfigError naming the entry and field. */
export function staticVrfs(value: SettingValue | undefined): VrfConfig[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError('bgp.vrfs must be a list');
  const names = new Set<string>();
  const rds = new Map<string, string>();
  return value.map((raw, i) => {
    const where = `bgp.vrfs[${i}]`;
    if (!isMap(raw)) throw new ConfigError(`${where} must be a map`);
    for (const k of Object.keys(raw)) if (!VRF_KEYS.has(k)) throw new ConfigError(`${where}: unknown key '${k}'`);
    const str = (k: string, v = raw[k]) => {
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(`${where}.${k} must be a string`);
      return String(v);
    };
    const int = (k: string, v = raw[k]) => {
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(`${where}.${k} must be an integer`);
      return v;
    };
    const list = (k: string) => {
      const v = raw[k];
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v)) throw new ConfigError(`${where}.${k} must be a list`);
      return v.map((x, j) => str(`${k}[${j}]`, x)!);
    };
    const mode = str('label-mode');
    if (mode !== undefined && !LABEL_MODES.includes(mode as LabelMode)) throw new ConfigError(`${where}.label-mode: '${mode}' is not one of ${LABEL_MODES.join(', ')}`);
    const input: VrfConfigInput = {
      name: str('name') ?? '',
      rd: str('rd') ?? '',
      importRts: list('import-rts'),
      exportRts: list('export-rts'),
      labelMode: mode as LabelMode | undefined,
      label: int('label'),
      labelBlock: labelBlock(raw['label-block'], `${where}.label-block`),
      maxRoutes: maxRoutes(raw['max-routes'], `${where}.max-routes`),
      nextHop: str('next-hop'),
    };
    let config: VrfConfig;
    try {
      config = vrfConfig(input);
      // The service's rule: only per-vrf VRFs do without a label block.
      if (config.labelMode !== 'per-vrf' && !config.labelBlock) throw new VrfConfigError('label_block', `${config.labelMode} needs a label block`);
    } catch (err) {
      if (err instanceof VrfConfigError) throw new ConfigError(`${where}.${err.field.replace(/_/g, '-')}: ${err.message.slice(err.field.length + 2)}`);
      throw err;
    }
    if (names.has(config.name)) throw new ConfigError(`bgp.vrfs: VRF ${config.name} is defined twice`);
    names.add(config.name);
    const rd = formatRd(config.rd);
    const other = rds.get(rd);
    if (other) throw new ConfigError(`${where}.rd: VRF ${other} already uses ${rd}`);
    rds.set(rd, config.name);
    return config;
  });
}

/** {first, last} or "FIRST-LAST". */
function labelBlock(v: SettingValue | undefined, where: string): { first: number; last: number } | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    const m = /^(\d+)\s*-\s*(\d+)$/.exec(v);
    if (!m) throw new ConfigError(`${where}: '${v}' is not FIRST-LAST`);
    return { first: Number(m[1]), last: Number(m[2]) };
  }
  if (!isMap(v) || typeof v['first'] !== 'number' || typeof v['last'] !== 'number') throw new ConfigError(`${where} must be FIRST-LAST or {first, last}`);
  return { first: v['first'], last: v['last'] };
}

/** A limit, or {limit, warning-percent, warning-only}. */
function maxRoutes(v: SettingValue | undefined, where: string): VrfConfigInput['maxRoutes'] {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return { limit: v };
  if (!isMap(v)) throw new ConfigError(`${where} must be a number or a map`);
  for (const k of Object.keys(v)) if (!MAX_ROUTES_KEYS.has(k)) throw new ConfigError(`${where}: unknown key '${k}'`);
  const limit = v['limit'];
  const pct = v['warning-percent'];
  const only = v['warning-only'];
  if (typeof limit !== 'number') throw new ConfigError(`${where}.limit must be a number`);
  if (pct !== undefined && typeof pct !== 'number') throw new ConfigError(`${where}.warning-percent must be a number`);
  if (only !== undefined && typeof only !== 'boolean') throw new ConfigError(`${where}.warning-only must be true or false`);
  return { limit, warningPercent: pct, warningOnly: only };
}
