// gRPC edge of the labels service: checks every field, calls the allocators,
// and maps their views to the generated proto types.
import {
  AllocationState,
  LabelKind,
  LabelsServiceService,
  PoolType,
  type Label,
  type LabelsServiceServer,
  type RouteDistinguisher,
  type RouteTarget,
  type SpaceUsage,
  type LabelSpaces,
} from '../common/gen/proto/l3vpn/v1/labels.js';
import { invalidArgument } from '../common/grpc/errors.js';
import { labelsAccessPolicy } from './access-policy.js';
import { unary, type GrpcService } from '../common/grpc/server.js';
import type { Logger } from '../common/logger.js';
import type { IdentifierAllocator, IdentifierType, IdentifierView } from './identifier-allocator.js';
import type { LabelAllocator, LabelRequest, LabelView, NodeSpacesView } from './label-allocator.js';
import { LabelSpaceError } from './label-space.js';
import type { Usage } from './pool-usage.js';
import { quoteId } from '../common/quote.js';

const MAX_BATCH = 100_000;
const DEFAULT_PAGE = 1000;
const MAX_PAGE = 10_000;

function checkNode(node: string, field = 'node'): string {
  if (!node) throw invalidArgument(field, 'is required');
  if (node.length > 253 || !/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(node)) {
    throw invalidArgument(field, `'${quoteId(node.slice(0, 60))}' is not a node id (letters, digits, '.', '_', ':', '-'; at most 253)`);
  }
  return node;
}

function checkOwner(owner: string, field = 'owner'): string {
  if (!owner) throw invalidArgument(field, 'is required');
  // eslint-disable-next-line no-control-regex
  if (owner.length > 512 || /[\u0000-\u001f\u007f]/.test(owner)) {
    throw invalidArgument(field, 'must be at most 512 printable characters');
  }
  return owner;
}

/** An owner prefix filter: what an owner may contain, or nothing (no filter). */
function checkOwnerPrefix(prefix: string): string | undefined {
  return prefix ? checkOwner(prefix, 'owner_prefix') : undefined;
}

function checkState(state: AllocationState): boolean | undefined {
  switch (state) {
    case AllocationState.ALLOCATION_STATE_UNSPECIFIED:
      return undefined;
    case AllocationState.ALLOCATION_STATE_HELD:
      return true;
    case AllocationState.ALLOCATION_STATE_ALLOCATED:
      return false;
    default:
      throw invalidArgument('state', 'must be ALLOCATION_STATE_ALLOCATED, ALLOCATION_STATE_HELD or unset');
  }
}

function pageSize(n: number): number {
  if (n > MAX_PAGE) throw invalidArgument('page_size', `at most ${MAX_PAGE}`);
  return n || DEFAULT_PAGE;
}

function encodeToken(cursor: object): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeToken<T>(token: string, valid: (c: unknown) => c is T): T | undefined {
  if (!token) return undefined;
  try {
    const c: unknown = JSON.parse(Buffer.from(token, 'base64url').toString());
    if (valid(c)) return c;
  } catch {
    // fall through
  }
  throw invalidArgument('page_token', 'is not a token from a previous response');
}

const isLabelCursor = (c: unknown): c is { pool: 'LABEL' | 'SRGB'; value: number } =>
  typeof c === 'object' && c !== null && ['LABEL', 'SRGB'].includes((c as { pool: string }).pool) && Number.isInteger((c as { value: number }).value);
const isIdentifierCursor = (c: unknown): c is { scope: string; value: number } =>
  typeof c === 'object' && c !== null && typeof (c as { scope: unknown }).scope === 'string' && Number.isInteger((c as { value: number }).value);

const usage = (u: Usage): SpaceUsage => ({ size: u.size, allocated: u.allocated, held: u.held, free: u.free });
const state = (held: boolean) => (held ? AllocationState.ALLOCATION_STATE_HELD : AllocationState.ALLOCATION_STATE_ALLOCATED);

function labelMessage(v: LabelView): Label {
  const m: Label = { node: v.node, label: v.label, owner: v.owner, kind: v.kind, state: state(v.held), allocatedAt: v.allocatedAt };
  if (v.sidIndex !== undefined) m.sidIndex = v.sidIndex;
  if (v.reusableAt) m.reusableAt = v.reusableAt;
  return m;
}

