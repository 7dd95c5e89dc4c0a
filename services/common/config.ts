// Settings for every service: defaults, overridden by an optional config file
// (`--config FILE`, YAML or JSON), overridden by environment variables.
// `--print-config` prints the result with secrets hidden.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** 'structured' settings hold lists or maps (a file's YAML, or JSON in the environment variable). */
export type SettingType = 'string' | 'integer' | 'boolean' | 'structured';

export interface SettingSpec {
  /** Dotted key as written in a config file, e.g. "labels.listen". The environment variable is LABELS_LISTEN. */
  key: string;
  type: SettingType;
  default: SettingValue;
  description: string;
  secret?: boolean;
  min?: number;
  max?: number;
}

export type SettingValue = string | number | boolean | null | SettingValue[] | { [key: string]: SettingValue };
export type Settings = Record<string, SettingValue>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function envName(key: string): string {
  return key.replace(/[.-]/g, '_').toUpperCase();
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>, structured: ReadonlySet<string>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !structured.has(prefix)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out, structured);
  } else {
    out.set(prefix, value);
  }
}

function coerce(spec: SettingSpec, raw: unknown, source: string): SettingValue {
  const where = `${spec.key} (from ${source})`;
  switch (spec.type) {
    case 'structured':
      if (typeof raw !== 'string') return raw as SettingValue;
      try {
        return JSON.parse(raw) as SettingValue;
      } catch (err) {
        throw new ConfigError(`${where} must be JSON: ${(err as Error).message}`);
      }
    case 'string':
      if (typeof raw === 'object') throw new ConfigError(`${where} must be a string`);
      return String(raw);
    case 'integer': {
      const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
      if (!Number.isSafeInteger(n)) throw new ConfigError(`${where} must be an integer, got '${String(raw)}'`);
      if (spec.min !== undefined && n < spec.min) throw new ConfigError(`${where} must be >= ${spec.min}, got ${n}`);
      if (spec.max !== undefined && n > spec.max) throw new ConfigError(`${where} must be <= ${spec.max}, got ${n}`);
      return n;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return true;
      if (['0', 'false', 'no', 'off'].includes(s)) return false;
      throw new ConfigError(`${where} must be true or false, got '${String(raw)}'`);
    }
  }
}

export function readConfigFile(path: string, structured: ReadonlySet<string> = new Set()): Map<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  const flat = new Map<string, unknown>();
  if (doc !== null && doc !== undefined) flatten(doc, '', flat, structured);
  return flat;
}

export function loadSettings(
  specs: readonly SettingSpec[],
  options: { configFile?: string; env?: NodeJS.ProcessEnv } = {},
): Settings {
  const env = options.env ?? process.env;
  const structured = new Set(specs.filter((s) => s.type === 'structured').map((s) => s.key));
  const file = options.configFile ? readConfigFile(options.configFile, structured) : new Map<string, unknown>();
  const known = new Set(specs.flatMap((s) => (s.secret ? [s.key, `${s.key}-file`] : [s.key])));
  for (const key of file.keys()) {
    if (!known.has(key)) throw new ConfigError(`unknown setting '${key}' in ${options.configFile}`);
  }
  const settings: Settings = {};
  for (const spec of specs) {
    let value = spec.default;
    const secretFile = `${spec.key}-file`;
    if (spec.secret && file.has(secretFile)) value = coerce(spec, readSecretFile(String(file.get(secretFile)), secretFile), secretFile);
    if (file.has(spec.key)) value = coerce(spec, file.get(spec.key), options.configFile!);
    const fileEnv = `${envName(spec.key)}_FILE`;
    if (spec.secret && env[fileEnv]) value = coerce(spec, readSecretFile(env[fileEnv]!, `$${fileEnv}`), `$${fileEnv}`);
    const fromEnv = env[envName(spec.key)];
    if (fromEnv !== undefined && fromEnv !== '') value = coerce(spec, fromEnv, `$${envName(spec.key)}`);
    settings[spec.key] = value;
  }
  return settings;
}

/**
 * A secret kept in a file (a Kubernetes Secret or Docker secret mount): the
 * `<key>-file` setting or the `<ENV>_FILE` variable. Surrounding whitespace
 * (the trailing newline editors add) is not part of it.
 */
function readSecretFile(path: string, where: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${where}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The settings as YAML, secrets hidden, each with its environment variable and meaning. */
export function formatSettings(specs: readonly SettingSpec[], settings: Settings): string {
  const lines: string[] = [];
  for (const spec of specs) {
    const value = settings[spec.key];
    const shown = spec.secret && value ? '<hidden>' : JSON.stringify(value);
    lines.push(`# ${spec.description} (env ${envName(spec.key)})`);
    lines.push(`${spec.key}: ${shown}`);
  }
  return lines.join('\n') + '\n';
}

/** Hides any password in a URL, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

/** Settings every service shares. */
export const commonSettings: SettingSpec[] = [
  { key: 'log.level', type: 'string', default: 'info', description: 'log level: fatal, error, warn, info, debug, trace' },
  { key: 'shutdown.grace-seconds', type: 'integer', default: 10, min: 0, max: 600, description: 'time to finish calls on SIGTERM' },
  {
    key: 'ops.address',
    type: 'string',
    default: '0.0.0.0:9464',
    description: 'HOST:PORT of the operations listener (/healthz, /readyz, /metrics); one per process, `l3vpn all` included; empty: none',
  },
  { key: 'tls.cert-file', type: 'string', default: '', description: "PEM certificate (chain) of this process: its gRPC servers and the REST API serve TLS with it, its gRPC clients present it; empty: plaintext" },
  { key: 'tls.key-file', type: 'string', default: '', description: 'PEM private key of tls.cert-file' },
  {
    key: 'tls.ca-file',
    type: 'string',
    default: '',
    description: "PEM CA bundle: verifies client certificates (tls.client-auth) and the servers this process calls; set, the gRPC clients between services use TLS",
  },
  { key: 'tls.client-auth', type: 'string', default: 'none', description: 'client certificates on the servers: none | request (verified when sent) | require (mutual TLS)' },
];

/** Settings of the services that keep state in PostgreSQL. */
export const databaseSettings: SettingSpec[] = [
  {
    key: 'database.url',
    type: 'string',
    default: 'postgresql://postgres@127.0.0.1:5432/l3vpn',
    description: 'PostgreSQL URL; ?schema=NAME selects a schema',
    secret: true,
  },
  { key: 'database.pool-size', type: 'integer', default: 10, min: 1, max: 200, description: 'connections per process' },
  {
    key: 'database.migrate',
    type: 'boolean',
    default: true,
    description: 'apply pending migrations at start (turn off where a migration job runs them)',
  },
];
