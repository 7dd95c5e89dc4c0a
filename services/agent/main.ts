// Entry of the forwarding agent (`l3vpn agent`): one per managed node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { ConfigError, type SettingSpec, type Settings } from '../common/config.js';
import { channelCredentials as tlsChannel } from '../common/tls.js';
import type { Logger } from '../common/logger.js';
import type { RunningService } from '../common/service.js';
import { Agent } from './agent.js';
import { ControllerLink } from './controller-link.js';
import { grpcTarget } from '../common/grpc/target.js';
import { agentMetrics } from './metrics.js';
import { LinkMonitor } from './liveness.js';
import type { Driver } from './driver.js';
import { DEFAULT_ROUTE_PROTOCOL, LinuxDriver } from './drivers/linux/driver.js';
import { LocalRunner } from './drivers/linux/runner.js';
import { OvsDriver } from './drivers/ovs/driver.js';
import type { BgpPuntOptions } from './drivers/ovs/punt.js';
import { SoftDriver } from './drivers/soft.js';
import { StateFile } from './state-file.js';
import { CeBgpRelay } from './ce-bgp/relay.js';
import { CREDENTIAL_FILE_NAME, NodeCredential, type GivenSecret } from './credential.js';

export const DRIVERS = ['soft', 'ovs', 'linux'] as const;

export const agentSettings: SettingSpec[] = [
  { key: 'agent.node', type: 'string', default: '', description: 'the managed node this agent runs on (its inventory id); empty: no agent in this process' },
  {
    key: 'agent.controller',
    type: 'string',
    default: '127.0.0.1:50063',
    description:
      "gRPC address (host:port) of the controller serving AgentService (the vpn service), or its replicas' IP addresses separated by commas (the agent uses the first that answers and moves to the next when it goes; with TLS, gRPC checks each replica's certificate against the first address), or one DNS name resolving to every replica",
  },
  {
    key: 'agent.join-token',
    type: 'string',
    default: '',
    secret: true,
    description: "one-time join token an admin made for the node (POST /v1/nodes/{id}/join-tokens): the agent enrols with it when it has no credential of its own, and saves the credential it gets in agent.state-dir",
  },
  { key: 'agent.join-token-file', type: 'string', default: '', description: 'file holding the join token; wins over agent.join-token; read again before each attempt to reach the controller' },
  { key: 'agent.token', type: 'string', default: '', secret: true, description: "the node's credential got without enrolling here (sent as a bearer token); a join token wins" },
  { key: 'agent.credential-file', type: 'string', default: '', description: "file holding the node's credential; wins over agent.token" },
  {
    key: 'agent.credential-rotation-hours',
    type: 'integer',
    default: 0,
    min: 0,
    max: 8760,
    description: 'rotate the node credential when it is this old (0: only on SIGUSR2); the new one is saved in agent.state-dir, which must then outlive restarts',
  },
  { key: 'agent.controller-ca', type: 'string', default: '', description: "PEM file of the CA that signed the controller's certificate: TLS; empty: plaintext" },
  {
    key: 'agent.cert-file',
    type: 'string',
    default: '',
    description: "PEM client certificate of the node for mutual TLS with the controller: its CN, a DNS SAN or a URI SAN urn:l3vpn:node:<id> names the node",
  },
  { key: 'agent.key-file', type: 'string', default: '', description: 'PEM private key of agent.cert-file' },
  { key: 'agent.driver', type: 'string', default: 'soft', description: `data-plane driver: ${DRIVERS.join(' | ')}` },
  { key: 'agent.state-dir', type: 'string', default: '/var/lib/l3vpn/agent', description: 'where the last applied desired state is kept (headless restarts)' },
  { key: 'agent.resync-seconds', type: 'integer', default: 60, min: 1, max: 86_400, description: 'period of the reconciliation pass that repairs drift' },
  {
    key: 'agent.ovs-target',
    type: 'string',
    default: 'unix:/var/run/openvswitch/br-l3vpn.mgmt',
    description: "ovs driver: the bridge's OpenFlow endpoint (unix:PATH/<bridge>.mgmt or tcp:HOST:PORT); the bridge has datapath_type=netdev, fail_mode=secure",
  },
  {
    key: 'agent.ovs-bridge',
    type: 'string',
    default: '',
    description: 'ovs driver: the bridge PE-CE BGP punt ports are added to (ovs-vsctl); empty: the <bridge> of a unix:PATH/<bridge>.mgmt target (a tcp: target then has no PE-CE BGP relay)',
  },
  { key: 'agent.ovs-db', type: 'string', default: '', description: "ovs driver: ovs-vsctl's --db for the punt ports (unix:PATH/db.sock); empty: ovs-vsctl's default" },
  {
    key: 'agent.ovs-netns',
    type: 'string',
    default: '',
    description: "ovs driver: the network namespace ovs-vswitchd's ports live in (a private switch's), where punt ports are made; empty: the host's",
  },
  { key: 'agent.ovs-port-prefix', type: 'string', default: '', description: 'ovs driver: prefix of the OVS port of each interface named in the desired state' },
  { key: 'agent.ovs-atomic', type: 'boolean', default: true, description: 'ovs driver: apply each batch in one atomic bundle' },
  {
    key: 'agent.linux-route-protocol',
    type: 'integer',
    default: DEFAULT_ROUTE_PROTOCOL,
    min: 1,
    max: 255,
    description: 'linux driver: route protocol number (rt_protos) marking the routes and MPLS routes the agent owns; none of the node’s routing daemons may use it',
  },
  { key: 'agent.bfd', type: 'boolean', default: true, description: 'run BFD (RFC 5880 asynchronous mode, RFC 5881 single hop) on every numbered core link the driver can carry it on (ovs)' },
  { key: 'agent.bfd-min-tx-ms', type: 'integer', default: 300, min: 10, max: 60_000, description: 'BFD desired minimum transmit interval once the session is Up (before: 1 s, RFC 5880 §6.8.3)' },
  { key: 'agent.bfd-min-rx-ms', type: 'integer', default: 300, min: 10, max: 60_000, description: 'BFD required minimum receive interval' },
  { key: 'agent.bfd-multiplier', type: 'integer', default: 3, min: 1, max: 255, description: 'BFD detection multiplier: the neighbour is down after this many intervals without a packet' },
  { key: 'agent.port-poll-ms', type: 'integer', default: 1000, min: 100, max: 60_000, description: 'how often port states are read on a driver that does not signal port changes (linux)' },
  {
    key: 'agent.heartbeat-seconds',
    type: 'integer',
    default: 5,
    min: 1,
    max: 3600,
    description: "period of the heartbeat (ReportStatus with heartbeat=true) that tells the controller this agent is alive; keep it well under the controller's vpn.agent-timeout-seconds",
  },
  { key: 'agent.reconnect-max-seconds', type: 'integer', default: 30, min: 1, max: 3600, description: 'largest delay between attempts to reach the controller' },
];

