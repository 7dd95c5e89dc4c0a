// Query filters the intent lists share, as the store turns them into Prisma conditions.
import type { Filter } from '../intent/handler.js';

type DbStatus = 'PENDING' | 'PROVISIONING' | 'ACTIVE' | 'FAILED' | 'DEGRADED' | 'DOWN' | 'UNREACHABLE';

export const statusWhere = (filter: Filter) => (filter.status ? { status: filter.status.toUpperCase() as DbStatus } : {});

export const afterWhere = (after: string | undefined) => (after ? { id: { gt: after } } : {});
