// `l3vpn lab [--topology FILE] [--separate] [--driver auto|ovs|soft]`: the
// whole system on this machine until Ctrl-C (see lab.ts).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { projectRoot } from '../common/project-root.js';
import { startOpsServer, type RunningOps } from '../common/ops/server.js';
import { startLab, Teardown, type DriverChoice } from './lab.js';
import { labSummary } from './summary.js';
import { loadTopology } from './topology.js';

const USAGE = `usage: l3vpn lab [--topology FILE] [--separate] [--driver auto|ovs|soft] [--port N] [--no-sample] [--state-dir DIR]

Runs the whole system on this machine: PostgreSQL and Redis (DATABASE_URL and
REDIS_URL when set, otherwise private servers with their data in .l3vpn/),
every service (in this process, or each in its own with --separate), the
provider network of the topology (default lab/topology.yaml) with one agent
per managed node on Open vSwitch (root and openvswitch-switch needed; the soft
driver otherwise), the external PE played by gobgpd, and the topology's sample
VPN provisioned through the REST API. Ctrl-C tears it all down.

  --topology FILE  the provider network and sample (lab/topology.yaml)
  --separate       each service in its own process (logs in .l3vpn/lab/logs/)
  --driver D       auto (ovs when possible), ovs, or soft
  --port N         REST port (8080; another free one when taken)
  --no-sample      provision no sample VPN
  --state-dir DIR  the lab's folder (.l3vpn in the project)

Service settings come from the environment as for every l3vpn command (e.g.
LABELS_HOLD_DOWN_SECONDS=5, LOG_LEVEL=debug).`;

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
        'state-dir': { type: 'string' },
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
  const root = projectRoot();
  const topologyFile = values.topology ?? join(root, 'lab', 'topology.yaml');
  const baseDir = values['state-dir'] ?? join(root, '.l3vpn');
  const stateDir = join(baseDir, 'lab');
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const logFile = join(stateDir, 'logs', 'l3vpn.log');
  const log = pino({ level: process.env.LOG_LEVEL || 'info', timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: logFile, sync: false, append: false }));
  const say = (m: string) => console.log(`l3vpn lab: ${m}`);

  const teardown = new Teardown();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    say(`${signal}: stopping everything`);
    void teardown.run((what, err) => console.error(`l3vpn lab: stopping ${what} failed: ${(err as Error).message}`), (what) => say(`stopping ${what}`)).then(() => {
      say('stopped; namespaces, bridges and processes removed');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  try {
    const topology = loadTopology(topologyFile);
    say(`logs go to ${logFile}`);
    const lab = await startLab({
      topology,
      stateDir,
      namePrefix: 'l3lab',
      driver: values.driver as DriverChoice,
      separate: values.separate,
      ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
      ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
      restPort: port,
      provisionSample: !values['no-sample'],
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
    console.log(labSummary(lab, topology, { topologyFile, ...(externalState ? { externalState } : {}), ...(ops ? { ops: `127.0.0.1:${ops.port}` } : {}) }));
    return new Promise<number>(() => undefined); // runs until a signal
  } catch (err) {
    if (stopping) return new Promise<number>(() => undefined);
    console.error(`l3vpn lab: ${(err as Error).message}`);
    await teardown.run();
    return 1;
  }
}
