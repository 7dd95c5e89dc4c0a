// Prometheus metrics: every service registers its series in a registry of
// its own, labelled with the service's name; the process's ops listener
// serves them together (`l3vpn all` runs four services in one process).
import { collectDefaultMetrics, Registry } from 'prom-client';

export function serviceRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  return registry;
}

/** The process's own series (CPU, memory, event loop lag, open handles), once per listener. */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Joins expositions of several registries into one, so that a family two
 * services both have (e.g. gRPC call durations) appears once, with its HELP
 * and TYPE, followed by the samples of each (told apart by `service`).
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { header: string[]; samples: string[] }>();
  for (const text of texts) {
    let current: { header: string[]; samples: string[] } | undefined;
    for (const line of text.split('\n')) {
      if (!line) continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        const name = meta[2]!;
        current = families.get(name);
        if (!current) families.set(name, (current = { header: [], samples: [] }));
        if (current.header.length < 2 && !current.header.some((h) => h.startsWith(`# ${meta[1]} `))) current.header.push(line);
        continue;
      }
      if (line.startsWith('#') || !current) continue;
      current.samples.push(line);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) out.push(...f.header, ...f.samples);
  return out.join('\n') + '\n';
}
