// The linux driver: kernel VRF devices (one per VRF, its own routing table),
// CE interfaces and 802.1Q subinterfaces enslaved to them, VRF routes in
// those tables (remote PEs as `encap mpls` over the core next hop) and MPLS
// routes for the LFIB, all through iproute2: changes in `ip -force -batch`
// runs (one line per kernel object, so each refusal is traced to its entry
// with the kernel's words), reads with `ip -N -j`.
//
// It owns only what it creates: VRF devices named l3v-*, routes with its
// route protocol number (rt_protos style, default 76), the VLAN
// subinterfaces and addresses of interfaces bound to its VRFs. Everything
// else on the node is neither read as an entry nor touched.
import type { PortState } from '../../../common/gen/proto/l3vpn/v1/agent.js';
import {
  ChangeKind,
  type DesiredStateChange,
  type LfibEntry,
  LookupFamily,
  type VrfInstance,
  type VrfInterface,
  type VrfRoute,
  VrfRouteSource,
} from '../../../common/gen/proto/l3vpn/v1/agent.js';
import { vrfRouteKey } from '../../../common/desired-state/index.js';
import { parseInterfaceAddress } from '../../../common/desired-state/prefix.js';
import { RESERVED_TABLE_IDS } from '../../../common/desired-state/types.js';
import type { ChangeFailure, Driver, InstalledState } from '../../driver.js';
import { hopText, type KernelHop, type KernelLabelRoute, type KernelLink, type KernelRoute, parseLabelRoutes, parseLinks, parseRoutes } from './kernel.js';
import {
  interfaceDevice,
  labelDeleteLine,
  labelIntent,
  labelReplaceLine,
  Refusal,
  routeDeleteLine,
  routeIntent,
  routeReplaceLine,
  VRF_DEVICE_PREFIX,
  vrfDevice,
} from './intent.js';
import type { CommandResult, CommandRunner } from './runner.js';

export const DEFAULT_ROUTE_PROTOCOL = 76;
/** Labels are 20 bits (RFC 3032 §2.1): the kernel's label table holds at most 2^20 entries. */
const MAX_PLATFORM_LABELS = 1 << 20;

export interface LinuxDriverOptions {
  runner: CommandRunner;
  /** Route protocol number marking the driver's IP and MPLS routes (1-255, not one the node's routing daemons use). */
  protocol?: number;
}

type Family = 'link' | 'inet' | 'inet6' | 'mpls';

const FAMILY_ARGS: Record<Family, string[]> = { link: [], inet: ['-4'], inet6: ['-6'], mpls: ['-f', 'mpls'] };

/** One iproute2 batch line and the change it belongs to. */
interface Step {
  family: Family;
  line: string;
  index: number;
  /** Kernel answers that mean the step's goal holds already (deleting what is gone). */
  tolerate?: RegExp;
}

const GONE = /No such process|No such file or directory|No such device|Cannot find device/;

interface HeldVrf {
  device: string;
  table: number;
}

/** `ip -batch` reports a failed line as its messages followed by "Command failed -:N". */
export function batchFailures(stderr: string): Map<number, string> {
  const out = new Map<number, string>();
  let messages: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed .*:(\d+)\s*$/.exec(line);
    if (m) {
      out.set(Number(m[1]), messages.join(' ').trim() || 'failed');
      messages = [];
    } else if (line.trim()) messages.push(line.trim());
  }
  return out;
}

const familyOf = (prefix: string): Family => (prefix.includes(':') ? 'inet6' : 'inet');
const canonicalAddresses = (i: VrfInterface) => i.addresses.map((a) => parseInterfaceAddress(a).text).sort();

/** The refusal of a VRF interface with bgp_sessions: this driver has no PE-CE BGP relay (see the agent's README). */
export const NO_BGP_RELAY = 'PE-CE BGP relay is not supported by the linux driver';
const hasBgpSessions = (v: VrfInstance) => v.interfaces.some((i) => i.bgpSessions.length > 0);

export class LinuxDriver implements Driver {
  readonly name = 'linux';
  readonly programsTransportPaths = false;
  readonly signalsPortChanges = false;
  private readonly runner: CommandRunner;
  private readonly protocol: number;
  private links = new Map<string, KernelLink>();
  /** The driver's VRFs on the node by VRF name (from the last read, then what apply did). */
  private vrfs = new Map<string, HeldVrf>();
  private linksKnown = false;
  private platformLabels = 0;
  private readonly mplsInput = new Set<string>();
  /** fib_multipath_hash_policy set to layer 4 (once ECMP routes exist). */
  private multipathHash = false;
  /** Kernel objects written (batch lines), for tests and benches that count what a change touched. */
  linesSent = 0;

