// Where the client finds the vpn service and its credentials. Each setting is
// taken from the first of: a flag, an environment variable, the config file
// (--config, L3VPN_CONFIG, or $XDG_CONFIG_HOME/l3vpn/config.yaml, by default
// ~/.config/l3vpn/config.yaml).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { UsageError } from './errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
const FILE_KEYS = ['server', 'token', 'token-file', 'ca-file'] as const;
type FileKey = (typeof FILE_KEYS)[number];

export interface Connection {
  /** The vpn service's replicas, tried in order: a request goes to the next when one cannot be connected to. */
  servers: URL[];
  token?: string;
  /** Where the token came from, for error messages (never the token itself). */
  tokenSource?: string;
  /** PEM bundle trusted for https servers, besides the system's. */
  ca?: Buffer;
}

export interface ConnectionFlags {
  server?: string;
  token?: string;
  'ca-file'?: string;
  config?: string;
}

function defaultConfigPath(env: NodeJS.ProcessEnv, home: string): string {
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'l3vpn', 'config.yaml');
}

interface ConfigFile {
  path: string;
  values: Partial<Record<FileKey, string>>;
}

function readConfigFile(flags: ConnectionFlags, env: NodeJS.ProcessEnv, home: string): ConfigFile | undefined {
  const named = flags.config ?? env.L3VPN_CONFIG;
  const path = named ?? defaultConfigPath(env, home);
  if (!existsSync(path)) {
    if (named) throw new UsageError(`config file ${path} does not exist`);
    return undefined;
  }
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`config file ${path}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return { path, values: {} };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`config file ${path}: expected a mapping of ${FILE_KEYS.join(', ')}`);
  const values: ConfigFile['values'] = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!(FILE_KEYS as readonly string[]).includes(key)) throw new UsageError(`config file ${path}: unknown key '${key}' (known: ${FILE_KEYS.join(', ')})`);
    if (typeof value !== 'string' || !value) throw new UsageError(`config file ${path}: '${key}' must be a non-empty string`);
    values[key as FileKey] = value;
  }
  if (values.token && values['token-file']) throw new UsageError(`config file ${path}: give token or token-file, not both`);
  return { path, values };
}

function readSecretFile(path: string, what: string): string {
  try {
    const s = readFileSync(path, 'utf8').trim();
    if (!s) throw new Error('it is empty');
    return s;
  } catch (err) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}

/** One URL, or several (the replicas of the vpn service) separated by commas. */
function parseServers(value: string, source: string): URL[] {
  const urls = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => parseServer(v, source));
  if (!urls.length) throw new UsageError(`server (from ${source}) is empty, e.g. ${DEFAULT_SERVER}`);
  return urls;
}

function parseServer(value: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`server '${value}' (from ${source}) is not a URL, e.g. ${DEFAULT_SERVER}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`server '${value}' (from ${source}) must be http:// or https://`);
  return url;
}

export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env, home = homedir()): Connection {
  const file = readConfigFile(flags, env, home);
  const fromFile = (key: FileKey) => file?.values[key];
  const inFile = (key: FileKey) => `${file?.path} (${key})`;
  const relative = (p: string) => (file ? resolve(dirname(file.path), p) : p);

  const servers =
    flags.server !== undefined ? parseServers(flags.server, '--server')
    : env.L3VPN_SERVER ? parseServers(env.L3VPN_SERVER, 'L3VPN_SERVER')
    : fromFile('server') ? parseServers(fromFile('server')!, inFile('server'))
    : [new URL(DEFAULT_SERVER)];

  let token: string | undefined;
  let tokenSource: string | undefined;
  if (flags.token !== undefined) [token, tokenSource] = [flags.token, '--token'];
  else if (env.L3VPN_TOKEN) [token, tokenSource] = [env.L3VPN_TOKEN, 'L3VPN_TOKEN'];
  else if (fromFile('token')) [token, tokenSource] = [fromFile('token'), inFile('token')];
  else if (fromFile('token-file')) {
    const path = relative(fromFile('token-file')!);
    [token, tokenSource] = [readSecretFile(path, 'token file'), path];
  }

  const caPath = flags['ca-file'] ?? (env.L3VPN_CA_FILE || undefined) ?? (fromFile('ca-file') ? relative(fromFile('ca-file')!) : undefined);
  const ca = caPath ? Buffer.from(readSecretFile(caPath, 'CA file')) : undefined;
  return { servers, ...(token ? { token, tokenSource } : {}), ...(ca ? { ca } : {}) };
}
