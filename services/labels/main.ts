// The labels service: MPLS label spaces per node, RD and RT pools, over gRPC.
import { ConfigError, type SettingSpec, type Settings } from '../common/config.js';
import { openDatabase } from '../common/db/client.js';
import { startGrpcServer } from '../common/grpc/server.js';
import type { Logger } from '../common/logger.js';
import type { RunningService, StartOptions } from '../common/service.js';
import { serviceAuth, serviceAuthSettings } from '../common/auth/service-auth.js';
import { labelsGrpcService } from './grpc-api.js';
import { IdentifierAllocator } from './identifier-allocator.js';
import { LabelAllocator } from './label-allocator.js';
import { LabelSpaceError, parseLabelRange, validateLabelRange, validateSrgb, type NodeLabelSpaces } from './label-space.js';
import { PoolStore } from './pool-store.js';
import { PoolWriter } from './pool-writer.js';
import { labelsMetrics } from './metrics.js';
import { tlsMaterial } from '../common/tls.js';

export const labelsSettings: SettingSpec[] = [
  { key: 'labels.listen', type: 'string', default: '0.0.0.0:50061', description: 'gRPC listen address of the labels service' },
  {
    key: 'labels.hold-down-seconds',
    type: 'integer',
    default: 60,
    min: 0,
    max: 86_400,
    description: 'how long a released label, RD or RT is held before it can be reused',
  },
  { key: 'labels.dynamic-range', type: 'string', default: '16-1048575', description: "default dynamic label range of a node" },
  { key: 'labels.srgb', type: 'string', default: '16000-23999', description: 'default SRGB of a node (first-last label)' },
  {
    key: 'labels.max-batch',
    type: 'integer',
    default: 20_000,
    min: 1,
    max: 1_000_000,
    description: 'most allocations written in one transaction',
  },
  ...serviceAuthSettings,
];

export function labelDefaults(settings: Settings): NodeLabelSpaces {
  try {
    return parseDefaults(settings);
  } catch (err) {
    if (err instanceof LabelSpaceError) throw new ConfigError(`${err.field}: ${err.message}`);
    throw err;
  }
}

function parseDefaults(settings: Settings): NodeLabelSpaces {
  const dynamic = parseLabelRange(String(settings['labels.dynamic-range']), 'labels.dynamic-range');
  validateLabelRange(dynamic, 'labels.dynamic-range');
  const srgbRange = parseLabelRange(String(settings['labels.srgb']), 'labels.srgb');
  const srgb = { base: srgbRange.min, size: srgbRange.max - srgbRange.min + 1 };
  validateSrgb(srgb, 'labels.srgb');
  return { dynamic, srgb, holdDownMs: Number(settings['labels.hold-down-seconds']) * 1000 };
}

export async function startLabels(settings: Settings, log: Logger, options: StartOptions = {}): Promise<RunningService> {
  const defaults = labelDefaults(settings);
  const auth = options.auth ?? serviceAuth(settings);
  const tls = tlsMaterial(settings);
  const db = openDatabase(String(settings['database.url']), Number(settings['database.pool-size']), (err) =>
    log.warn({ err: err.message }, 'idle database connection lost; it will be replaced'),
  );
  const store = new PoolStore(db.pool);
  const writer = new PoolWriter(store, log, {
    concurrency: Math.max(1, Math.floor(Number(settings['database.pool-size']) / 2)),
    maxOps: Number(settings['labels.max-batch']),
    maxPools: 64,
  });
  const labels = new LabelAllocator(db.prisma, store, writer, defaults);
  const identifiers = new IdentifierAllocator(db.prisma, store, writer, defaults.holdDownMs);
  const metrics = labelsMetrics(db.pool);
  const grpc = await startGrpcServer({
    listen: String(settings['labels.listen']),
    services: [labelsGrpcService({ labels, identifiers, log })],
    log,
    tls,
    metrics,
    callers: auth.callers,
  });
  log.info({ defaults }, 'labels service ready');
  return {
    name: 'labels',
    grpcPort: grpc.port,
    metrics,
    checks: [{ name: 'database', check: async () => void (await db.pool.query('SELECT 1')) }],
    stop: async (graceMs) => {
      await grpc.stop(graceMs);
      await db.close();
    },
  };
}