  constructor(options: LinuxDriverOptions) {
    this.runner = options.runner;
    this.protocol = options.protocol ?? DEFAULT_ROUTE_PROTOCOL;
    if (!Number.isInteger(this.protocol) || this.protocol < 1 || this.protocol > 255) throw new Error(`route protocol ${this.protocol} is not 1-255`);
  }

  /**
   * Loads the kernel modules (vrf, mpls_router, mpls_iptunnel, 8021q; built-in
   * ones are fine) and turns on IP forwarding, which a PE needs.
   */
  async prepare(): Promise<this> {
    const modprobe = await this.runner.run(['modprobe', '-a', 'vrf', 'mpls_router', 'mpls_iptunnel', '8021q']);
    const labels = await this.runner.run(['sysctl', '-n', 'net.mpls.platform_labels']);
    if (labels.code !== 0) {
      throw new Error(`MPLS routing is not available on this node (modprobe mpls_router: ${modprobe.stderr.trim() || `exit ${modprobe.code}`}; ${labels.stderr.trim()})`);
    }
    this.platformLabels = Number(labels.stdout.trim()) || 0;
    await this.check(this.runner.run(['sysctl', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']), 'turning on IP forwarding');
    return this;
  }

  private async check(pending: Promise<CommandResult>, what: string): Promise<string> {
    const r = await pending;
    if (r.code !== 0) throw new Error(`${what}: ${r.stderr.trim() || `exit ${r.code}`}`);
    return r.stdout;
  }

  private ip(...args: string[]): Promise<string> {
    return this.check(this.runner.run(['ip', '-N', '-j', ...args]), `ip ${args.join(' ')}`);
  }

  private async refreshLinks(): Promise<void> {
    const linkJson = await this.ip('-d', 'link', 'show');
    const addrJson = await this.ip('addr', 'show');
    this.links = parseLinks(linkJson, addrJson);
    this.vrfs = new Map();
    for (const l of this.links.values()) {
      if (l.kind !== 'vrf' || !l.name.startsWith(VRF_DEVICE_PREFIX) || l.vrfTable === undefined) continue;
      this.vrfs.set(l.alias ?? l.name.slice(VRF_DEVICE_PREFIX.length), { device: l.name, table: l.vrfTable });
    }
    this.linksKnown = true;
  }

  private enslavedTo(device: string): KernelLink[] {
    return [...this.links.values()].filter((l) => l.master === device).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async read(expected?: InstalledState): Promise<InstalledState> {
    await this.refreshLinks();
    const routes = [...parseRoutes(await this.ip('-4', 'route', 'show', 'table', 'all', 'proto', String(this.protocol)), 4), ...parseRoutes(await this.ip('-6', 'route', 'show', 'table', 'all', 'proto', String(this.protocol)), 6)];
    const labels = parseLabelRoutes(await this.ip('-f', 'mpls', 'route', 'show', 'proto', String(this.protocol)));
    const out: InstalledState = { vrfs: [], vrfRoutes: [], lfibEntries: [], transportPaths: [] };

    const wantVrf = new Map((expected?.vrfs ?? []).map((v) => [v.name, v]));
    for (const [name, held] of this.vrfs) out.vrfs.push(this.installedVrf(name, held, wantVrf.get(name)));

    // A table whose VRF device is gone (deleted by hand) still belongs to the VRF the desired state gives it.
    const vrfByTable = new Map((expected?.vrfs ?? []).map((v) => [v.tableId, v.name]));
    for (const [name, v] of this.vrfs) vrfByTable.set(v.table, name);
    const wantRoute = new Map((expected?.vrfRoutes ?? []).map((r) => [vrfRouteKey(r), r]));
    const seen = new Set<string>();
    for (const k of routes) {
      const vrf = vrfByTable.get(k.table) ?? `#table${k.table}`;
      const key = vrfRouteKey({ vrf, prefix: k.prefix });
      const want = wantRoute.get(key);
      const same = want && !seen.has(key) && this.intentMatches(() => routeIntent(want, k.table), k);
      out.vrfRoutes.push(same ? want : this.installedRoute(vrf, k));
      seen.add(key);
    }

    const wantLabel = new Map((expected?.lfibEntries ?? []).map((e) => [e.inLabel, e]));
    for (const k of labels) {
      const want = wantLabel.get(k.label);
      const same = want && this.intentMatches(() => labelIntent(want, (v) => this.vrfDeviceOf(v)), k);
      out.lfibEntries.push(same ? want : this.installedLabel(k, want));
    }

    // What the kernel needs beyond the entries: MPLS input on the core interfaces, a label table large enough.
    if (expected) {
      const devices = new Set<string>();
      let maxLabel = 0;
      let multipath = false;
      for (const r of expected.vrfRoutes) {
        if (r.nextHop?.$case === 'remote') devices.add(r.nextHop.value.outInterface);
        for (const m of r.multipath) devices.add(m.outInterface);
        multipath ||= r.multipath.length > 0;
      }
      for (const e of expected.lfibEntries) {
        maxLabel = Math.max(maxLabel, e.inLabel);
        if (e.action?.$case === 'swap' || e.action?.$case === 'pop') devices.add(e.action.value.outInterface);
      }
      this.mplsInput.clear();
      await this.ensureMpls(devices, maxLabel, multipath);
    }
    return out;
  }

  private intentMatches(intent: () => KernelRoute | KernelLabelRoute, installed: KernelRoute | KernelLabelRoute): boolean {
    try {
      const want = intent();
      return hopText(want) === hopText(installed) && (!('table' in want) || want.table === (installed as KernelRoute).table);
    } catch (err) {
      if (err instanceof Refusal) return false;
      throw err;
    }
  }

  private vrfDeviceOf(vrf: string): string {
    const held = this.vrfs.get(vrf);
    if (!held) throw new Refusal(`no VRF ${vrf}`);
    return held.device;
  }

  /** A VRF as installed: the expected entry when the kernel holds exactly it, else what the kernel has. */
  private installedVrf(name: string, held: HeldVrf, want: VrfInstance | undefined): VrfInstance {
    const device = this.links.get(held.device)!;
    const members = this.enslavedTo(held.device);
    const interfaces: VrfInterface[] = members.map((l) => ({ name: l.parent ?? l.name, vlan: l.vlanId ?? 0, addresses: l.addresses, bgpSessions: want?.interfaces.find((i) => i.name === (l.parent ?? l.name) && i.vlan === (l.vlanId ?? 0))?.bgpSessions ?? [] }));
    const installedText = JSON.stringify([held.table, device.up, members.map((l) => [l.name, l.up, l.addresses])]);
    let wantText: string | undefined;
    if (want) {
      try {
        const devs = want.interfaces.map((i) => [interfaceDevice(i.name, i.vlan), true, canonicalAddresses(i)] as const);
        devs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        if (vrfDevice(want.name) === held.device) wantText = JSON.stringify([want.tableId, true, devs]);
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
      }
    }
    // A VRF with BGP sessions is never as desired here: its refusal stands at every reconcile.
    if (want && wantText === installedText && !hasBgpSessions(want)) return want;
    const down = !device.up || members.some((l) => !l.up) ? ' (installed: a device is down)' : want && hasBgpSessions(want) ? ' (PE-CE BGP relay not supported)' : ' (installed differs)';
    return {
      name,
      tableId: held.table,
      rd: want ? `${want.rd}${down}` : '',
      importRouteTargets: want?.importRouteTargets ?? [],
      exportRouteTargets: want?.exportRouteTargets ?? [],
      interfaces,
      vpn: want?.vpn ?? '',
    };
  }

  /** The CE attachment a device is: its parent and VLAN for a subinterface. */
  private attachment(dev: string | undefined): { interface: string; vlan: number } {
    const l = dev ? this.links.get(dev) : undefined;
    return { interface: l?.parent ?? dev ?? '', vlan: l?.vlanId ?? 0 };
  }

  private installedRoute(vrf: string, k: KernelRoute): VrfRoute {
    const remote = (h: KernelHop) => ({ labels: h.labels, outInterface: h.dev ?? '', nextHop: h.via ?? '', remotePe: '', remotePeAddress: '', externalTransport: false, rd: '(installed)', localSidLabel: 0 });
    if (k.nexthops?.length) {
      const [first, ...rest] = k.nexthops;
      return { vrf, prefix: k.prefix, nextHop: { $case: 'remote', value: remote(first!) }, source: VrfRouteSource.VRF_ROUTE_SOURCE_UNSPECIFIED, multipath: rest.map(remote) };
    }
    const nextHop: VrfRoute['nextHop'] = k.labels.length ? { $case: 'remote', value: remote(k) } : { $case: 'local', value: { ...this.attachment(k.dev), address: k.via ?? '' } };
    return { vrf, prefix: k.prefix, nextHop, source: VrfRouteSource.VRF_ROUTE_SOURCE_UNSPECIFIED, multipath: [] };
  }

  private installedLabel(k: KernelLabelRoute, want: LfibEntry | undefined): LfibEntry {
    const owner = want ? `${want.owner} (installed differs)` : '';
    const vrfOfDevice = [...this.vrfs].find(([, v]) => v.device === k.dev)?.[0];
    const dev = k.dev ? this.links.get(k.dev) : undefined;
    const enslavedIn = dev?.master ? [...this.vrfs].find(([, v]) => v.device === dev.master)?.[0] : undefined;
    let action: LfibEntry['action'];
    if (k.labels.length) action = { $case: 'swap', value: { outLabels: k.labels, outInterface: k.dev ?? '', nextHop: k.via ?? '', destinationNode: '' } };
    else if (vrfOfDevice !== undefined) {
      // The kernel looks at the packet's version: the VRF device serves a label of either family as desired.
      const family = want?.action?.$case === 'popAndLookup' && want.action.value.vrf === vrfOfDevice ? want.action.value.family : LookupFamily.LOOKUP_FAMILY_UNSPECIFIED;
      action = { $case: 'popAndLookup', value: { vrf: vrfOfDevice, family } };
    }
    else if (enslavedIn !== undefined) action = { $case: 'popAndForward', value: { vrf: enslavedIn, nextHop: { ...this.attachment(k.dev), address: k.via ?? '' } } };
    else action = { $case: 'pop', value: { outInterface: k.dev ?? '', nextHop: k.via ?? '', destinationNode: '' } };
    return { inLabel: k.label, action, owner };
  }

  /** Raises net.mpls.platform_labels above `maxLabel` (never lowers it) and accepts labelled packets on `devices`. */
  /** `multipath`: ECMP routes are (to be) installed: the kernel must hash flows by their 5-tuple, not by addresses alone. */
  private async ensureMpls(devices: Iterable<string>, maxLabel: number, multipath = false): Promise<void> {
    const settings: string[] = [];
    const hashPolicy = multipath && !this.multipathHash;
    // Policy 1: layer 4 (source and destination addresses, ports, protocol), so the flows of two hosts spread too.
    if (hashPolicy) settings.push('net.ipv4.fib_multipath_hash_policy=1', 'net.ipv6.fib_multipath_hash_policy=1');
    let labels = this.platformLabels;
    if (maxLabel >= labels) {
      labels = 1;
      while (labels <= maxLabel) labels *= 2;
      labels = Math.min(labels, MAX_PLATFORM_LABELS);
      settings.push(`net.mpls.platform_labels=${labels}`);
    }
    const newDevices = [...new Set(devices)].filter((d) => d && !this.mplsInput.has(d));
    // The slash form keeps the dots of a VLAN subinterface's name ("core0.100").
    for (const d of newDevices) settings.push(`net/mpls/conf/${d}/input=1`);
    if (settings.length === 0) return;
    const r = await this.runner.run(['sysctl', '-w', ...settings]);
    // A device that does not exist fails here and its routes fail with the kernel's reason; the rest took effect.
    if (r.code === 0 || !r.stderr.includes('platform_labels')) this.platformLabels = labels;
    if (hashPolicy && !r.stderr.includes('fib_multipath_hash_policy')) this.multipathHash = true;
    for (const d of newDevices) if (!r.stderr.includes(`/${d}/`) && !r.stderr.includes(`.${d}.`)) this.mplsInput.add(d);
  }

  async apply(changes: readonly DesiredStateChange[]): Promise<ChangeFailure[]> {
    if (!this.linksKnown) await this.refreshLinks();
    const failures = new Map<number, string>();
    const steps: Step[] = [];
    const devices = new Set<string>();
    let multipath = false;
    let maxLabel = 0;
    changes.forEach((c, index) => {
      const del = c.kind === ChangeKind.CHANGE_KIND_DELETE;
      const e = (del ? c.previous : c.entry)?.entry;
      const add = (family: Family, line: string, tolerate?: RegExp) => steps.push({ family, line, index, tolerate });
      try {
        if (!e) throw new Refusal('change without an entry');
        switch (e.$case) {
          case 'vrf':
            if (del) return this.planVrfDelete(e.value, add);
            this.planVrf(e.value, add);
            // The VRF itself goes in (its customers' traffic does not depend on it); its BGP sessions are refused, never ignored.
            if (hasBgpSessions(e.value)) failures.set(index, NO_BGP_RELAY);
            return;
          case 'vrfRoute': {
            const r = e.value;
            if (del) {
              const table = this.vrfs.get(r.vrf)?.table ?? (/^#table(\d+)$/.exec(r.vrf) ? Number(r.vrf.slice(6)) : undefined);
              // No VRF, no table: the route went with it.
              if (table !== undefined) add(familyOf(r.prefix), routeDeleteLine(table, r.prefix, this.protocol), GONE);
              return;
            }
            const held = this.vrfs.get(r.vrf) ?? (() => { throw new Refusal(`no VRF ${r.vrf}`); })();
            const k = routeIntent(r, held.table);
            if (k.labels.length && k.dev) devices.add(k.dev);
            for (const h of k.nexthops ?? []) if (h.dev) devices.add(h.dev);
            multipath ||= (k.nexthops?.length ?? 0) > 0;
            return add(familyOf(r.prefix), routeReplaceLine(k, this.protocol));
          }
          case 'lfibEntry': {
            if (del) return add('mpls', labelDeleteLine(e.value.inLabel), GONE);
            const k = labelIntent(e.value, (v) => this.vrfDeviceOf(v));
            maxLabel = Math.max(maxLabel, k.label);
            if (k.via && k.dev && (e.value.action?.$case === 'swap' || e.value.action?.$case === 'pop')) devices.add(k.dev);
            return add('mpls', labelReplaceLine(k, this.protocol));
          }
          case 'transportPath':
            return; // every route carries its whole label stack
        }
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
        failures.set(index, err.message);
      }
    });
    await this.ensureMpls(devices, maxLabel, multipath);
    await this.runSteps(steps, failures);
    // What failed may have left the kernel other than planned: learn it again before the next plan.
    if (failures.size) this.linksKnown = false;
    return [...failures].map(([index, reason]) => ({ index, reason })).sort((a, b) => a.index - b.index);
  }

  private planVrf(v: VrfInstance, add: (family: Family, line: string, tolerate?: RegExp) => void): void {
    const device = vrfDevice(v.name);
    if (RESERVED_TABLE_IDS.has(v.tableId) || !Number.isInteger(v.tableId) || v.tableId < 1) throw new Refusal(`table id ${v.tableId} is reserved or invalid`);
    for (const [other, held] of this.vrfs) if (other !== v.name && held.table === v.tableId) throw new Refusal(`table id ${v.tableId} is used by VRF ${other}`);
    const wanted = v.interfaces.map((i) => ({ dev: interfaceDevice(i.name, i.vlan), parent: i.name, vlan: i.vlan, addresses: canonicalAddresses(i) }));
    const held = this.vrfs.get(v.name);
    if (held && held.table !== v.tableId) {
      // A VRF device's table cannot change: the VRF is made again (the agent then re-adds its routes).
      this.planVrfDelete(v, add);
    }
    if (!held || held.table !== v.tableId) add('link', `link add ${device} type vrf table ${v.tableId}`);
    add('link', `link set dev ${device} alias ${v.name} up`);
    const wantedDevs = new Set(wanted.map((w) => w.dev));
    for (const l of this.enslavedTo(device)) if (!wantedDevs.has(l.name)) this.planRelease(l, add);
    for (const w of wanted) {
      const cur = this.links.get(w.dev);
      if (w.vlan) {
        add('link', `link set dev ${w.parent} up`);
        if (!cur) add('link', `link add link ${w.parent} name ${w.dev} type vlan id ${w.vlan}`);
      }
      add('link', `link set dev ${w.dev} master ${device} up`);
      const have = cur?.master === device ? cur.addresses : [];
      for (const a of w.addresses) if (!have.includes(a)) add('link', `address replace ${a} dev ${w.dev}`);
      for (const a of have) if (!w.addresses.includes(a)) add('link', `address del ${a} dev ${w.dev}`, GONE);
      this.links.set(w.dev, { ...(cur ?? { name: w.dev, up: true, kind: w.vlan ? 'vlan' : undefined, vlanId: w.vlan || undefined, parent: w.vlan ? w.parent : undefined }), master: device, up: true, addresses: w.addresses });
    }
    this.vrfs.set(v.name, { device, table: v.tableId });
    this.links.set(device, { name: device, kind: 'vrf', vrfTable: v.tableId, alias: v.name, up: true, addresses: [] });
  }

  /** Takes an interface out of a VRF: a VLAN subinterface the driver made goes; another device loses the VRF and its addresses. */
  private planRelease(l: KernelLink, add: (family: Family, line: string, tolerate?: RegExp) => void): void {
    if (l.kind === 'vlan' && l.parent && l.name === `${l.parent}.${l.vlanId}`) {
      add('link', `link del dev ${l.name}`, GONE);
      this.links.delete(l.name);
      return;
    }
    add('link', `link set dev ${l.name} nomaster`, GONE);
    for (const a of l.addresses) add('link', `address del ${a} dev ${l.name}`, GONE);
    this.links.set(l.name, { ...l, master: undefined, addresses: [] });
  }

  private planVrfDelete(v: VrfInstance, add: (family: Family, line: string, tolerate?: RegExp) => void): void {
    const held = this.vrfs.get(v.name);
    const device = held?.device ?? vrfDevice(v.name);
    for (const l of this.enslavedTo(device)) this.planRelease(l, add);
    add('link', `link del dev ${device}`, GONE);
    // Routes of the table outlive its VRF device.
    const table = held?.table ?? v.tableId;
    add('inet', `route flush table ${table} proto ${this.protocol}`, GONE);
    add('inet6', `route flush table ${table} proto ${this.protocol}`, GONE);
    this.vrfs.delete(v.name);
    this.links.delete(device);
  }

  /** Runs the steps in order, consecutive steps of one family in one `ip -force -batch`. */
  private async runSteps(steps: readonly Step[], failures: Map<number, string>): Promise<void> {
    for (let start = 0; start < steps.length; ) {
      const family = steps[start]!.family;
      let end = start;
      while (end < steps.length && steps[end]!.family === family) end++;
      const group = steps.slice(start, end);
      start = end;
      const r = await this.runner.run(['ip', '-force', ...FAMILY_ARGS[family], '-batch', '-'], group.map((s) => s.line).join('\n') + '\n');
      this.linesSent += group.length;
      if (r.code === 0) continue;
      const failed = batchFailures(r.stderr);
      if (failed.size === 0) {
        const reason = r.stderr.trim() || `ip exited with ${r.code}`;
        for (const s of group) if (!failures.has(s.index)) failures.set(s.index, reason);
        continue;
      }
      for (const [line, reason] of failed) {
        const s = group[line - 1];
        if (!s || s.tolerate?.test(reason) || failures.has(s.index)) continue;
        failures.set(s.index, `${reason} (${s.line})`);
      }
    }
  }

  /** From `ip -j link`: up when the device is administratively up and has carrier (operstate UP, or UNKNOWN for devices without one). */
  async portStates(interfaces: readonly string[]): Promise<PortState[]> {
    const links = JSON.parse((await this.ip('link', 'show')) || '[]') as { ifname: string; flags?: string[]; operstate?: string }[];
    const byName = new Map(links.map((l) => [l.ifname, l]));
    return interfaces.map((name) => {
      const l = byName.get(name);
      if (!l) return { interface: name, up: false, reason: 'no such device' };
      if (!l.flags?.includes('UP')) return { interface: name, up: false, reason: 'administratively down' };
      if (l.flags.includes('NO-CARRIER') || (l.operstate !== 'UP' && l.operstate !== 'UNKNOWN')) return { interface: name, up: false, reason: `link down (${(l.operstate ?? 'no carrier').toLowerCase()})` };
      return { interface: name, up: true, reason: '' };
    });
  }

  /** No link notifications through the runner: the agent reads port states on its own timer. */
  onPortChange(): void {}

  async close(): Promise<void> {}
}
