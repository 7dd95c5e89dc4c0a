// The domain layer both API adapters call: validate -> one transaction that
// writes the intent and its outbox row -> after commit, tell the reconcile
// trigger which nodes changed. A dry run runs the very same transaction and
// rolls it back, so its answer is exactly what the write would do. The
// transaction, its locks and what the database refuses are the store's
// (store/intent-transactions.ts); what a refusal means to the client is here.
import type { Logger } from '../../common/logger.js';
import { conflict, IntentError, invalid, notFound, semantic } from './errors.js';
import { hasBackups, primaryAccess } from '../domain/site-access.js';
import type { Filter, ResourceHandler } from './handler.js';
import { links } from './links.js';
import { applyMergePatch } from './merge-patch.js';
import { nodes } from './nodes.js';
import { DEFAULT_LIMIT, decodeCursor, MAX_LIMIT, pageOf, type Page, type PageRequest } from './pagination.js';
import { sites } from './sites.js';
import { vpns } from './vpns.js';
import { NODE_ROLES, STATUS_STATES, type NodePlan, type PoolReleases, type ResourceKind, type ResourceSpecs, type ResourceViews, type RoutesView, type SiteView, type VrfView, type WriteResult } from './types.js';
import type { IntentTransactions, PlanReads } from '../store/intent-transactions.js';
import { ReferenceViolation, UniqueViolation } from '../store/errors.js';
import { validateResource } from './validator.js';
import { listVrfs, readVrf } from './vrfs.js';
import { WriteContext, type SidIndexPool } from './write-context.js';

/** What If-Match asked for: any current version ("*"), or one of some versions. */
export type Precondition = { any: true } | { versions: number[] };

export interface WriteOptions {
  dryRun?: boolean;
  /** If-Match; absent: unconditional. */
  precondition?: Precondition;
  /** If-None-Match (RFC 9110 §13.1.2): the write fails when the resource matches it. */
  unlessMatch?: Precondition;
}

/** Told after each commit which nodes to reconcile (the outbox row backs it up if this fails). */
export interface ChangeSink {
  /** `settle`: an inventory change; more may follow at once, so reconciling may wait a moment to take them together. */
  committed(outboxId: bigint, nodes: string[], options?: { settle?: boolean }): Promise<void>;
}

/** Answers, for a dry run, what the nodes' desired states would become and what would be released; runs inside the write's transaction. */
export interface DesiredStatePlanner {
  plan(reads: PlanReads, nodes: string[], vpns: string[]): Promise<{ plan: NodePlan[]; releases: PoolReleases }>;
}

/** What a read of a site with routing.bgp shows of its PE-CE sessions, per access (the bgp service's peers). */
export interface SiteSessionsSource {
  withSessions(site: SiteView): Promise<SiteView>;
}

/** Where a VRF's routes come from (the bgp service). */
export interface VrfRoutesSource {
  routes(vrf: VrfView): Promise<RoutesView>;
}

const handlers: { [K in ResourceKind]: ResourceHandler<K> } = { node: nodes, link: links, vpn: vpns, site: sites };

export const RESOURCE_KINDS = Object.keys(handlers) as ResourceKind[];
export const filtersOf = (kind: ResourceKind | 'vrf'): readonly string[] => (kind === 'vrf' ? ['vpn', 'node', 'status'] : handlers[kind].filters);

const META_FIELDS = ['version', 'status', 'createdAt', 'updatedAt', 'operStatus', 'operReason', 'operChangedAt'];

function withoutMeta<T extends object>(value: T): T {
  const out = { ...value } as Record<string, unknown>;
  for (const f of META_FIELDS) delete out[f];
  return out as T;
}

/** Whether `id` could name anything (a VRF's vpn:node is the longest, 127): others are never looked up. */
const possibleId = (id: string) => id.length > 0 && id.length <= 127 && !id.includes('\u0000');

