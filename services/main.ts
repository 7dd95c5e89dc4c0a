// The l3vpn binary: `l3vpn <command> [--config FILE] [--print-config]`.
import { parseArgs } from 'node:util';
import {
  commonSettings,
  ConfigError,
  databaseSettings,
  formatSettings,
  loadSettings,
  redactUrl,
  type SettingSpec,
  type Settings,
} from './common/config.js';
import { onShutdownSignal } from './common/lifecycle.js';
import { createLogger, type Logger } from './common/logger.js';
import type { RunningOps } from './common/ops/server.js';
import type { RunningService, StartOptions } from './common/service.js';
import type { ServiceAuth } from './common/auth/service-auth.js';
import { CLIENT_COMMANDS } from './cli/command-list.js';
interface Command {
  summary: string;
  settings(): Promise<SettingSpec[]>;
  run(settings: Settings, log: Logger): Promise<RunningService[] | void>;
}

interface ServiceModule {
  settings: SettingSpec[];
  start: (s: Settings, log: Logger, options?: StartOptions) => Promise<RunningService>;
}

interface ServiceEntry {
  /** Keeps state in PostgreSQL: gets the database settings, and migrations run before it starts. */
  usesDatabase: boolean;
  /**
   * A service's code is loaded only when it runs (or its settings are
   * printed): `l3vpn bgp` never pays for fastify, Prisma or the agent's drivers.
   */
  load(): Promise<ServiceModule>;
}

const services: Record<string, ServiceEntry> = {
  labels: {
    usesDatabase: true,
    load: async () => {
      const m = await import('./labels/main.js');
      return { settings: m.labelsSettings, start: m.startLabels };
    },
  },
  bgp: {
    usesDatabase: false,
    load: async () => {
      const m = await import('./bgp/main.js');
      return { settings: m.bgpSettings, start: m.startBgp };
    },
  },
  vpn: {
    usesDatabase: true,
    load: async () => {
      const m = await import('./vpn/main.js');
      return { settings: [...m.vpnSettings, ...m.redisSettings], start: m.startVpn };
    },
  },
  agent: {
    usesDatabase: false,
    load: async () => {
      const m = await import('./agent/main.js');
      return { settings: m.agentSettings, start: m.startAgent };
    },
  },
};

async function settingsOf(entries: ServiceEntry[]): Promise<SettingSpec[]> {
  const modules = await Promise.all(entries.map((e) => e.load()));
  const specs = [...commonSettings, ...(entries.some((e) => e.usesDatabase) ? databaseSettings : []), ...modules.flatMap((m) => m.settings)];
  // Settings several services share (auth.*) once.
  return specs.filter((spec, i) => specs.findIndex((o) => o.key === spec.key) === i);
}

/**
 * In `l3vpn all` the labels and bgp gRPC servers only answer the vpn
 * service beside them and a local operator: loopback unless configured.
 * (The vpn service's own listeners serve agents and OSS, as configured.)
 */
const ALL_LOOPBACK: Record<string, string> = { 'labels.listen': '127.0.0.1:50061', 'bgp.grpc-listen': '127.0.0.1:50062' };

const operatorSecretSetting: SettingSpec = {
  key: 'auth.operator-secret-file',
  type: 'string',
  default: '',
  description:
    "`l3vpn all` without auth.* files: where it keeps the secret of principal operator:local (read-only calls to labels and bgp, as authorization: Bearer <secret>), mode 0600, reused while it is there; empty: .l3vpn/operator-secret in the project folder",
};

async function allSettings(): Promise<SettingSpec[]> {
  const specs = (await settingsOf(Object.values(services))).map((spec) =>
    spec.key in ALL_LOOPBACK ? { ...spec, default: ALL_LOOPBACK[spec.key]!, description: `${spec.description} (\`l3vpn all\`: loopback unless set)` } : spec,
  );
  return [...specs, operatorSecretSetting];
}

/**
 * The callers `l3vpn all` accepts: the auth.* files when set, otherwise
 * secrets made now, the vpn service's in memory and the operator's in
 * auth.operator-secret-file.
 */
async function allAuth(settings: Settings, log: Logger): Promise<ServiceAuth> {
  const { authConfigured, serviceAuth } = await import('./common/auth/service-auth.js');
  if (authConfigured(settings)) return serviceAuth(settings);
  const { keptSecret, localAuth, LOCAL_OPERATOR } = await import('./common/auth/local-secrets.js');
  const { newSecret } = await import('./common/auth/callers.js');
  const { join } = await import('node:path');
  const { projectRoot } = await import('./common/project-root.js');
  const file = String(settings['auth.operator-secret-file'] ?? '').trim() || join(projectRoot(), '.l3vpn', 'operator-secret');
  let operator: string;
  try {
    operator = keptSecret(file);
    log.info({ principal: LOCAL_OPERATOR, file }, 'operator secret for the labels and bgp gRPC APIs (authorization: Bearer <contents>)');
  } catch (err) {
    // The services work without it; only an operator's read access is missing.
    operator = newSecret();
    log.warn({ file, err: (err as Error).message }, 'the operator secret could not be written; set auth.operator-secret-file to a writable place');
  }
  return localAuth({ vpn: newSecret(), operator });
}

