// Route distinguishers (RFC 4364 §4.2) and route targets (RFC 4360 §4) from
// per-administrator pools: the pool of administrator 65000 hands out
// 65000:1, 65000:2, ...; the form (RD type 0/1/2) follows from the
// administrator, and the assigned number's width from the form.
import type { PrismaClient } from '../common/gen/prisma/client.js';
import { failedPrecondition, invalidArgument, notFound } from '../common/grpc/errors.js';
import {
  AdministeredValueError,
  assignedMax,
  formatAdministeredValue,
  formatAdministrator,
  parseAdministeredValue,
  parseAdministrator,
  type AdministeredForm,
} from '../common/vpn/administered-value.js';
import type { Holding, PoolOp } from './pool-plan.js';
import type { PoolKey, PoolSettings, PoolStore } from './pool-store.js';
import type { PoolWriter } from './pool-writer.js';
import { planErrorToApi, usageOf, type Usage } from './pool-usage.js';

export type IdentifierType = 'RD' | 'RT';

export interface IdentifierView {
  /** Printed form, e.g. "65000:100". */
  value: string;
  form: AdministeredForm;
  owner: string;
  held: boolean;
  allocatedAt: Date;
  reusableAt: Date | null;
}

export interface PoolView {
  type: IdentifierType;
  administrator: string;
  min: number;
  max: number;
  holdDownMs: number;
  usage: Usage;
}

const NAMES: Record<IdentifierType, string> = { RD: 'route distinguisher', RT: 'route target' };
const PURPOSE: Record<IdentifierType, string> = { RD: 'rd', RT: 'rt' };

interface Administrator {
  form: AdministeredForm;
  administrator: number;
  scope: string;
}

function administratorOf(text: string, field: string): Administrator {
  try {
    const { form, administrator } = parseAdministrator(text.trim());
    return { form, administrator, scope: formatAdministrator(form, administrator) };
  } catch (err) {
    if (err instanceof AdministeredValueError) {
      throw invalidArgument(field, `${err.message}; expected an AS number (65000, 4200000000) or an IPv4 address`);
    }
    throw err;
  }
}