function spacesMessage(v: NodeSpacesView): LabelSpaces {
  return {
    node: v.node,
    dynamicRange: v.dynamic,
    srgb: v.srgb,
    holdDownSeconds: Math.round(v.holdDownMs / 1000),
    dynamicUsage: usage(v.dynamicUsage),
    srgbUsage: usage(v.srgbUsage),
  };
}

function rdMessage(v: IdentifierView): RouteDistinguisher {
  const m: RouteDistinguisher = { value: v.value, type: v.form, owner: v.owner, state: state(v.held), allocatedAt: v.allocatedAt };
  if (v.reusableAt) m.reusableAt = v.reusableAt;
  return m;
}

function rtMessage(v: IdentifierView): RouteTarget {
  const m: RouteTarget = { value: v.value, owner: v.owner, state: state(v.held), allocatedAt: v.allocatedAt };
  if (v.reusableAt) m.reusableAt = v.reusableAt;
  return m;
}

function checkKind(kind: LabelKind, field: string): LabelKind {
  if (!Object.values(LabelKind).includes(kind) || kind === LabelKind.LABEL_KIND_UNSPECIFIED || kind === LabelKind.UNRECOGNIZED) {
    throw invalidArgument(field, 'must be one of LABEL_KIND_VRF, _PREFIX, _CE, _NODE_SID, _TRANSPORT');
  }
  return kind;
}

/** LabelSpaceErrors name the field they are about; turn them into INVALID_ARGUMENT. */
async function withFieldErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof LabelSpaceError) throw invalidArgument(err.field, err.message);
    throw err;
  }
}