/** A secret from its file setting, else its value setting; empty: none. */
function readSecret(settings: Settings, fileKey: string, valueKey: string): string {
  const file = String(settings[fileKey]);
  if (!file) return String(settings[valueKey]).trim();
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${fileKey}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** What the operator gives: a join token wins over a credential. */
function givenSecret(settings: Settings): GivenSecret | undefined {
  const joinToken = readSecret(settings, 'agent.join-token-file', 'agent.join-token');
  if (joinToken) return { kind: 'join-token', secret: joinToken };
  const credential = readSecret(settings, 'agent.credential-file', 'agent.token');
  return credential ? { kind: 'credential', secret: credential } : undefined;
}

/**
 * Rotates the credential when it is `hours` old (counted from when it was
 * saved, else from the start), and on SIGUSR2. Returns the stop.
 */
function scheduleRotation(hours: number, credential: NodeCredential, link: ControllerLink, log: Logger): () => void {
  const started = Date.now();
  const rotate = (why: string) =>
    link.rotateCredential().catch((err: Error & { details?: string }) => log.warn({ err: err.details ?? err.message, why }, 'credential not rotated; trying again later'));
  const onSignal = () => void rotate('SIGUSR2');
  process.on('SIGUSR2', onSignal);
  let timer: NodeJS.Timeout | undefined;
  const arm = (atLeastMs: number) => {
    if (!hours) return;
    const due = (credential.savedAt?.getTime() ?? started) + hours * 3_600_000;
    // A day at most per wait (timers take 2^31 ms), and a minute at least after an attempt.
    timer = setTimeout(async () => {
      if (Date.now() >= due) await rotate('age');
      arm(60_000);
    }, Math.min(86_400_000, Math.max(atLeastMs, due - Date.now())));
    timer.unref();
  };
  arm(0);
  return () => {
    clearTimeout(timer);
    process.off('SIGUSR2', onSignal);
  };
}

function channelCredentials(settings: Settings): ChannelCredentials {
  const read = (key: string) => {
    const path = String(settings[key] ?? '');
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${key}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const [ca, cert, key] = [read('agent.controller-ca'), read('agent.cert-file'), read('agent.key-file')];
  if (!cert !== !key) throw new ConfigError('agent.cert-file and agent.key-file go together');
  if (cert && !ca) throw new ConfigError('agent.cert-file needs agent.controller-ca: a client certificate is only sent over TLS');
  return tlsChannel({ ca, cert, key });
}

/** The unix socket PE-CE BGP listeners hand their connections to (ce-bgp/relay.ts). */
export const ceBgpSocket = (settings: Settings) => join(String(settings['agent.state-dir']), 'ce-bgp.sock');

/** The bridge of the ovs driver's punt ports: agent.ovs-bridge, else the name of a unix:.../<bridge>.mgmt target. */
function ovsBridge(settings: Settings): string | undefined {
  const given = String(settings['agent.ovs-bridge'] ?? '');
  if (given) return given;
  return /^unix:.*\/([^/]+)\.mgmt$/.exec(String(settings['agent.ovs-target']))?.[1];
}

function ceBgpPunt(settings: Settings, bridge: string): BgpPuntOptions {
  const db = String(settings['agent.ovs-db'] ?? '');
  const netns = String(settings['agent.ovs-netns'] ?? '');
  return { bridge, socketPath: ceBgpSocket(settings), ...(db ? { vsctl: ['ovs-vsctl', `--db=${db}`] } : {}), ...(netns ? { switchNetns: netns } : {}) };
}

export async function createDriver(settings: Settings, log?: Logger): Promise<Driver> {
  const name = String(settings['agent.driver']);
  switch (name) {
    case 'soft':
      return new SoftDriver();
    case 'ovs': {
      const bridge = ovsBridge(settings);
      return new OvsDriver({
        target: String(settings['agent.ovs-target']),
        portPrefix: String(settings['agent.ovs-port-prefix']),
        atomic: Boolean(settings['agent.ovs-atomic']),
        ...(bridge ? { ceBgp: ceBgpPunt(settings, bridge) } : {}),
        ...(log ? { log } : {}),
      }).connect();
    }
    case 'linux':
      return new LinuxDriver({ runner: new LocalRunner(), protocol: Number(settings['agent.linux-route-protocol']) }).prepare();
    default:
      throw new ConfigError(`agent.driver must be one of ${DRIVERS.join(', ')}, got '${name}'`);
  }
}

export async function startAgent(settings: Settings, log: Logger): Promise<RunningService> {
  const node = String(settings['agent.node']);
  if (!node) {
    log.info('agent.node is not set; no forwarding agent runs in this process');
    return { name: 'agent', stop: async () => undefined };
  }
  // Read now so a bad setting stops the start; read again before each connection attempt.
  givenSecret(settings);
  const stateDir = String(settings['agent.state-dir']);
  let credential: NodeCredential;
  try {
    credential = new NodeCredential(node, stateDir, () => givenSecret(settings));
  } catch (err) {
    throw new ConfigError(`agent.state-dir: cannot read the saved credential ${join(stateDir, CREDENTIAL_FILE_NAME)}: ${(err as Error).message}`);
  }
  const driver = await createDriver(settings, log);
  const agent = new Agent({ node, driver, store: new StateFile(stateDir), log });
  const restored = await agent.start();
  let link: ControllerLink | undefined;
  const liveness = new LinkMonitor({
    driver,
    bfd: settings['agent.bfd']
      ? {
          desiredMinTxUs: Number(settings['agent.bfd-min-tx-ms']) * 1000,
          requiredMinRxUs: Number(settings['agent.bfd-min-rx-ms']) * 1000,
          detectMult: Number(settings['agent.bfd-multiplier']),
        }
      : undefined,
    log,
    portPollMs: Number(settings['agent.port-poll-ms']),
    onChange: () => link?.reportNow(),
  });
  const metrics = agentMetrics(agent, () => link?.connected ?? false, () => liveness.report().links);
  link = new ControllerLink({
    agent,
    address: grpcTarget(String(settings['agent.controller']), 'agent.controller'),
    credentials: channelCredentials(settings),
    credential,
    log,
    metrics: metrics.link,
    resyncMs: Number(settings['agent.resync-seconds']) * 1000,
    heartbeatMs: Number(settings['agent.heartbeat-seconds']) * 1000,
    backoff: { initialMs: 500, maxMs: Number(settings['agent.reconnect-max-seconds']) * 1000 },
    liveness,
  });
  // PE-CE BGP: the listeners' connections go to the controller over this link, with its credential.
  let relay: CeBgpRelay | undefined;
  if (driver.name === 'ovs') {
    try {
      relay = await new CeBgpRelay({ socketPath: ceBgpSocket(settings), node, vrfs: () => agent.vrfs(), open: () => link!.relayCeSession(), log }).start();
    } catch (err) {
      // Forwarding does not depend on it: the agent runs, and the listeners' connections are refused until a restart.
      log.error({ err: (err as Error).message, socket: ceBgpSocket(settings) }, 'PE-CE BGP relay socket not served: no CE BGP session is relayed');
    }
  }
  link.start();
  const stopRotation = scheduleRotation(Number(settings['agent.credential-rotation-hours']), credential, link, log);
  log.info({ node, driver: driver.name, restored, generation: agent.generation, controller: settings['agent.controller'] }, 'agent started');
  return {
    name: 'agent',
    metrics: metrics.registry,
    checks: [{ name: 'driver', check: async () => void (await driver.read(agent.desiredState())) }],
    stop: async () => {
      stopRotation();
      await relay?.close();
      await link!.stop();
      liveness.close();
      await agent.flush();
      await driver.close();
    },
  };
}
