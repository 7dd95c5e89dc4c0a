// `l3vpn lab [--topology FILE] [--separate] [--driver auto|ovs|soft] [--fresh]`:
// the whole system on this machine until Ctrl-C (see lab.ts). Whatever ends
// it — SIGINT, SIGTERM, SIGHUP (the terminal closed), or a closed pipe on
// stdout (`npm start | head -1`, or `| tee` killed by the same Ctrl-C) —
// tears everything down.
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { projectRoot } from '../common/project-root.js';
import { startOpsServer, type RunningOps } from '../common/ops/server.js';
import { startLab, Teardown, type DriverChoice } from './lab.js';
import { labSummary } from './summary.js';
import { loadTopology } from './topology.js';

const USAGE = `usage: l3vpn lab [--topology FILE] [--separate] [--driver auto|ovs|soft] [--port N] [--no-sample] [--fresh] [--state-dir DIR] [--name-prefix P]

Runs the whole system on this machine: PostgreSQL and Redis (DATABASE_URL and
REDIS_URL when set, otherwise private servers with their data in .l3vpn/),
every service (in this process, or each in its own with --separate), the
provider network of the topology (default lab/topology.yaml) with one agent
per managed node on Open vSwitch (root and openvswitch-switch needed; the soft
driver otherwise), the external PE played by gobgpd, and the topology's sample
VPN provisioned through the REST API when the intent has no VPN yet. Each
site on a PE port gets its CE host (network namespace) addressed, whoever
creates the site. Ctrl-C, SIGTERM, SIGHUP or a closed stdout tears it all
down; after a kill -9 the next start removes what was left (from
.l3vpn/lab/resources.json). The intent, the admin token and the agents' state
are kept across restarts unless --fresh.

  --topology FILE  the provider network and sample (lab/topology.yaml)
  --separate       each service in its own process (logs in .l3vpn/lab/logs/)
  --driver D       auto (ovs when possible), ovs, or soft
  --port N         REST port (8080; another free one when taken)
  --no-sample      provision no sample VPN
  --fresh          start from an empty intent: drop the private database,
                   make a new admin token, start the agents without state
  --state-dir DIR  the lab's folder (.l3vpn in the project)
  --name-prefix P  prefix of namespaces, bridges and veths (l3lab; at most 6
                   characters)

Service settings come from the environment as for every l3vpn command (e.g.
LABELS_HOLD_DOWN_SECONDS=5, LOG_LEVEL=debug).`;

/** Signals this close to the first one are the same Ctrl-C delivered twice. */
const REPEAT_MS = 3000;

