// The operations listener of a process (ops.address): GET /healthz (the
// process answers), /readyz (every dependency of every service in it
// answers; 503 naming the failing checks) and /metrics (Prometheus text
// format). Plain HTTP, separate from the APIs, for probes and scrapers.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { mergeExpositions, processRegistry } from './metrics.js';

export interface ReadinessCheck {
  /** What is checked, e.g. "database", "redis", "bgp-listener". */
  name: string;
  /** Resolves when ready; rejects (or times out) with the reason otherwise. */
  check(): Promise<void>;
}

export interface OpsSource {
  name: string;
  metrics?: Registry;
  checks?: ReadinessCheck[];
}

export interface RunningOps {
  port: number;
  close(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2000;

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function readiness(sources: readonly OpsSource[]): Promise<{ ready: boolean; checks: Record<string, string>; failing: string[] }> {
  const all = sources.flatMap((s) => (s.checks ?? []).map((c) => ({ name: `${s.name}.${c.name}`, check: c.check })));
  const results = await Promise.all(
    all.map(async (c) => {
      try {
        await withTimeout(c.check(), CHECK_TIMEOUT_MS);
        return [c.name, 'ok'] as const;
      } catch (err) {
        return [c.name, (err as Error).message || 'failed'] as const;
      }
    }),
  );
  const failing = results.filter(([, r]) => r !== 'ok').map(([n]) => n);
  return { ready: failing.length === 0, checks: Object.fromEntries(results), failing };
}

function parseAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m || Number(m[3]) > 65535) throw new Error(`ops.address: '${address}' is not HOST:PORT`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

export async function startOpsServer(options: { address: string; sources: readonly OpsSource[]; log: Logger }): Promise<RunningOps> {
  const { sources, log } = options;
  const own = processRegistry();
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'only GET' });
    switch (path) {
      case '/healthz':
        return json(res, 200, { status: 'ok' });
      case '/readyz': {
        const r = await readiness(sources);
        if (!r.ready) log.warn({ failing: r.failing, checks: r.checks }, 'not ready');
        return json(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', failing: r.failing, checks: r.checks });
      }
      case '/metrics': {
        const registries = [own, ...sources.flatMap((s) => (s.metrics ? [s.metrics] : []))];
        const text = mergeExpositions(await Promise.all(registries.map((r) => r.metrics())));
        res.writeHead(200, { 'content-type': own.contentType });
        return res.end(text);
      }
      default:
        return json(res, 404, { error: `no ${path}; try /healthz, /readyz or /metrics` });
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'ops request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
  });
  const { host, port } = parseAddress(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as { port: number }).port;
  log.info({ address: options.address, port: bound }, 'ops listener (/healthz, /readyz, /metrics)');
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
