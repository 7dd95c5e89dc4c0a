// MPLS labels per managed node: a dynamic range and an SRGB, each a pool.
import { status } from '@grpc/grpc-js';
import type { PrismaClient } from '../common/gen/prisma/client.js';
import { LabelKind } from '../common/gen/proto/l3vpn/v1/labels.js';
import { ApiError, failedPrecondition, invalidArgument, notFound } from '../common/grpc/errors.js';
import { kindOf, purposeOf, usesSrgb } from './label-kind.js';
import {
  srgbOverlap,
  srgbRange,
  validateLabelRange,
  validateSrgb,
  type LabelRange,
  type NodeLabelSpaces,
  type SrgbBlock,
} from './label-space.js';
import type { Holding, PoolOp, UnitResult } from './pool-plan.js';
import type { PoolKey, PoolSettings, PoolSnapshot, PoolStore } from './pool-store.js';
import type { PoolWriter } from './pool-writer.js';
import { planErrorToApi, usageOf, type Usage } from './pool-usage.js';
import { quoteId } from '../common/quote.js';

export interface LabelView {
  node: string;
  label: number;
  owner: string;
  kind: LabelKind;
  held: boolean;
  sidIndex?: number;
  allocatedAt: Date;
  reusableAt: Date | null;
}

export interface LabelRequest {
  owner: string;
  kind: LabelKind;
  sidIndex?: number;
}

export interface NodeSpacesView extends NodeLabelSpaces {
  node: string;
  dynamicUsage: Usage;
  srgbUsage: Usage;
}

const dynamicKey = (node: string): PoolKey => ({ kind: 'LABEL', scope: node });
const srgbKey = (node: string): PoolKey => ({ kind: 'SRGB', scope: node });

