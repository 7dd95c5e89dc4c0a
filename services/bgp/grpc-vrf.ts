// gRPC edge of the VRFs: AddVrf ... WatchVrfRoutes of BgpService. Checks
// requests (VrfConfigError -> INVALID_ARGUMENT naming the field), calls the
// VrfService and maps its views to the generated proto types.
import { status, type ServerWritableStream } from '@grpc/grpc-js';
import {
  Family as ProtoFamily,
  LabelMode as ProtoLabelMode,
  MaxRoutesState as ProtoMaxRoutesState,
  VrfLimitEventType,
  VrfPathOrigin as ProtoOrigin,
  type BgpServiceServer,
  type BgpVrf,
  type ListVrfPathsRequest,
  type ListVrfPathsResponse,
  type VrfConfig as ProtoVrfConfig,
  type VrfLimitEvent,
  type VrfPath as ProtoVrfPath,
  type VrfRouteChange,
  type WatchVrfRoutesRequest,
  type WatchVrfRoutesResponse,
} from '../common/gen/proto/l3vpn/v1/bgp.js';
import { ApiError, alreadyExists, failedPrecondition, invalidArgument, notFound, toServiceError } from '../common/grpc/errors.js';
import { unary } from '../common/grpc/server.js';
import type { Logger } from '../common/logger.js';
import { formatRd } from '../common/vpn/rd.js';
import { formatRouteTarget } from '../common/vpn/route-target.js';
import { familyFromProto, pathSpecFromProto, pathToProto } from './api-path.js';
import type { Path } from './rib/path.js';
import { IPV4_UNICAST, IPV6_UNICAST } from './speaker/config.js';
import { VrfConfigError, vrfName, type LabelMode, type VrfConfig, type VrfConfigInput } from './vrf/config.js';
import type { VrfEvent } from './vrf/manager.js';
import { VrfExists, VrfNotFound, VrfOwnerMismatch, type MaxRoutesState, type VrfService, type VrfWatchEvent } from './vrf-service.js';
import { Afi } from './wire/constants.js';
import { formatAddress } from './wire/ip.js';
import { RouteEncodeError, parsePrefix, type Family, type Route } from './wire/nlri.js';
import { quoteId } from '../common/quote.js';

const BATCH = 1000;

type VrfRpcs = Pick<
  BgpServiceServer,
  'addVrf' | 'updateVrf' | 'deleteVrf' | 'listVrfs' | 'addVrfPath' | 'deleteVrfPath' | 'changeVrfPaths' | 'setVrfExportReady' | 'listVrfPaths' | 'watchVrfRoutes'
>;

const LABEL_MODES: [ProtoLabelMode, LabelMode][] = [
  [ProtoLabelMode.LABEL_MODE_PER_VRF, 'per-vrf'],
  [ProtoLabelMode.LABEL_MODE_PER_PREFIX, 'per-prefix'],
  [ProtoLabelMode.LABEL_MODE_PER_CE, 'per-ce'],
];

/** SetVrfExportReady: a VRF's prefixes, bounded like a message (the gRPC limit bounds the bytes too). */
const MAX_EXPORT_READY = 1 << 20;

const MAX_ROUTES_STATES: Record<MaxRoutesState, ProtoMaxRoutesState> = {
  ok: ProtoMaxRoutesState.MAX_ROUTES_STATE_OK,
  warning: ProtoMaxRoutesState.MAX_ROUTES_STATE_WARNING,
  exceeded: ProtoMaxRoutesState.MAX_ROUTES_STATE_EXCEEDED,
};

const LIMIT_EVENTS: Record<VrfEvent['type'], VrfLimitEventType> = {
  'max-routes-warning': VrfLimitEventType.VRF_LIMIT_EVENT_TYPE_WARNING,
  'max-routes-exceeded': VrfLimitEventType.VRF_LIMIT_EVENT_TYPE_EXCEEDED,
  'route-refused': VrfLimitEventType.VRF_LIMIT_EVENT_TYPE_ROUTE_REFUSED,
  'route-admitted': VrfLimitEventType.VRF_LIMIT_EVENT_TYPE_ROUTE_ADMITTED,
  'label-exhausted': VrfLimitEventType.VRF_LIMIT_EVENT_TYPE_LABEL_EXHAUSTED,
};