/** Filter values that a query can take: no U+0000, closed sets checked (a filter reaching the database unchecked was a 500). */
function checkFilter(filter: Filter): void {
  const closed: Record<string, readonly string[]> = { role: NODE_ROLES, status: STATUS_STATES };
  for (const [name, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    if (value.includes('\u0000') || value.length > 200) throw invalid([{ pointer: `/${name}`, detail: value.length > 200 ? 'longer than 200 characters' : 'contains U+0000 (NUL)' }]);
    if (closed[name] && !closed[name].includes(value)) throw invalid([{ pointer: `/${name}`, detail: `must be one of ${closed[name].join(', ')}` }]);
  }
}

function pageLimit(page: PageRequest): number {
  if (page.limit !== undefined && page.limit !== 0 && (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_LIMIT)) {
    throw invalid([{ pointer: '/limit', detail: `must be 1 to ${MAX_LIMIT}` }]);
  }
  return page.limit || DEFAULT_LIMIT;
}

class DryRun extends Error {
  constructor(readonly result: WriteResult<unknown>) {
    super('dry run');
  }
}

function checkPrecondition(kind: ResourceKind, current: { version: number } | undefined, p: Precondition | undefined, unless?: Precondition): void {
  if (unless && current && ('any' in unless || unless.versions.includes(current.version))) {
    throw new IntentError('precondition-failed', `${kind} exists at version ${current.version}, which If-None-Match excludes`);
  }
  if (!p) return;
  if (!current) throw new IntentError('precondition-failed', `${kind} does not exist, so If-Match cannot match`);
  if ('versions' in p && !p.versions.includes(current.version)) {
    throw new IntentError('precondition-failed', `${kind} is at version ${current.version}; If-Match named ${p.versions.join(', ')}`);
  }
}

/** Unique and foreign-key violations that slipped past the checks (a concurrent writer) are conflicts. */
export function conflictOf(err: unknown, kind: ResourceKind, id: string, creating: boolean): unknown {
  if (err instanceof UniqueViolation) {
    if (creating && err.onId) return new IntentError('exists', `${kind} '${id}' already exists`, [{ pointer: '/id', detail: `'${id}' is taken` }]);
    return new IntentError('conflict', `a value of this ${kind} is already taken by another resource (${err.detail})`);
  }
  if (err instanceof ReferenceViolation) return new IntentError('conflict', `this ${kind} refers to, or is referred to by, a resource that changed meanwhile; retry`);
  return err;
}

export class IntentService {
  constructor(
    private readonly transactions: IntentTransactions,
    private readonly sink: ChangeSink,
    private readonly routesSource: VrfRoutesSource,
    private readonly log: Logger,
    private readonly planner?: DesiredStatePlanner,
    private readonly sidIndexes?: SidIndexPool,
    /** The PE-CE sessions' states a read of one site shows per access (routes/ce-sessions.ts); absent: not shown. */
    private readonly ceSessions?: SiteSessionsSource,
  ) {}

  async get<K extends ResourceKind>(kind: K, id: string): Promise<ResourceViews[K]> {
    if (!possibleId(id)) throw notFound(kind, id);
    const found = await handlers[kind].read(this.transactions.reads, id);
    if (!found) throw notFound(kind, id);
    if (kind === 'site' && this.ceSessions && (found as SiteView).routing?.bgp) return (await this.ceSessions.withSessions(found as SiteView)) as ResourceViews[K];
    return found as ResourceViews[K];
  }

  async list<K extends ResourceKind>(kind: K, filter: Filter, page: PageRequest): Promise<Page<ResourceViews[K]>> {
    checkFilter(filter);
    const limit = pageLimit(page);
    const rows = await handlers[kind].list(this.transactions.reads, filter, decodeCursor(page.cursor), limit + 1);
    return pageOf(rows as ResourceViews[K][], limit, (r) => r.id);
  }

  async getVrf(id: string, withRoutes = true): Promise<VrfView> {
    if (!possibleId(id)) throw notFound('vrf', id);
    const vrf = await readVrf(this.transactions.reads, id);
    if (!vrf) throw notFound('vrf', id);
    if (withRoutes) vrf.routes = await this.routesSource.routes(vrf);
    return vrf;
  }

  async listVrfs(filter: Filter, page: PageRequest): Promise<Page<VrfView>> {
    checkFilter(filter);
    const limit = pageLimit(page);
    return pageOf(await listVrfs(this.transactions.reads, filter, decodeCursor(page.cursor), limit + 1), limit, (r) => r.id);
  }

  async vrfRoutes(id: string): Promise<RoutesView> {
    return (await this.getVrf(id, true)).routes!;
  }

  create<K extends ResourceKind>(kind: K, body: ResourceSpecs[K], options: WriteOptions = {}): Promise<WriteResult<ResourceViews[K]>> {
    const spec = withoutMeta(body);
    validateResource(kind, spec);
    return this.write(kind, spec.id, 'create', options, () => spec);
  }

  replace<K extends ResourceKind>(kind: K, id: string, body: ResourceSpecs[K], options: WriteOptions = {}): Promise<WriteResult<ResourceViews[K]>> {
    const spec = withoutMeta({ ...body, id: body.id ?? id });
    validateResource(kind, spec);
    if (spec.id !== id) throw invalid([{ pointer: '/id', detail: `must be '${id}', the id in the request's path` }]);
    return this.write(kind, id, 'update', options, () => spec);
  }

  patch<K extends ResourceKind>(kind: K, id: string, patch: Record<string, unknown>, options: WriteOptions = {}): Promise<WriteResult<ResourceViews[K]>> {
    if (!possibleId(id)) return Promise.reject(notFound(kind, id));
    const p = withoutMeta(patch);
    if ('id' in p && p.id !== id) throw invalid([{ pointer: '/id', detail: `cannot be changed (is '${id}')` }]);
    return this.write(kind, id, 'update', options, (current) => {
      const handler = handlers[kind] as unknown as ResourceHandler<K>;
      const base = handler.patchBase ? handler.patchBase(current!) : current!;
      const merged = applyMergePatch(withoutMeta(base), p) as ResourceSpecs[K];
      validateResource(kind, merged);
      return merged;
    });
  }

  /**
   * The operator's revert of a non-revertive site: its primary access (the
   * most preferred) becomes the active one again, and every PE of the site
   * is reconciled so the LOCAL_PREFs follow. Refused (semantic) on a site
   * that has no backups or is revertive (it goes back by itself), and as a
   * conflict while the primary's status is not active (its port down, its PE
   * unreachable, not installed): traffic would be sent where it is dropped.
   */
  async revertSite(id: string): Promise<SiteView> {
    if (!possibleId(id)) throw notFound('site', id);
    let outboxId: bigint | undefined;
    let nodes: string[] = [];
    const site = await this.transactions.write(async (unit) => {
      await unit.lock('site', id);
      const current = await unit.store.sites.read(id);
      if (!current) throw notFound('site', id);
      if (!hasBackups(current)) throw semantic('/revertive', 'only a single-active site with several accesses has a backup to revert from');
      if (current.revertive !== false) throw semantic('/revertive', 'the site is revertive: its traffic returns to the primary access by itself once that is up');
      const primary = current.accesses.find((a) => a.id === primaryAccess(current))!;
      if (primary.status.state !== 'active') {
        throw conflict('/accesses/0/status', `the primary access ${primary.id} (${primary.node} ${primary.interface}) is ${primary.status.state}${primary.status.reason ? `: ${primary.status.reason}` : ''}; traffic can only be reverted to it once it is active`);
      }
      nodes = [...new Set(current.accesses.map((a) => a.node))].sort();
      if (current.activeAccess !== primary.id) {
        await unit.store.sites.setActiveAccess(id, primary.id);
        outboxId = await unit.outbox({ aggregate: 'site', aggregateId: id, action: 'update', nodes, changes: [] });
      }
      return { ...current, activeAccess: primary.id };
    });
    if (outboxId !== undefined) {
      await this.sink.committed(outboxId, nodes).catch((err: Error) => this.log.warn({ err: err.message, outboxId: String(outboxId) }, 'could not queue reconcile jobs after the revert; the outbox relay will'));
      this.log.info({ site: id, to: site.activeAccess }, 'site reverted to its primary access by an operator');
    }
    return site;
  }

  remove(kind: ResourceKind, id: string, options: WriteOptions = {}): Promise<WriteResult<never>> {
    if (!possibleId(id)) return Promise.reject(notFound(kind, id));
    return this.write(kind, id, 'delete', options, () => undefined) as Promise<WriteResult<never>>;
  }

  private async write<K extends ResourceKind>(
    kind: K,
    id: string,
    action: 'create' | 'update' | 'delete',
    options: WriteOptions,
    next: (current: ResourceViews[K] | undefined) => ResourceSpecs[K] | undefined,
  ): Promise<WriteResult<ResourceViews[K]>> {
    const handler = handlers[kind] as unknown as ResourceHandler<K>;
    let outboxId: bigint | undefined;
    let result: WriteResult<ResourceViews[K]>;
    try {
      result = await this.transactions.write(async (unit) => {
        const ctx = new WriteContext(unit.store, this.sidIndexes);
        await unit.lock(kind, id);
        const current = (await handler.read(unit.store, id)) as ResourceViews[K] | undefined;
        if (action === 'create' && current) throw new IntentError('exists', `${kind} '${id}' already exists`, [{ pointer: '/id', detail: `'${id}' is taken` }]);
        if (action !== 'create' && !current) throw notFound(kind, id);
        checkPrecondition(kind, current, options.precondition, options.unlessMatch);
        const spec = next(current);
        if (spec) await handler.save(ctx, spec, current);
        else await handler.remove(ctx, current!);
        const resource = spec ? ((await handler.read(unit.store, id)) as ResourceViews[K]) : undefined;
        const r: WriteResult<ResourceViews[K]> = {
          dryRun: Boolean(options.dryRun),
          changes: ctx.changes,
          affectedNodes: [...ctx.nodes].sort(),
          ...(resource ? { resource } : {}),
        };
        if (options.dryRun) {
          const vpnIds = r.changes.filter((c) => c.kind === 'vpn').map((c) => c.id);
          if (this.planner) Object.assign(r, await this.planner.plan(unit.plans, r.affectedNodes, vpnIds));
          throw new DryRun(r);
        }
        outboxId = await unit.outbox({ aggregate: kind, aggregateId: id, action, nodes: r.affectedNodes, changes: r.changes, resource });
        return r;
      });
    } catch (err) {
      if (err instanceof DryRun) return err.result as WriteResult<ResourceViews[K]>;
      throw conflictOf(err, kind, id, action === 'create');
    }
    if (outboxId !== undefined) {
      try {
        await this.sink.committed(outboxId, result.affectedNodes, { settle: kind === 'node' || kind === 'link' });
      } catch (err) {
        // Committed; the outbox relay will queue the reconcile.
        this.log.warn({ err: (err as Error).message, outboxId: String(outboxId) }, 'could not queue reconcile jobs after commit; the outbox relay will');
      }
    }
    return result;
  }
}