export class IdentifierAllocator {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly store: PoolStore,
    private readonly writer: PoolWriter,
    private readonly holdDownMs: number,
  ) {}

  private defaults(admin: Administrator): PoolSettings {
    return { min: 1, max: assignedMax(admin.form), base: 0, holdDownMs: this.holdDownMs };
  }

  private view(admin: Administrator, h: Holding): IdentifierView {
    return {
      value: formatAdministeredValue({ form: admin.form, administrator: admin.administrator, assigned: h.value }),
      form: admin.form,
      owner: h.owner,
      held: h.reusableAt !== null,
      allocatedAt: h.allocatedAt,
      reusableAt: h.reusableAt,
    };
  }

  /** From the administrator's pool, or the given value when there is one (it must be free or the owner's already). */
  async allocate(type: IdentifierType, owner: string, administratorText: string, valueText: string): Promise<IdentifierView> {
    let admin: Administrator;
    let op: PoolOp;
    if (valueText) {
      let parsed;
      try {
        parsed = parseAdministeredValue(valueText);
      } catch (err) {
        if (err instanceof AdministeredValueError) throw invalidArgument('value', `${NAMES[type]} ${err.message}`);
        throw err;
      }
      admin = { form: parsed.form, administrator: parsed.administrator, scope: formatAdministrator(parsed.form, parsed.administrator) };
      if (administratorText && administratorOf(administratorText, 'administrator').scope !== admin.scope) {
        throw invalidArgument('administrator', `'${administratorText}' does not match the administrator of value '${valueText}'`);
      }
      op = { op: 'allocate', owner, purpose: PURPOSE[type], value: parsed.assigned };
    } else {
      if (!administratorText) throw invalidArgument('administrator', 'is required when no value is given');
      admin = administratorOf(administratorText, 'administrator');
      op = { op: 'allocate', owner, purpose: PURPOSE[type] };
    }
    const key: PoolKey = { kind: type, scope: admin.scope };
    // A given value may be any the form can carry, not only the pool's range.
    const { result } = await this.writer.submit(key, this.defaults(admin), [op], [0, assignedMax(admin.form)]);
    if (!result.ok) throw planErrorToApi(result.error);
    return this.view(admin, result.results[0]!);
  }

  /** Releases the owner's value in one administrator's pool, or in all of them when none is named. */
  async release(type: IdentifierType, owner: string, administratorText: string): Promise<IdentifierView[]> {
    const scopes = administratorText
      ? [administratorOf(administratorText, 'administrator').scope]
      : (
          await this.prisma.allocation.findMany({
            where: { owner, pool: { kind: type } },
            select: { pool: { select: { scope: true } } },
          })
        ).map((r) => r.pool.scope);
    const out: IdentifierView[] = [];
    for (const scope of scopes) {
      const admin = administratorOf(scope, 'administrator');
      const { result } = await this.writer.submit({ kind: type, scope }, this.defaults(admin), [{ op: 'release', owner }]);
      if (!result.ok) throw planErrorToApi(result.error);
      const h = result.results[0];
      if (h) out.push(this.view(admin, h));
    }
    return out;
  }

  async list(
    type: IdentifierType,
    filter: { administrator?: string; ownerPrefix?: string },
    pageSize: number,
    after?: { scope: string; value: number },
  ): Promise<{ items: IdentifierView[]; next?: { scope: string; value: number } }> {
    const scope = filter.administrator ? administratorOf(filter.administrator, 'administrator').scope : undefined;
    const rows = await this.prisma.allocation.findMany({
      where: {
        pool: { kind: type, ...(scope ? { scope } : {}) },
        ...(filter.ownerPrefix ? { owner: { startsWith: filter.ownerPrefix } } : {}),
        ...(after
          ? {
              OR: [
                { pool: { scope: { gt: after.scope } } },
                { pool: { scope: after.scope }, value: { gt: BigInt(after.value) } },
              ],
            }
          : {}),
      },
      orderBy: [{ pool: { scope: 'asc' } }, { value: 'asc' }],
      take: pageSize + 1,
      include: { pool: { select: { scope: true } } },
    });
    const page = rows.slice(0, pageSize);
    const items = page.map((r) =>
      this.view(administratorOf(r.pool.scope, 'administrator'), {
        value: Number(r.value),
        owner: r.owner,
        purpose: r.purpose,
        allocatedAt: r.allocatedAt,
        releasedAt: r.releasedAt,
        reusableAt: r.reusableAt,
      }),
    );
    const last = page.at(-1);
    return rows.length > pageSize && last ? { items, next: { scope: last.pool.scope, value: Number(last.value) } } : { items };
  }

  /** Sets the range of numbers an administrator's pool hands out; numbers in use must stay inside it. */
  async configurePool(
    type: IdentifierType,
    administratorText: string,
    range: { min?: number; max?: number },
    holdDownMs?: number,
  ): Promise<PoolView> {
    if (!administratorText) throw invalidArgument('administrator', 'is required');
    const admin = administratorOf(administratorText, 'administrator');
    const key: PoolKey = { kind: type, scope: admin.scope };
    const limit = assignedMax(admin.form);
    const min = range.min || 1;
    const max = range.max || limit;
    if (max > limit) throw invalidArgument('max', `${max} does not fit the ${limit === 0xffff ? '2' : '4'}-octet assigned number of this administrator (max ${limit})`);
    if (min > max) throw invalidArgument('min', `${min} is above max ${max}`);
    await this.store.ensurePool(key, this.defaults(admin));
    const pool = await this.store.transaction(async (db) => {
      const p = await this.store.lockPool(db, key);
      if (!p) throw notFound(`no ${NAMES[type]} pool for ${admin.scope}`);
      // Given values may lie outside the range; only those handed out from it must stay inside.
      const {
        rows: [outside],
      } = await db.query<{ n: number }>(
        `SELECT count(*) AS n FROM allocation WHERE pool_id = $1 AND value BETWEEN $2 AND $3 AND (value < $4 OR value > $5)`,
        [p.id, p.min, p.nextValue - 1, min, max],
      );
      if (outside && outside.n > 0) {
        throw failedPrecondition(`${outside.n} ${NAMES[type]}(s) handed out from ${admin.scope}'s pool would fall outside ${min}-${max}`);
      }
      const updated = {
        min,
        max,
        base: 0,
        holdDownMs: holdDownMs ?? p.holdDownMs,
        nextValue: p.nextValue < min || p.nextValue > max + 1 ? min : p.nextValue,
      };
      await this.store.updatePool(db, p.id, updated);
      return { id: p.id, ...updated };
    });
    return {
      type,
      administrator: admin.scope,
      min,
      max,
      holdDownMs: pool.holdDownMs,
      usage: await usageOf(this.store.db, pool.id, max - min + 1),
    };
  }
}