/** vrf/config.ts field names that differ in the proto. */
const PROTO_FIELDS: Record<string, string> = { import_rts: 'import_route_targets', export_rts: 'export_route_targets' };

function translate(err: unknown): never {
  if (err instanceof ApiError) throw err;
  if (err instanceof VrfConfigError) throw invalidArgument(PROTO_FIELDS[err.field] ?? err.field, err.message.slice(err.field.length + 2));
  if (err instanceof VrfNotFound) throw notFound(err.message);
  if (err instanceof VrfExists) throw alreadyExists(err.message);
  if (err instanceof VrfOwnerMismatch) throw failedPrecondition(err.message);
  if (err instanceof RouteEncodeError || err instanceof RangeError) throw invalidArgument('path', err.message);
  throw err;
}

/** Runs fn, translating what it throws, or (when it returns a promise) what that rejects with. */
function guard<T>(fn: () => T): T {
  try {
    const result = fn();
    return (result instanceof Promise ? result.catch(translate) : result) as T;
  } catch (err) {
    translate(err);
  }
}

function name(text: string, field = 'name'): string {
  if (!text.trim()) throw invalidArgument(field, 'is required');
  return guard(() => vrfName(text, field));
}

export function vrfInputFromProto(c: ProtoVrfConfig | undefined): VrfConfigInput {
  if (!c) throw invalidArgument('vrf', 'is required');
  if (!c.rd) throw invalidArgument('rd', 'is required');
  const mode = c.labelMode === ProtoLabelMode.LABEL_MODE_UNSPECIFIED ? 'per-vrf' : LABEL_MODES.find(([p]) => p === c.labelMode)?.[1];
  if (!mode) throw invalidArgument('label_mode', 'unknown');
  return {
    name: name(c.name),
    rd: c.rd,
    importRts: c.importRouteTargets,
    exportRts: c.exportRouteTargets,
    labelMode: mode,
    label: mode === 'per-vrf' ? c.label : undefined,
    ipv6Label: c.ipv6Label,
    labelBlock: c.labelBlock,
    maxRoutes: c.maxRoutes ? { limit: c.maxRoutes.limit, warningPercent: c.maxRoutes.warningPercent || undefined, warningOnly: c.maxRoutes.warningOnly } : undefined,
    nextHop: c.nextHop?.trim(),
    owner: c.owner,
    multipath: c.multipath,
    gateCeExports: c.gateCeExports,
  };
}

function configToProto(c: VrfConfig): ProtoVrfConfig {
  return {
    name: c.name,
    rd: formatRd(c.rd),
    importRouteTargets: c.importRts.map(formatRouteTarget),
    exportRouteTargets: c.exportRts.map(formatRouteTarget),
    labelMode: LABEL_MODES.find(([, m]) => m === c.labelMode)![0],
    label: c.label ?? 0,
    ipv6Label: c.ipv6Label ?? 0,
    labelBlock: c.labelBlock ? { ...c.labelBlock } : undefined,
    maxRoutes: c.maxRoutes ? { ...c.maxRoutes } : undefined,
    nextHop: c.nextHop,
    owner: c.owner ?? '',
    multipath: c.multipath ?? 0,
    gateCeExports: c.gateCeExports ?? false,
  };
}

export function vrfToProto(vrfs: VrfService, name: string): BgpVrf {
  const c = vrfs.get(name);
  const counts = vrfs.counts(name);
  return {
    config: configToProto(c),
    status: {
      routes: [Afi.IPV4, Afi.IPV6].map((afi) => {
        const t = vrfs.manager.table(name, afi);
        return {
          family: afi === Afi.IPV6 ? ProtoFamily.FAMILY_IPV6_UNICAST : ProtoFamily.FAMILY_IPV4_UNICAST,
          prefixes: t?.size ?? 0,
          paths: t?.pathCount ?? 0,
          exported: vrfs.exportedCount(name, afi),
        };
      }),
      totalPrefixes: vrfs.manager.routeCount(name),
      maxRoutesState: MAX_ROUTES_STATES[vrfs.maxRoutesState(name)],
      heldBack: vrfs.manager.refused(name).length,
      maxRoutesWarnings: counts.warnings,
      maxRoutesExceeded: counts.exceeded,
      routesRefused: counts.refused,
      labelExhausted: counts.labelExhausted,
      cePeers: vrfs.cePeers(name),
    },
  };
}

