// A VRF's definition (RFC 4364 §3-4): route distinguisher, import and export
// route targets, VPN label and label mode, and a maximum-routes limit.
import { Rd, formatRd, parseRd } from '../../common/vpn/rd.js';
import { RouteTarget, parseRouteTarget } from '../../common/vpn/route-target.js';
import { validateAdministeredValue } from '../../common/vpn/administered-value.js';
import { checkAddress } from '../../common/net/classify.js';
import { quoteId } from '../../common/quote.js';

/**
 * per-vrf: one label for the whole VRF (pop, then look up in the VRF);
 * per-prefix: one label per exported prefix; per-ce: one per CE next hop.
 */
export type LabelMode = 'per-vrf' | 'per-prefix' | 'per-ce';
export const LABEL_MODES: readonly LabelMode[] = ['per-vrf', 'per-prefix', 'per-ce'];

/**
 * Cisco "maximum routes LIMIT {WARN% | warning-only}" semantics: at
 * `warningPercent` of the limit a warning event; past the limit, a new
 * destination is refused (held back and reported, installed later when room
 * frees up), unless `warningOnly`, which installs it and reports.
 */
export interface MaxRoutes {
  /** Destinations (prefixes) in the VRF, both address families together. */
  readonly limit: number;
  /** Default 75. */
  readonly warningPercent: number;
  readonly warningOnly: boolean;
}

export interface VrfConfig {
  readonly name: string;
  readonly rd: Rd;
  readonly importRts: readonly RouteTarget[];
  readonly exportRts: readonly RouteTarget[];
  readonly labelMode: LabelMode;
  /** The VPN label of a per-vrf VRF (16..1048575). */
  readonly label?: number;
  /** The label of a per-vrf VRF's VPN-IPv6 routes (a per-VRF label per address family); undefined: `label`. */
  readonly ipv6Label?: number;
  /** Where per-prefix and per-ce labels come from (a block the labels service gave the VRF). */
  readonly labelBlock?: LabelBlock;
  readonly maxRoutes?: MaxRoutes;
  /**
   * BGP multipath ("maximum-paths"): the best and up to multipath - 1
   * imported paths equal to it (decision.ts multipathEqual) are used
   * together. Undefined: 1, off.
   */
  readonly multipath?: number;
  /** Routes learnt from the VRF's CE peers are exported only for the prefixes the controller says are ready (VrfManager.setExportReady). */
  readonly gateCeExports?: boolean;
  /**
   * The IPv4 next hop of its exports (the loopback of the PE that holds the
   * VRF, when one speaker serves many PEs); undefined: next-hop-self.
   */
  readonly nextHop?: string;
  /**
   * The controller that manages the VRF through the API, so it can sweep
   * the VRFs it no longer wants and only those; undefined: nobody's (the
   * config file's).
   */
  readonly owner?: string;
}

export interface LabelBlock {
  readonly first: number;
  readonly last: number;
}

export class VrfConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'VrfConfigError';
  }
}

export interface VrfConfigInput {
  readonly name: string;
  readonly rd: Rd | string;
  readonly importRts?: readonly (RouteTarget | string)[];
  readonly exportRts?: readonly (RouteTarget | string)[];
  /** Default per-vrf. */
  readonly labelMode?: LabelMode;
  readonly label?: number;
  /** 0 or undefined: `label` for IPv6 too. */
  readonly ipv6Label?: number;
  readonly labelBlock?: LabelBlock;
  readonly maxRoutes?: { limit: number; warningPercent?: number; warningOnly?: boolean };
  /** 0, 1 or undefined: off. */
  readonly multipath?: number;
  readonly gateCeExports?: boolean;
  /** Empty or undefined: next-hop-self. */
  readonly nextHop?: string;
  /** Empty or undefined: nobody's. */
  readonly owner?: string;
}

function rt(field: string, v: RouteTarget | string): RouteTarget {
  try {
    if (typeof v === 'string') return parseRouteTarget(v);
    validateAdministeredValue(v);
    return { form: v.form, administrator: v.administrator, assigned: v.assigned };
  } catch (err) {
    throw new VrfConfigError(field, (err as Error).message);
  }
}

function rts(field: string, list: readonly (RouteTarget | string)[] | undefined): RouteTarget[] {
  const out: RouteTarget[] = [];
  const seen = new Set<string>();
  for (const v of list ?? []) {
    const r = rt(field, v);
    const k = `${r.form}:${r.administrator}:${r.assigned}`;
    if (!seen.has(k)) out.push(r);
    seen.add(k);
  }
  return out;
}

/** The most paths a VRF uses together for one destination. */
export const MAX_MULTIPATH = 64;

/** The longest VRF name: the vpn service names its VRFs vpn:node, at most 127 characters. */
export const MAX_VRF_NAME = 127;

