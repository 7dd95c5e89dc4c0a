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
import { applyMigrations } from './common/db/migrations.js';
import { onShutdownSignal } from './common/lifecycle.js';
import { createLogger, type Logger } from './common/logger.js';
import type { RunningService } from './common/service.js';
import { labelsSettings, startLabels } from './labels/main.js';
import { bgpSettings, startBgp } from './bgp/main.js';
import { redisSettings, runTokenCommand, startVpn, vpnSettings } from './vpn/main.js';
import { agentSettings, startAgent } from './agent/main.js';

interface Command {
  summary: string;
  settings: SettingSpec[];
  run(settings: Settings, log: Logger): Promise<RunningService[] | void>;
}

interface ServiceEntry {
  settings: SettingSpec[];
  /** Keeps state in PostgreSQL: gets the database settings, and migrations run before it starts. */
  usesDatabase: boolean;
  start: (s: Settings, log: Logger) => Promise<RunningService>;
}

const services: Record<string, ServiceEntry> = {
  labels: { settings: labelsSettings, usesDatabase: true, start: startLabels },
  bgp: { settings: bgpSettings, usesDatabase: false, start: startBgp },
  vpn: { settings: [...vpnSettings, ...redisSettings], usesDatabase: true, start: startVpn },
  agent: { settings: agentSettings, usesDatabase: false, start: startAgent },
};

const settingsOf = (entries: ServiceEntry[]): SettingSpec[] => [
  ...commonSettings,
  ...(entries.some((e) => e.usesDatabase) ? databaseSettings : []),
  ...entries.flatMap((e) => e.settings),
];

async function migrateIfAsked(settings: Settings, log: Logger): Promise<void> {
  if (!settings['database.migrate']) return;
  const applied = await applyMigrations({ databaseUrl: String(settings['database.url']) });
  log.info({ applied, database: redactUrl(String(settings['database.url'])) }, applied.length ? 'migrations applied' : 'database schema is current');
}

const commands: Record<string, Command> = {
  migrate: {
    summary: 'apply pending database migrations and exit',
    settings: [...commonSettings, ...databaseSettings],
    async run(settings, log) {
      const applied = await applyMigrations({ databaseUrl: String(settings['database.url']) });
      log.info({ applied }, applied.length ? 'migrations applied' : 'database schema is current');
    },
  },
  token: {
    summary: 'API tokens of the vpn service: token create NAME [read|write|admin] (prints it once) | token list | token revoke ID',
    settings: [...commonSettings, ...databaseSettings],
    async run(settings) {
      await runTokenCommand(process.argv.slice(2), settings);
    },
  },
  all: {
    summary: 'run every service in this one process (for a laptop or a lab)',
    settings: settingsOf(Object.values(services)),
    async run(settings, log) {
      await migrateIfAsked(settings, log);
      const running: RunningService[] = [];
      for (const [name, s] of Object.entries(services)) running.push(await s.start(settings, log.child({ service: name })));
      return running;
    },
  },
  ...Object.fromEntries(
    Object.entries(services).map(([name, s]): [string, Command] => [
      name,
      {
        summary: `run the ${name} service`,
        settings: settingsOf([s]),
        async run(settings, log) {
          if (s.usesDatabase) await migrateIfAsked(settings, log);
          return [await s.start(settings, log)];
        },
      },
    ]),
  ),
};

function usage(): string {
  const lines = ['usage: l3vpn <command> [--config FILE] [--print-config]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Settings come from defaults, then --config FILE (YAML or JSON), then environment variables;', '`l3vpn <command> --print-config` lists them all.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
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
  const settings = loadSettings(command.settings, values.config ? { configFile: values.config } : {});
  if (values['print-config']) {
    process.stdout.write(formatSettings(command.settings, settings));
    return;
  }
  const log = createLogger(name === 'all' ? undefined : name, String(settings['log.level']));
  const graceMs = Number(settings['shutdown.grace-seconds']) * 1000;
  const running = await command.run(settings, log);
  if (!running) return;
  onShutdownSignal(log, async () => {
    for (const s of [...running].reverse()) await s.stop(graceMs);
  });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`l3vpn: ${err.message}`);
    process.exit(2);
  }
  console.error('l3vpn: failed to start:', err);
  process.exit(1);
});
