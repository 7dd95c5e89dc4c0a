import { status } from '@grpc/grpc-js';
import type { Queryable } from '../common/db/sql.js';
import { ApiError } from '../common/grpc/errors.js';
import type { PlanError } from './pool-plan.js';

export interface Usage {
  size: number;
  allocated: number;
  held: number;
  free: number;
}

/** Counts of a pool whose usable size (after reserved blocks) is `size`. */
export async function usageOf(db: Queryable, poolId: number | bigint, size: number): Promise<Usage> {
  const {
    rows: [row],
  } = await db.query<{ allocated: number; held: number }>(
    `SELECT count(*) FILTER (WHERE reusable_at IS NULL) AS allocated,
            count(*) FILTER (WHERE reusable_at > now()) AS held
       FROM allocation WHERE pool_id = $1`,
    [poolId],
  );
  const allocated = Number(row?.allocated ?? 0);
  const held = Number(row?.held ?? 0);
  return { size, allocated, held, free: Math.max(0, size - allocated - held) };
}

const CODES: Record<PlanError['code'], status> = {
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  OUT_OF_RANGE: status.OUT_OF_RANGE,
};

export function planErrorToApi(error: PlanError): ApiError {
  return new ApiError(CODES[error.code], error.message);
}