/** A VRF name, trimmed; throws VrfConfigError when empty, too long or holding control characters. */
export function vrfName(text: string | undefined, field = 'name'): string {
  const name = text?.trim();
  if (!name) throw new VrfConfigError(field, 'a VRF needs a name');
  if (name.length > MAX_VRF_NAME) throw new VrfConfigError(field, `is longer than ${MAX_VRF_NAME} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new VrfConfigError(field, 'contains a control character');
  return name;
}

/** Checks and normalises a definition; throws VrfConfigError naming the field. */
export function vrfConfig(input: VrfConfigInput): VrfConfig {
  const name = vrfName(input.name);
  let rd: Rd;
  try {
    rd = typeof input.rd === 'string' ? parseRd(input.rd) : input.rd;
    validateAdministeredValue(rd);
  } catch (err) {
    throw new VrfConfigError('rd', (err as Error).message);
  }
  const labelMode = input.labelMode ?? 'per-vrf';
  if (!LABEL_MODES.includes(labelMode)) throw new VrfConfigError('label_mode', `'${quoteId(labelMode)}' is not one of ${LABEL_MODES.join(', ')}`);
  let label: number | undefined;
  if (labelMode === 'per-vrf') {
    label = input.label;
    if (label === undefined || !Number.isInteger(label) || label < 16 || label > 0xfffff) {
      throw new VrfConfigError('label', `per-vrf needs a label in 16..1048575, got ${label}`);
    }
  }
  let ipv6Label: number | undefined;
  if (input.ipv6Label) {
    if (labelMode !== 'per-vrf') throw new VrfConfigError('ipv6_label', `only a per-vrf VRF has an IPv6 label, this one is ${labelMode}`);
    ipv6Label = input.ipv6Label;
    if (!Number.isInteger(ipv6Label) || ipv6Label < 16 || ipv6Label > 0xfffff) throw new VrfConfigError('ipv6_label', `must be in 16..1048575, got ${ipv6Label}`);
    if (ipv6Label === label) throw new VrfConfigError('ipv6_label', `is the VRF's label ${label}: give 0 to use it for both families`);
  }
  let labelBlock: LabelBlock | undefined;
  if (input.labelBlock && labelMode !== 'per-vrf') {
    const { first, last } = input.labelBlock;
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 16 || last > 0xfffff || first > last) {
      throw new VrfConfigError('label_block', `${first}-${last} is not a range within 16..1048575`);
    }
    labelBlock = { first, last };
  }
  let maxRoutes: MaxRoutes | undefined;
  if (input.maxRoutes) {
    const { limit, warningPercent = 75, warningOnly = false } = input.maxRoutes;
    if (!Number.isInteger(limit) || limit < 1) throw new VrfConfigError('max_routes.limit', `${limit} is not a positive integer`);
    if (!Number.isInteger(warningPercent) || warningPercent < 1 || warningPercent > 100) {
      throw new VrfConfigError('max_routes.warning_percent', `${warningPercent} is not in 1..100`);
    }
    maxRoutes = { limit, warningPercent, warningOnly };
  }
  let multipath: number | undefined;
  if (input.multipath !== undefined && input.multipath > 1) {
    if (!Number.isInteger(input.multipath) || input.multipath > MAX_MULTIPATH) throw new VrfConfigError('multipath', `${input.multipath} is not in 0..${MAX_MULTIPATH}`);
    multipath = input.multipath;
  }
  let nextHop: string | undefined;
  if (input.nextHop) {
    // VPN-IPv6 routes carry an IPv4 next hop IPv4-mapped (RFC 4659 §3.2.1.1); VPN-IPv4 ones cannot carry an IPv6 one without RFC 8950.
    const checked = checkAddress(input.nextHop, { family: 4, refused: ['unspecified', 'multicast', 'broadcast'] });
    if (!checked.ok) throw new VrfConfigError('next_hop', checked.problem);
    nextHop = checked.text;
  }
  const owner = input.owner?.trim() || undefined;
  if (owner !== undefined && !/^[\x21-\x7e][\x20-\x7e]{0,63}$/.test(owner)) throw new VrfConfigError('owner', 'at most 64 printable ASCII characters');
  return {
    name,
    rd: { form: rd.form, administrator: rd.administrator, assigned: rd.assigned },
    importRts: rts('import_rts', input.importRts),
    exportRts: rts('export_rts', input.exportRts),
    labelMode,
    label,
    ...(ipv6Label !== undefined ? { ipv6Label } : {}),
    labelBlock,
    maxRoutes,
    ...(multipath !== undefined ? { multipath } : {}),
    ...(input.gateCeExports ? { gateCeExports: true } : {}),
    nextHop,
    ...(owner !== undefined ? { owner } : {}),
  };
}

export function rdText(c: VrfConfig): string {
  return formatRd(c.rd);
}
