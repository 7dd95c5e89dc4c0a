// `l3vpn get|describe|create|apply|delete|plan|routes|state|wait|help`: the
// operator's client of the vpn service's REST API. Loaded only for these
// commands; it needs no database, queue or server framework.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiClient } from './client.js';
import { CLIENT_COMMANDS } from './command-list.js';
import { DEFAULT_SERVER, resolveConnection } from './connection.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { str, type Invocation, type OptionValues } from './invocation.js';
import { formatOf, write } from './output.js';
import { describe } from './commands/describe.js';
import { FILTER_OPTIONS, get } from './commands/get.js';
import { routes } from './commands/routes.js';
import { SITE_OPTIONS } from './commands/site-flags.js';
import { joinToken, revokeAgent } from './commands/agents.js';
import { revert } from './commands/revert.js';
import { state } from './commands/state.js';
import { wait } from './commands/wait.js';
import { apply, create, plan, remove } from './commands/write.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const CONNECTION: Options = {
  server: { type: 'string' },
  token: { type: 'string' },
  'ca-file': { type: 'string' },
  config: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
};
const strings = (names: readonly string[], multiple = false): Options => Object.fromEntries(names.map((n) => [n, { type: 'string', multiple }]));
const FILE: Options = { file: { type: 'string', short: 'f', multiple: true } };
const SITE: Options = { ...strings(SITE_OPTIONS.filter((o) => !['pe-address', 'ce-address', 'static'].includes(o))), ...strings(['pe-address', 'ce-address', 'static'], true) };

const COMMANDS: Record<string, { options: Options; run: (inv: Invocation) => Promise<void> }> = {
  get: { options: { ...strings(FILTER_OPTIONS), 'page-size': { type: 'string' } }, run: get },
  describe: { options: {}, run: describe },
  create: { options: { ...FILE, ...SITE }, run: create },
  apply: { options: FILE, run: apply },
  delete: { options: FILE, run: remove },
  plan: { options: { ...FILE, ...SITE }, run: plan },
  routes: { options: {}, run: routes },
  state: { options: {}, run: state },
  wait: { options: { for: { type: 'string' }, timeout: { type: 'string' } }, run: wait },
  'join-token': { options: { ttl: { type: 'string' } }, run: joinToken },
  'revoke-agent': { options: {}, run: revokeAgent },
  revert: { options: {}, run: revert },
};

export function clientHelp(): string {
  return `The l3vpn client: operates the vpn service over its REST API.

usage: l3vpn <command> [arguments] [options]

commands:
${Object.entries(CLIENT_COMMANDS)
  .map(([name, summary]) => `  ${name.padEnd(9)} ${summary}`)
  .join('\n')}

kinds: nodes, links, vpns, sites, vrfs (singular works too; vrfs are read-only, id VPN:NODE)

examples:
  l3vpn get sites --vpn blue -o wide
  l3vpn create -f lab.yaml                 # documents with 'kind: node|link|vpn|site'
  l3vpn create site s1 --vpn blue --node pe1 --interface eth1 --vlan 100 \\
        --pe-address 10.1.0.1/30 --ce-address 10.1.0.2 --static 10.10.0.0/16
  l3vpn plan delete vpn blue               # what would change on each node; changes nothing
  l3vpn apply -f site.yaml && l3vpn wait site s1 --for active --timeout 2m
  l3vpn routes blue:pe1
  l3vpn state pe1 -o yaml
  l3vpn join-token pe1 --ttl 1h > pe1.join   # the agent's agent.join-token-file

options:
  -o, --output FORMAT   table (default), wide, json (the API's JSON as sent), yaml
  -f, --file FILE       YAML or JSON, '-' for standard input; repeatable
  --vpn, --node, --status, --role, --customer   list filters (get)
  --page-size N         items per request while get follows the pages (1-500)
  --server URL[,URL]    the vpn service's REST address; several: its replicas, the next one used when one cannot be connected to
  --token TOKEN         API token (visible to other local users in the process list; prefer L3VPN_TOKEN)
  --ca-file FILE        CA bundle (PEM) to trust for an https server
  --config FILE         client config file

where the server and the token come from, first match wins:
  1. flags                --server, --token, --ca-file
  2. environment          L3VPN_SERVER, L3VPN_TOKEN, L3VPN_CA_FILE
  3. config file          --config FILE, else L3VPN_CONFIG, else
                          \$XDG_CONFIG_HOME/l3vpn/config.yaml (~/.config/l3vpn/config.yaml), e.g.
                            server: https://vpn.example.net:8443
                            token-file: /run/secrets/l3vpn-token   # or token: ...
                            ca-file: ca.pem                        # relative to the file
  4. default server       ${DEFAULT_SERVER}
  An admin creates tokens with \`l3vpn token create NAME read|write|admin\` (on the server's database).

exit codes: 0 ok, 1 the API refused or failed, 2 bad usage, 3 the server cannot be reached
`;
}

function parse(command: string, argv: string[]): { args: string[]; options: OptionValues } {
  const spec = COMMANDS[command]!;
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...CONNECTION, ...spec.options }, allowPositionals: true, strict: true });
    return { args: positionals, options: values as OptionValues };
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}`);
  }
}

/** Runs one client command; answers the exit code. */
export async function runClient(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  try {
    if (command === 'help' || !Object.hasOwn(COMMANDS, command)) {
      write(clientHelp());
      return command === 'help' ? EXIT.ok : EXIT.usage;
    }
    const { args, options } = parse(command, rest);
    if (options.help) {
      write(clientHelp());
      return EXIT.ok;
    }
    const format = formatOf(str(options, 'output'));
    const conn = resolveConnection({ server: str(options, 'server'), token: str(options, 'token'), 'ca-file': str(options, 'ca-file'), config: str(options, 'config') });
    await COMMANDS[command]!.run({ args, options, format, client: new ApiClient(conn) });
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    process.stderr.write(`${err instanceof UsageError ? 'l3vpn: ' : ''}${err.message}\n${err instanceof UsageError ? "run 'l3vpn help' for the commands and options\n" : ''}`);
    return err.exitCode;
  }
}