const prefixText = (p: Path) => `${formatAddress(p.route.prefix)}/${p.route.length}`;

export function vrfPathToProto(vrfs: VrfService, vrf: string, p: Path, best: boolean, multipath = false): ProtoVrfPath {
  const origin = vrfs.origin(p);
  const family = p.family.afi === Afi.IPV6 ? ProtoFamily.FAMILY_IPV6_UNICAST : ProtoFamily.FAMILY_IPV4_UNICAST;
  if (origin === 'imported') {
    return {
      vrf,
      family,
      prefix: prefixText(p),
      origin: ProtoOrigin.VRF_PATH_ORIGIN_IMPORTED,
      label: p.route.labels?.[0] ?? 0,
      nextHop: p.nextHop?.address ?? '',
      rd: p.route.rd ? formatRd(p.route.rd) : '',
      source: p.source,
      best,
      path: pathToProto(p),
      multipath,
    };
  }
  const ep = vrfs.exportOfPath(p);
  const config = vrfs.manager.get(vrf);
  return {
    vrf,
    family,
    prefix: prefixText(p),
    origin: origin === 'local' ? ProtoOrigin.VRF_PATH_ORIGIN_LOCAL : ProtoOrigin.VRF_PATH_ORIGIN_CE,
    label: ep?.route.labels?.[0] ?? 0,
    nextHop: p.nextHop?.address ?? '',
    rd: config ? formatRd(config.rd) : '',
    source: p.source,
    best,
    path: pathToProto(p),
    multipath,
  };
}

function limitToProto(e: VrfEvent, at: number): VrfLimitEvent {
  const route = e.type === 'route-refused' || e.type === 'route-admitted' ? e.path : undefined;
  return {
    vrf: e.vrf,
    type: LIMIT_EVENTS[e.type],
    count: 'count' in e ? e.count : 0,
    limit: 'limit' in e ? e.limit : 0,
    family: 'afi' in e ? (e.afi === Afi.IPV6 ? ProtoFamily.FAMILY_IPV6_UNICAST : ProtoFamily.FAMILY_IPV4_UNICAST) : ProtoFamily.FAMILY_UNSPECIFIED,
    prefix: route ? prefixText(route) : '',
    source: route?.source ?? '',
    time: new Date(at),
  };
}

function write<T>(call: ServerWritableStream<unknown, T>, message: T): Promise<void> {
  return call.write(message) ? Promise.resolve() : new Promise((resolve) => call.once('drain', resolve));
}

/**
 * Ends a server stream with the error's status. grpc-js sends the status
 * from the stream's 'error' event; destroy() would close it without one,
 * leaving the caller waiting until its deadline.
 */
export function fail(call: ServerWritableStream<unknown, unknown>, log: Logger, method: string, err: unknown): void {
  if (!(err instanceof ApiError)) log.error({ err, method }, 'call failed');
  call.emit('error', toServiceError(err));
}