async function applyMigrations(databaseUrl: string): Promise<string[]> {
  const { applyMigrations: apply } = await import('./common/db/migrations.js');
  return apply({ databaseUrl });
}

async function migrateIfAsked(settings: Settings, log: Logger): Promise<void> {
  if (!settings['database.migrate']) return;
  const applied = await applyMigrations(String(settings['database.url']));
  log.info({ applied, database: redactUrl(String(settings['database.url'])) }, applied.length ? 'migrations applied' : 'database schema is current');
}

const commands: Record<string, Command> = {
  migrate: {
    summary: 'apply pending database migrations and exit',
    settings: async () => [...commonSettings, ...databaseSettings],
    async run(settings, log) {
      const applied = await applyMigrations(String(settings['database.url']));
      log.info({ applied }, applied.length ? 'migrations applied' : 'database schema is current');
    },
  },
  token: {
    summary: 'API tokens of the vpn service: token create NAME [read|write|admin] (prints it once) | token list | token revoke ID',
    settings: async () => [...commonSettings, ...databaseSettings],
    async run(settings) {
      const { runTokenCommand } = await import('./vpn/main.js');
      await runTokenCommand(process.argv.slice(2), settings);
    },
  },
  all: {
    summary: 'run every service in this one process (for a laptop or a lab)',
    settings: allSettings,
    async run(settings, log) {
      await migrateIfAsked(settings, log);
      const auth = await allAuth(settings, log);
      const running: RunningService[] = [];
      for (const [name, s] of Object.entries(services)) {
        running.push(await (await s.load()).start(settings, log.child({ service: name }), { auth }));
      }
      return running;
    },
  },
  ...Object.fromEntries(
    Object.entries(services).map(([name, s]): [string, Command] => [
      name,
      {
        summary: `run the ${name} service`,
        settings: () => settingsOf([s]),
        async run(settings, log) {
          if (s.usesDatabase) await migrateIfAsked(settings, log);
          return [await (await s.load()).start(settings, log)];
        },
      },
    ]),
  ),
};

/**
 * One ops listener for the process, whatever services it runs. A port
 * already taken does not stop the services (their APIs work without it); it
 * is logged as an error, and probes against it fail visibly.
 */
async function startOps(address: string, running: RunningService[], log: Logger): Promise<RunningOps | undefined> {
  if (!address) return undefined;
  const { startOpsServer } = await import('./common/ops/server.js');
  return startOpsServer({ address, sources: running, log }).catch((err: Error) => {
    log.error({ err: err.message, address }, 'ops listener could not start; no /healthz, /readyz or /metrics in this process');
    return undefined;
  });
}

function usage(): string {
  const lines = ['usage: l3vpn <command> [--config FILE] [--print-config]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push(`  ${'lab'.padEnd(10)} the whole system and a lab provider network on this machine until Ctrl-C (\`l3vpn lab --help\`)`);
  lines.push('', 'client commands (over the REST API of the vpn service; `l3vpn help` for their options):');
  for (const [name, summary] of Object.entries(CLIENT_COMMANDS)) lines.push(`  ${name.padEnd(10)} ${summary}`);
  lines.push('', 'Settings come from defaults, then --config FILE (YAML or JSON), then environment variables;', '`l3vpn <command> --print-config` lists them all.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'lab') {
    const { runLab } = await import('./lab/main.js');
    process.exitCode = await runLab(argv.slice(1));
    return;
  }
  if (argv[0] && Object.hasOwn(CLIENT_COMMANDS, argv[0])) {
    const { runClient } = await import('./cli/main.js');
    process.exitCode = await runClient(argv);
    return;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' }, 'print-config': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const name = positionals[0];
  if (values.help || !name) {
    console.log(usage());
    process.exit(name || values.help ? 0 : 2);
  }
  const command = commands[name];
  if (!command) {
    console.error(`l3vpn: unknown command '${name}'\n\n${usage()}`);
    process.exit(2);
  }
  const specs = await command.settings();
  const settings = loadSettings(specs, values.config ? { configFile: values.config } : {});
  if (values['print-config']) {
    process.stdout.write(formatSettings(specs, settings));
    return;
  }
  const log = createLogger(name === 'all' ? undefined : name, String(settings['log.level']));
  const graceMs = Number(settings['shutdown.grace-seconds']) * 1000;
  const running = await command.run(settings, log);
  if (!running) return;
  let ops: RunningOps | undefined;
  onShutdownSignal(log, async () => {
    for (const s of [...running].reverse()) await s.stop(graceMs);
    await ops?.close();
  });
  ops = await startOps(String(settings['ops.address']), running, log);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`l3vpn: ${err.message}`);
    process.exit(2);
  }
  console.error('l3vpn: failed to start:', err);
  process.exit(1);
});