export function labelsGrpcService(deps: {
  labels: LabelAllocator;
  identifiers: IdentifierAllocator;
  log: Logger;
}): GrpcService {
  const { labels, identifiers, log } = deps;
  const allocateOne = (type: IdentifierType) => (req: { owner: string; administrator: string; value: string }) =>
    identifiers.allocate(type, checkOwner(req.owner), req.administrator.trim(), req.value.trim());

  const impl: LabelsServiceServer = {
    configureLabelSpaces: unary(log, 'ConfigureLabelSpaces', (req) =>
      withFieldErrors(async () => {
        const change: Parameters<LabelAllocator['configure']>[1] = {};
        if (req.dynamicRange) change.dynamic = req.dynamicRange;
        if (req.srgb) change.srgb = req.srgb;
        if (req.holdDownSeconds !== undefined) {
          if (req.holdDownSeconds > 86_400) throw invalidArgument('hold_down_seconds', 'at most 86400');
          change.holdDownMs = req.holdDownSeconds * 1000;
        }
        return { spaces: spacesMessage(await labels.configure(checkNode(req.node), change)) };
      }),
    ),
    getLabelSpaces: unary(log, 'GetLabelSpaces', async (req) => ({ spaces: spacesMessage(await labels.spaces(checkNode(req.node))) })),
    allocateLabel: unary(log, 'AllocateLabel', async (req) => {
      const r: LabelRequest = { owner: checkOwner(req.owner), kind: checkKind(req.kind, 'kind') };
      if (req.sidIndex !== undefined) r.sidIndex = req.sidIndex;
      const [label] = await labels.allocate(checkNode(req.node), [r]);
      return { label: labelMessage(label!) };
    }),
    allocateLabels: unary(log, 'AllocateLabels', async (req) => {
      if (req.requests.length > MAX_BATCH) throw invalidArgument('requests', `at most ${MAX_BATCH} in one call`);
      const owners = new Set<string>();
      const rs = req.requests.map((r, i): LabelRequest => {
        const owner = checkOwner(r.owner, `requests[${i}].owner`);
        if (owners.has(owner)) throw invalidArgument(`requests[${i}].owner`, `'${quoteId(owner)}' appears twice`);
        owners.add(owner);
        const out: LabelRequest = { owner, kind: checkKind(r.kind, `requests[${i}].kind`) };
        if (r.sidIndex !== undefined) out.sidIndex = r.sidIndex;
        return out;
      });
      return { labels: (await labels.allocate(checkNode(req.node), rs)).map(labelMessage) };
    }),
    releaseLabel: unary(log, 'ReleaseLabel', async (req) => {
      const [label] = await labels.release(checkNode(req.node), [checkOwner(req.owner)]);
      return label ? { label: labelMessage(label) } : {};
    }),
    releaseLabels: unary(log, 'ReleaseLabels', async (req) => {
      if (req.owners.length > MAX_BATCH) throw invalidArgument('owners', `at most ${MAX_BATCH} in one call`);
      const owners = req.owners.map((o, i) => checkOwner(o, `owners[${i}]`));
      return { labels: (await labels.release(checkNode(req.node), owners)).map(labelMessage) };
    }),
    getLabel: unary(log, 'GetLabel', async (req) => {
      const node = checkNode(req.node);
      if (!req.key) throw invalidArgument('key', 'give owner or label');
      const key = req.key.$case === 'owner' ? { owner: checkOwner(req.key.value) } : { label: req.key.value };
      return { label: labelMessage(await labels.get(node, key)) };
    }),
    listLabels: unary(log, 'ListLabels', async (req) => {
      const filter: Parameters<LabelAllocator['list']>[1] = {};
      if (req.kind) filter.kind = checkKind(req.kind, 'kind');
      const held = checkState(req.state);
      if (held !== undefined) filter.held = held;
      const ownerPrefix = checkOwnerPrefix(req.ownerPrefix);
      if (ownerPrefix) filter.ownerPrefix = ownerPrefix;
      const page = await labels.list(checkNode(req.node), filter, pageSize(req.pageSize), decodeToken(req.pageToken, isLabelCursor));
      return { labels: page.labels.map(labelMessage), nextPageToken: page.next ? encodeToken(page.next) : '' };
    }),
    allocateRouteDistinguisher: unary(log, 'AllocateRouteDistinguisher', async (req) => ({
      routeDistinguisher: rdMessage(await allocateOne('RD')(req)),
    })),
    releaseRouteDistinguisher: unary(log, 'ReleaseRouteDistinguisher', async (req) => {
      const [v] = await identifiers.release('RD', checkOwner(req.owner), req.administrator.trim());
      return v ? { routeDistinguisher: rdMessage(v) } : {};
    }),
    listRouteDistinguishers: unary(log, 'ListRouteDistinguishers', async (req) => {
      const page = await identifiers.list(
        'RD',
        { administrator: req.administrator.trim(), ownerPrefix: checkOwnerPrefix(req.ownerPrefix) ?? '' },
        pageSize(req.pageSize),
        decodeToken(req.pageToken, isIdentifierCursor),
      );
      return { routeDistinguishers: page.items.map(rdMessage), nextPageToken: page.next ? encodeToken(page.next) : '' };
    }),
    allocateRouteTarget: unary(log, 'AllocateRouteTarget', async (req) => ({
      routeTarget: rtMessage(await allocateOne('RT')(req)),
    })),
    releaseRouteTarget: unary(log, 'ReleaseRouteTarget', async (req) => {
      const [v] = await identifiers.release('RT', checkOwner(req.owner), req.administrator.trim());
      return v ? { routeTarget: rtMessage(v) } : {};
    }),
    listRouteTargets: unary(log, 'ListRouteTargets', async (req) => {
      const page = await identifiers.list(
        'RT',
        { administrator: req.administrator.trim(), ownerPrefix: checkOwnerPrefix(req.ownerPrefix) ?? '' },
        pageSize(req.pageSize),
        decodeToken(req.pageToken, isIdentifierCursor),
      );
      return { routeTargets: page.items.map(rtMessage), nextPageToken: page.next ? encodeToken(page.next) : '' };
    }),
    configurePool: unary(log, 'ConfigurePool', async (req) => {
      const type: IdentifierType | undefined =
        req.type === PoolType.POOL_TYPE_ROUTE_DISTINGUISHER ? 'RD' : req.type === PoolType.POOL_TYPE_ROUTE_TARGET ? 'RT' : undefined;
      if (!type) throw invalidArgument('type', 'must be POOL_TYPE_ROUTE_DISTINGUISHER or POOL_TYPE_ROUTE_TARGET');
      if (req.holdDownSeconds !== undefined && req.holdDownSeconds > 86_400) throw invalidArgument('hold_down_seconds', 'at most 86400');
      const v = await identifiers.configurePool(
        type,
        req.administrator.trim(),
        { min: req.min, max: req.max },
        req.holdDownSeconds === undefined ? undefined : req.holdDownSeconds * 1000,
      );
      return {
        type: req.type,
        administrator: v.administrator,
        min: v.min,
        max: v.max,
        holdDownSeconds: Math.round(v.holdDownMs / 1000),
        usage: usage(v.usage),
      };
    }),
  };
  return { name: 'l3vpn.v1.LabelsService', definition: LabelsServiceService, implementation: impl, access: labelsAccessPolicy };
}