async function listVrfPaths(vrfs: VrfService, call: ServerWritableStream<ListVrfPathsRequest, ListVrfPathsResponse>): Promise<void> {
  const req = call.request;
  const vrf = name(req.vrf, 'vrf');
  guard(() => vrfs.get(vrf));
  let afis = [Afi.IPV4, Afi.IPV6] as number[];
  if (req.family !== ProtoFamily.FAMILY_UNSPECIFIED) {
    const f = familyFromProto(req.family);
    if (f !== IPV4_UNICAST && f !== IPV6_UNICAST) throw invalidArgument('family', 'a VRF holds IPV4_UNICAST and IPV6_UNICAST');
    afis = [f.afi];
  }
  let prefix: string | undefined;
  if (req.prefix) {
    try {
      const p = parsePrefix(req.prefix);
      prefix = `${formatAddress(p.prefix)}/${p.length}`;
    } catch (err) {
      throw invalidArgument('prefix', (err as Error).message);
    }
  }
  let batch: ProtoVrfPath[] = [];
  for (const afi of afis) {
    for (const { path, best, multipath } of vrfs.paths(vrf, afi, req.allPaths)) {
      if (prefix !== undefined && prefixText(path) !== prefix) continue;
      batch.push(vrfPathToProto(vrfs, vrf, path, best, multipath));
      if (batch.length === BATCH) {
        await write(call, { paths: batch });
        batch = [];
      }
    }
  }
  if (batch.length) await write(call, { paths: batch });
}

/**
 * Subscribes first, then writes the snapshot in the same turn, so no change
 * falls between the two. Changes are batched per turn of the event loop; a
 * limit event or deletion first flushes the changes before it.
 */
function watchVrfRoutes(vrfs: VrfService, call: ServerWritableStream<WatchVrfRoutesRequest, WatchVrfRoutesResponse>): void {
  const only = call.request.vrf.trim() || undefined;
  let pending: VrfRouteChange[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    for (let i = 0; i < pending.length; i += BATCH) call.write({ event: { $case: 'routes', value: { changes: pending.slice(i, i + BATCH) } } });
    pending = [];
  };
  const change = (vrf: string, afi: number, best: Path | undefined, previous: Path | undefined, dest: string): VrfRouteChange => ({
    vrf,
    family: afi === Afi.IPV6 ? ProtoFamily.FAMILY_IPV6_UNICAST : ProtoFamily.FAMILY_IPV4_UNICAST,
    prefix: prefixText((best ?? previous)!),
    best: best ? vrfPathToProto(vrfs, vrf, best, true) : undefined,
    multipath: best ? vrfs.manager.multipath(vrf, afi, dest).map((p) => vrfPathToProto(vrfs, vrf, p, false, true)) : [],
  });
  const unsubscribe = vrfs.watch((e: VrfWatchEvent) => {
    if (e.type === 'route') {
      if (only !== undefined && e.vrf !== only) return;
      pending.push(change(e.vrf, e.afi, e.best, e.previous, e.dest));
      if (pending.length >= BATCH) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return;
    }
    const vrf = e.type === 'limit' ? e.event.vrf : e.vrf;
    if (only !== undefined && vrf !== only) return;
    flush();
    if (e.type === 'limit') call.write({ event: { $case: 'limit', value: limitToProto(e.event, e.at) } });
    else call.write({ event: { $case: 'vrfDeleted', value: e.vrf } });
  });
  const done = () => unsubscribe();
  call.on('cancelled', done);
  call.on('close', done);
  call.on('error', done);
  for (const c of vrfs.list()) {
    if (only !== undefined && c.name !== only) continue;
    for (const afi of [Afi.IPV4, Afi.IPV6]) for (const { path, best, dest } of vrfs.paths(c.name, afi, false)) if (best) pending.push(change(c.name, afi, path, undefined, dest));
  }
  flush();
  call.write({ event: { $case: 'snapshotDone', value: true } });
}

/** A VRF route to delete; `field` prefixes the names of bad fields. */
function deletionFromProto(f: ProtoFamily, text: string, field: string): { family: Family; route: Route } {
  const family = familyFromProto(f, `${field}family`);
  if (family !== IPV4_UNICAST && family !== IPV6_UNICAST) throw invalidArgument(`${field}family`, 'a VRF holds IPV4_UNICAST and IPV6_UNICAST');
  let route: Route;
  try {
    route = parsePrefix(text);
  } catch (err) {
    throw invalidArgument(`${field}prefix`, (err as Error).message);
  }
  if (route.prefix.length !== (family.afi === Afi.IPV4 ? 4 : 16)) throw invalidArgument(`${field}prefix`, `'${quoteId(text)}' is not of the family's address type`);
  return { family, route };
}