export class LabelAllocator {
  /** Nodes whose pools are known to exist (pools are never deleted), so the common path skips ensureNode. */
  private readonly knownNodes = new Set<string>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly store: PoolStore,
    private readonly writer: PoolWriter,
    private readonly defaults: NodeLabelSpaces,
  ) {}

  private dynamicDefaults(): PoolSettings {
    return { min: this.defaults.dynamic.min, max: this.defaults.dynamic.max, base: 0, holdDownMs: this.defaults.holdDownMs };
  }

  private srgbDefaults(): PoolSettings {
    return { min: 0, max: this.defaults.srgb.size - 1, base: this.defaults.srgb.base, holdDownMs: this.defaults.holdDownMs };
  }

  /** Both pools of a node are created together, so the dynamic range always knows the SRGB to step around. */
  private async ensureNode(node: string): Promise<void> {
    await this.store.transaction(async (db) => {
      await this.store.ensurePool(srgbKey(node), this.srgbDefaults(), db);
      await this.store.ensurePool(dynamicKey(node), this.dynamicDefaults(), db);
    });
  }

  private view(node: string, pool: PoolSnapshot, srgb: boolean, h: Holding): LabelView {
    const v: LabelView = {
      node,
      label: srgb ? pool.base + h.value : h.value,
      owner: h.owner,
      kind: kindOf(h.purpose),
      held: h.reusableAt !== null,
      allocatedAt: h.allocatedAt,
      reusableAt: h.reusableAt,
    };
    if (srgb) v.sidIndex = h.value;
    return v;
  }

  private async submit(node: string, srgb: boolean, ops: PoolOp[]): Promise<{ pool: PoolSnapshot; result: UnitResult }> {
    if (!this.knownNodes.has(node)) {
      await this.ensureNode(node);
      if (this.knownNodes.size > 100_000) this.knownNodes.clear();
      this.knownNodes.add(node);
    }
    return this.writer.submit(srgb ? srgbKey(node) : dynamicKey(node), srgb ? this.srgbDefaults() : this.dynamicDefaults(), ops);
  }

  /** Labels for many owners of one node; each space's part is all-or-nothing. Results in request order. */
  async allocate(node: string, requests: readonly LabelRequest[]): Promise<LabelView[]> {
    const parts = { dynamic: [] as number[], srgb: [] as number[] };
    const ops: PoolOp[] = requests.map((r, i) => {
      const purpose = purposeOf(r.kind);
      if (!purpose) throw invalidArgument(`requests[${i}].kind`, 'must be one of VRF, PREFIX, CE, NODE_SID, TRANSPORT');
      if (r.sidIndex !== undefined && !usesSrgb(r.kind)) {
        throw invalidArgument(`requests[${i}].sid_index`, 'is only for NODE_SID labels');
      }
      (usesSrgb(r.kind) ? parts.srgb : parts.dynamic).push(i);
      return r.sidIndex === undefined
        ? { op: 'allocate', owner: r.owner, purpose }
        : { op: 'allocate', owner: r.owner, purpose, value: r.sidIndex };
    });
    const out: LabelView[] = new Array(requests.length);
    for (const srgb of [false, true]) {
      const indices = srgb ? parts.srgb : parts.dynamic;
      if (indices.length === 0) continue;
      const { pool, result } = await this.submit(node, srgb, indices.map((i) => ops[i]!));
      if (!result.ok) throw planErrorToApi(result.error);
      result.results.forEach((h, j) => (out[indices[j]!] = this.view(node, pool, srgb, h!)));
    }
    return out;
  }

  /** Puts owners' labels into hold-down; owners holding nothing are skipped. */
  async release(node: string, owners: readonly string[]): Promise<LabelView[]> {
    if (owners.length === 0) return [];
    const held = await this.prisma.allocation.findMany({
      where: { owner: { in: [...owners] }, pool: { scope: node, kind: { in: ['LABEL', 'SRGB'] } } },
      select: { owner: true, pool: { select: { kind: true } } },
    });
    const out: LabelView[] = [];
    for (const srgb of [false, true]) {
      const mine = held.filter((h) => (h.pool.kind === 'SRGB') === srgb).map((h) => h.owner);
      if (mine.length === 0) continue;
      const { pool, result } = await this.submit(node, srgb, mine.map((owner) => ({ op: 'release', owner })));
      if (!result.ok) throw planErrorToApi(result.error);
      for (const h of result.results) if (h) out.push(this.view(node, pool, srgb, h));
    }
    return out;
  }

  async get(node: string, key: { owner: string } | { label: number }): Promise<LabelView> {
    const spaces = await this.spaces(node);
    let where;
    if ('owner' in key) {
      where = { owner: key.owner, pool: { scope: node, kind: { in: ['LABEL' as const, 'SRGB' as const] } } };
    } else {
      const range = srgbRange(spaces.srgb);
      const inSrgb = key.label >= range.min && key.label <= range.max;
      where = inSrgb
        ? { value: BigInt(key.label - spaces.srgb.base), pool: { scope: node, kind: 'SRGB' as const } }
        : { value: BigInt(key.label), pool: { scope: node, kind: 'LABEL' as const } };
    }
    const row = await this.prisma.allocation.findFirst({ where, include: { pool: true } });
    if (!row) throw notFound(`node ${quoteId(node)} has no label ${'owner' in key ? `for owner '${quoteId(key.owner)}'` : key.label}`);
    return this.rowView(node, row);
  }

  private rowView(
    node: string,
    row: { value: bigint; owner: string; purpose: string; allocatedAt: Date; releasedAt: Date | null; reusableAt: Date | null; pool: { kind: string; base: bigint } },
  ): LabelView {
    const srgb = row.pool.kind === 'SRGB';
    const h: Holding = {
      value: Number(row.value),
      owner: row.owner,
      purpose: row.purpose,
      allocatedAt: row.allocatedAt,
      releasedAt: row.releasedAt,
      reusableAt: row.reusableAt,
    };
    const base = Number(row.pool.base);
    return this.view(node, { base } as PoolSnapshot, srgb, h);
  }

  /** Labels of a node in label order; `after` is the last label of the previous page. */
  async list(
    node: string,
    filter: { kind?: LabelKind; held?: boolean; ownerPrefix?: string },
    pageSize: number,
    after?: { pool: 'LABEL' | 'SRGB'; value: number },
  ): Promise<{ labels: LabelView[]; next?: { pool: 'LABEL' | 'SRGB'; value: number } }> {
    const purpose = filter.kind ? purposeOf(filter.kind) : undefined;
    const out: LabelView[] = [];
    let last: { pool: 'LABEL' | 'SRGB'; value: number } | undefined;
    // The dynamic pool's labels first, then the SRGB's. One row more than a
    // page is read, so a full page knows whether another follows.
    for (const kind of ['LABEL', 'SRGB'] as const) {
      if (after?.pool === 'SRGB' && kind === 'LABEL') continue;
      if (purpose && (purpose === 'node-sid') !== (kind === 'SRGB')) continue;
      const rows = await this.prisma.allocation.findMany({
        where: {
          pool: { scope: node, kind },
          ...(purpose ? { purpose } : {}),
          ...(filter.ownerPrefix ? { owner: { startsWith: filter.ownerPrefix } } : {}),
          ...(filter.held === true ? { reusableAt: { not: null } } : filter.held === false ? { reusableAt: null } : {}),
          ...(after?.pool === kind ? { value: { gt: BigInt(after.value) } } : {}),
        },
        orderBy: { value: 'asc' },
        take: pageSize - out.length + 1,
        include: { pool: true },
      });
      for (const row of rows) {
        if (out.length === pageSize) return { labels: out, next: last! };
        out.push(this.rowView(node, row));
        last = { pool: kind, value: Number(row.value) };
      }
    }
    return { labels: out };
  }

  /** A node's spaces with usage; a node never allocated from shows the defaults it would get (reading creates nothing). */
  async spaces(node: string): Promise<NodeSpacesView> {
    const pools = await this.prisma.pool.findMany({ where: { scope: node, kind: { in: ['LABEL', 'SRGB'] } } });
    const dyn = pools.find((p) => p.kind === 'LABEL');
    const srgbPool = pools.find((p) => p.kind === 'SRGB');
    const dynamic = dyn ? { min: Number(dyn.min), max: Number(dyn.max) } : this.defaults.dynamic;
    const srgb = srgbPool ? { base: Number(srgbPool.base), size: Number(srgbPool.max) + 1 } : this.defaults.srgb;
    const dynamicSize = dynamic.max - dynamic.min + 1 - srgbOverlap(dynamic, srgb);
    const unused = (size: number): Usage => ({ size, allocated: 0, held: 0, free: size });
    const [dynamicUsage, srgbUsage] = await Promise.all([
      dyn ? usageOf(this.store.db, dyn.id, dynamicSize) : unused(dynamicSize),
      srgbPool ? usageOf(this.store.db, srgbPool.id, srgb.size) : unused(srgb.size),
    ]);
    return { node, dynamic, srgb, holdDownMs: dyn?.holdDownMs ?? this.defaults.holdDownMs, dynamicUsage, srgbUsage };
  }

  /**
   * Changes a node's spaces. Every label already handed out must stay inside
   * its space, and the SRGB may not cover a dynamic label in use.
   */
  async configure(
    node: string,
    change: { dynamic?: LabelRange; srgb?: SrgbBlock; holdDownMs?: number },
  ): Promise<NodeSpacesView> {
    if (change.dynamic) validateLabelRange(change.dynamic, 'dynamic_range');
    if (change.srgb) validateSrgb(change.srgb, 'srgb');
    await this.ensureNode(node);
    await this.store.transaction(async (db) => {
      const dyn = await this.store.lockPool(db, dynamicKey(node));
      const sr = await this.store.lockPool(db, srgbKey(node));
      if (!dyn || !sr) throw new ApiError(status.ABORTED, `label spaces of ${quoteId(node)} vanished; try again`);
      const dynamic = change.dynamic ?? { min: dyn.min, max: dyn.max };
      const srgb = change.srgb ?? { base: sr.base, size: sr.max + 1 };
      const s = srgbRange(srgb);
      const {
        rows: [outside],
      } = await db.query<{ n: number; lo: number | null; hi: number | null }>(
        `SELECT count(*) AS n, min(value) AS lo, max(value) AS hi FROM allocation
          WHERE pool_id = $1 AND (value < $2 OR value > $3 OR value BETWEEN $4 AND $5)`,
        [dyn.id, dynamic.min, dynamic.max, s.min, s.max],
      );
      if (outside && outside.n > 0) {
        throw failedPrecondition(
          `node ${quoteId(node)}: ${outside.n} dynamic label(s) in use (${outside.lo}-${outside.hi}) would fall outside dynamic_range ${dynamic.min}-${dynamic.max} or inside the SRGB ${s.min}-${s.max}; release them first`,
        );
      }
      const {
        rows: [sids],
      } = await db.query<{ n: number }>(`SELECT count(*) AS n FROM allocation WHERE pool_id = $1 AND value >= $2`, [sr.id, srgb.size]);
      if (sids && sids.n > 0) {
        throw failedPrecondition(`node ${quoteId(node)}: ${sids.n} node SID index(es) in use are >= the new SRGB size ${srgb.size}`);
      }
      const holdDownMs = change.holdDownMs ?? dyn.holdDownMs;
      // Sequential allocation restarts at the bottom of a moved range; values in use are stepped over.
      await this.store.updatePool(db, dyn.id, {
        min: dynamic.min,
        max: dynamic.max,
        base: 0,
        holdDownMs,
        nextValue: dyn.nextValue < dynamic.min || dyn.nextValue > dynamic.max + 1 ? dynamic.min : dyn.nextValue,
      });
      await this.store.updatePool(db, sr.id, {
        min: 0,
        max: srgb.size - 1,
        base: srgb.base,
        holdDownMs,
        nextValue: Math.min(sr.nextValue, srgb.size),
      });
    });
    return this.spaces(node);
  }
}