export async function runLab(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        topology: { type: 'string' },
        separate: { type: 'boolean', default: false },
        driver: { type: 'string', default: 'auto' },
        port: { type: 'string', default: '8080' },
        'no-sample': { type: 'boolean', default: false },
        fresh: { type: 'boolean', default: false },
        'state-dir': { type: 'string' },
        'name-prefix': { type: 'string', default: 'l3lab' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`l3vpn lab: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!['auto', 'ovs', 'soft'].includes(values.driver)) {
    console.error(`l3vpn lab: --driver must be auto, ovs or soft, got '${values.driver}'`);
    return 2;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`l3vpn lab: --port must be a TCP port, got '${values.port}'`);
    return 2;
  }
  const namePrefix = values['name-prefix'];
  if (!/^[a-z][a-z0-9]{0,5}$/.test(namePrefix)) {
    console.error(`l3vpn lab: --name-prefix must be 1 to 6 lower-case letters or digits, starting with a letter, got '${namePrefix}'`);
    return 2;
  }
  if (values.fresh && process.env.DATABASE_URL) {
    console.error('l3vpn lab: --fresh drops the lab\'s private database; with DATABASE_URL set, empty that database yourself');
    return 2;
  }
  const root = projectRoot();
  const topologyFile = values.topology ?? join(root, 'lab', 'topology.yaml');
  const baseDir = values['state-dir'] ?? join(root, '.l3vpn');
  const stateDir = join(baseDir, 'lab');
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const logFile = join(stateDir, 'logs', 'l3vpn.log');
  const logDest = pino.destination({ dest: logFile, sync: false, append: false });
  // Until the file is open, pino cannot flush it on exit (and would throw): a lab stopped at once must still exit cleanly.
  await once(logDest, 'ready');
  const log = pino({ level: process.env.LOG_LEVEL || 'info', timestamp: pino.stdTimeFunctions.isoTime }, logDest);
  const out = new Terminal(log);
  const say = (m: string) => out.say(`l3vpn lab: ${m}`);

  const teardown = new Teardown();
  let stopping = false;
  let stoppingSince = 0;
  const stop = (why: string) => {
    if (stopping) {
      // One Ctrl-C often arrives twice (the terminal's, and npm forwarding it to its script): only a
      // Ctrl-C pressed again later gives up on the teardown, leaving the record for the next start.
      if (why === 'SIGINT' && Date.now() - stoppingSince > REPEAT_MS) {
        say('SIGINT again: exiting now; the next start removes what is left');
        process.exit(1);
      }
      return;
    }
    stopping = true;
    stoppingSince = Date.now();
    log.info({ why }, 'stopping the lab');
    say(`${why}: stopping everything`);
    void teardown
      .run(
        (what, err) => {
          log.warn({ err: (err as Error).message }, `stopping ${what} failed`);
          out.error(`l3vpn lab: stopping ${what} failed: ${(err as Error).message}`);
        },
        (what) => say(`stopping ${what}`),
      )
      .then(() => {
        say('stopped; namespaces, bridges and processes removed');
        log.info('lab stopped');
        log.flush();
        process.exit(0);
      });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
  out.onClosed((stream) => stop(`${stream} closed`));

  try {
    const topology = loadTopology(topologyFile);
    say(`logs go to ${logFile}`);
    const lab = await startLab({
      topology,
      stateDir,
      namePrefix,
      driver: values.driver as DriverChoice,
      separate: values.separate,
      ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
      ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
      restPort: port,
      provisionSample: !values['no-sample'],
      fresh: values.fresh,
      log,
      progress: say,
      teardown,
    });
    let ops: RunningOps | undefined;
    const inProcess = lab.parts.flatMap((p) => (p.service ? [p.service] : []));
    if (inProcess.length) {
      ops = await startOpsServer({ address: '127.0.0.1:9464', sources: inProcess, log }).catch(() => startOpsServer({ address: '127.0.0.1:0', sources: inProcess, log }));
      teardown.add('ops listener', () => ops!.close());
    }
    const externalState = lab.external ? await lab.external.sessionState().catch(() => 'unknown') : undefined;
    out.say(labSummary(lab, topology, { topologyFile, ...(externalState ? { externalState } : {}), ...(ops ? { ops: `127.0.0.1:${ops.port}` } : {}) }));
    return new Promise<number>(() => undefined); // runs until a signal
  } catch (err) {
    if (stopping) return new Promise<number>(() => undefined);
    out.error(`l3vpn lab: ${(err as Error).message}`);
    log.error({ err: (err as Error).message }, 'the lab did not start');
    await teardown.run();
    return 1;
  }
}

/**
 * The lab's stdout and stderr, which may be pipes whose reader goes away
 * (`| head -1`; `| tee` killed by the same Ctrl-C). A write then fails with
 * EPIPE: instead of the uncaught error that would kill the lab and leave
 * everything running, the lab is told once and stops; later lines go to the
 * log file only.
 */
class Terminal {
  private readonly closed = new Set<string>();
  private listener: ((stream: string) => void) | undefined;

  constructor(private readonly log: { info(o: object, msg: string): void }) {
    for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
      stream.on('error', (err: NodeJS.ErrnoException) => this.lost(name, err));
    }
  }

  onClosed(fn: (stream: string) => void): void {
    this.listener = fn;
  }

  say(line: string): void {
    this.write('stdout', process.stdout, line);
  }

  error(line: string): void {
    this.write('stderr', process.stderr, line);
  }

  private write(name: string, stream: NodeJS.WriteStream, line: string): void {
    this.log.info({ stream: name }, line);
    if (this.closed.has(name) || stream.destroyed) return;
    try {
      stream.write(`${line}\n`);
    } catch (err) {
      this.lost(name, err as NodeJS.ErrnoException);
    }
  }

  private lost(name: string, err: NodeJS.ErrnoException): void {
    if (this.closed.has(name)) return;
    this.closed.add(name);
    this.log.info({ err: err.code ?? err.message }, `${name} is closed; nothing more is written to it`);
    this.listener?.(name);
  }
}