/** Runs a check whose INVALID_ARGUMENT names a field inside an entry of a list. */
function within<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ApiError && err.code === status.INVALID_ARGUMENT) throw new ApiError(err.code, `${field}${err.message}`);
    throw err;
  }
}

export function vrfRpcs(vrfs: VrfService, log: Logger): VrfRpcs {
  return {
    addVrf: unary(log, 'AddVrf', async (req) => {
      const input = vrfInputFromProto(req.vrf);
      const update = guard(() => vrfs.add(input));
      return { vrf: vrfToProto(vrfs, input.name), imported: update.imported.length };
    }),
    updateVrf: unary(log, 'UpdateVrf', async (req) => {
      const input = vrfInputFromProto(req.vrf);
      const update = guard(() => vrfs.update(input));
      return { vrf: vrfToProto(vrfs, input.name), imported: update.imported.length, withdrawn: update.withdrawn.length };
    }),
    deleteVrf: unary(log, 'DeleteVrf', async (req) => {
      guard(() => vrfs.remove(name(req.name), req.owner.trim() || undefined));
      return {};
    }),
    listVrfs: unary(log, 'ListVrfs', async (req) => {
      const owner = req.owner.trim();
      const named = req.name ? [guard(() => vrfs.get(name(req.name)))] : vrfs.list();
      const names = named.filter((c) => (!owner || c.owner === owner) && c.name.endsWith(req.nameSuffix)).map((c) => c.name);
      return { vrfs: names.map((n) => vrfToProto(vrfs, n)) };
    }),
    addVrfPath: unary(log, 'AddVrfPath', async (req) => {
      const vrf = name(req.vrf, 'vrf');
      guard(() => vrfs.get(vrf));
      const spec = pathSpecFromProto(req.path);
      const r = guard(() => vrfs.addPath(vrf, spec, req.label));
      return { installed: r.installed, exported: r.exported ? pathToProto(r.exported) : undefined };
    }),
    setVrfExportReady: unary(log, 'SetVrfExportReady', async (req) => {
      const vrf = name(req.vrf, 'vrf');
      if (req.prefixes.length > MAX_EXPORT_READY) throw invalidArgument('prefixes', `at most ${MAX_EXPORT_READY}`);
      const ready = req.prefixes.map((text, i) => {
        const family = text.includes(':') ? ProtoFamily.FAMILY_IPV6_UNICAST : ProtoFamily.FAMILY_IPV4_UNICAST;
        return deletionFromProto(family, text, `prefixes[${i}].`);
      });
      return guard(() => vrfs.setExportReady(vrf, req.owner.trim() || undefined, ready));
    }),
    deleteVrfPath: unary(log, 'DeleteVrfPath', async (req) => {
      const vrf = name(req.vrf, 'vrf');
      guard(() => vrfs.get(vrf));
      const { family, route } = deletionFromProto(req.family, req.prefix, '');
      return { deleted: guard(() => vrfs.deletePath(vrf, family, route)) };
    }),
    changeVrfPaths: unary(log, 'ChangeVrfPaths', async (req) => {
      const vrf = name(req.vrf, 'vrf');
      guard(() => vrfs.get(vrf));
      const del = req.delete.map((d, i) => deletionFromProto(d.family, d.prefix, `delete[${i}].`));
      const add = req.add.map((a, i) => {
        if (!a.path) throw invalidArgument(`add[${i}].path`, 'is required');
        return { spec: within(`add[${i}].path.`, () => pathSpecFromProto(a.path)), ...(a.label !== undefined ? { label: a.label } : {}) };
      });
      return guard(() => vrfs.changePaths(vrf, add, del));
    }),
    listVrfPaths: (call) => {
      listVrfPaths(vrfs, call).then(
        () => call.end(),
        (err: unknown) => fail(call, log, 'ListVrfPaths', err),
      );
    },
    watchVrfRoutes: (call) => {
      try {
        watchVrfRoutes(vrfs, call);
      } catch (err) {
        fail(call, log, 'WatchVrfRoutes', err);
      }
    },
  };
}

