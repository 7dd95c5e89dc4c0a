// The bgp service: a BGP speaker (sessions with PEs, route reflectors and
// CEs) and its gRPC API. Runs from settings alone, like `gobgpd -f`:
// `l3vpn bgp --config FILE` with static neighbours under bgp.neighbors;
// neighbours added through the API live beside them.
import { ConfigError, type SettingSpec, type SettingValue, type Settings } from '../common/config.js';
import { startGrpcServer } from '../common/grpc/server.js';
import type { Logger } from '../common/logger.js';
import type { RunningService, StartOptions } from '../common/service.js';
import { serviceAuth, serviceAuthSettings } from '../common/auth/service-auth.js';
import { bgpGrpcService } from './grpc-api.js';
import { bgpMetrics } from './metrics.js';
import { tlsMaterial } from '../common/tls.js';
import { PeerConfigError, checkSpeakerConfig, parseFamilyName, peerConfig, peerKey, type MaxPrefixInput, type PeerConfig, type SpeakerConfig } from './speaker/config.js';
import { Speaker } from './speaker/speaker.js';
import { staticVrfs } from './static-vrfs.js';
import { vrfServiceFor, type VrfService } from './vrf-service.js';

export const bgpSettings: SettingSpec[] = [
  { key: 'bgp.as', type: 'integer', default: 65000, min: 1, max: 4294967295, description: 'our autonomous system number' },
  { key: 'bgp.router-id', type: 'string', default: '10.0.0.1', description: 'BGP identifier (a non-zero dotted quad)' },
  { key: 'bgp.listen-address', type: 'string', default: '0.0.0.0', description: 'address the BGP listener binds; a specific one is also the source of our connections' },
  { key: 'bgp.port', type: 'integer', default: 179, min: 0, max: 65535, description: 'BGP TCP port (0: any free port)' },
  { key: 'bgp.cluster-id', type: 'string', default: '', description: 'route reflection CLUSTER_ID (RFC 4456), a dotted quad; empty: the router id' },
  { key: 'bgp.grpc-listen', type: 'string', default: '0.0.0.0:50062', description: 'gRPC listen address of the bgp service' },
  {
    key: 'bgp.graceful-restart-time',
    type: 'integer',
    default: 120,
    min: 0,
    max: 4095,
    description:
      'Restart Time of our graceful-restart capability (RFC 4724), which lists every family of the session with the Forwarding State bit set (the agents keep forwarding while the speaker restarts); 0 leaves the capability out',
  },
  {
    key: 'bgp.restart-deferral-seconds',
    type: 'integer',
    default: 0,
    min: 0,
    max: 3600,
    description:
      'after a start, how long End-of-RIB is held back (and the Restart State bit set, RFC 4724 §4.1) until the vpn service has defined every VRF and route again and says so; peers keep their stale copies of our routes meanwhile. 0: no wait (a speaker without a controller)',
  },
  {
    key: 'bgp.rtc-wait-time',
    type: 'integer',
    default: 60,
    min: 0,
    max: 3600,
    description: "how long VPN routes to an RT-constraint peer wait for its RT membership End-of-RIB (RFC 4684 §6); 0: no wait",
  },
  { key: 'bgp.idle-hold-time', type: 'integer', default: 1, min: 1, max: 3600, description: 'first delay before a failed session is retried, doubling on each failure' },
  { key: 'bgp.idle-hold-max-time', type: 'integer', default: 60, min: 1, max: 3600, description: 'largest delay before a failed session is retried' },
  {
    key: 'bgp.neighbors',
    type: 'structured',
    default: [],
    description:
      'static neighbours: a list of {address, remote-as, local-address, port, families [ipv4-unicast, ipv6-unicast, vpn-ipv4, vpn-ipv6, rtc], hold-time, keepalive-time, connect-retry-time, passive, route-reflector-client, next-hop-self, vrf, description, admin-down, and for a PE-CE peer as-override, allowas-in (0-10), max-prefix (LIMIT or {limit, warning-percent, action: limit|warning-only, restart-interval}), site-of-origin}',
  },
  {
    key: 'bgp.vrfs',
    type: 'structured',
    default: [],
    description:
      'static VRFs: a list of {name, rd, import-rts, export-rts, label-mode (per-vrf, per-prefix, per-ce), label, label-block (FIRST-LAST), max-routes (LIMIT or {limit, warning-percent, warning-only})}',
  },
  ...serviceAuthSettings,
];

type Entry = { [key: string]: SettingValue };

const NEIGHBOR_KEYS = new Set([
  'address',
  'remote-as',
  'local-address',
  'port',
  'families',
  'hold-time',
  'keepalive-time',
  'connect-retry-time',
  'passive',
  'route-reflector-client',
  'next-hop-self',
  'vrf',
  'description',
  'admin-down',
  'as-override',
  'allowas-in',
  'max-prefix',
  'site-of-origin',
]);

const MAX_PREFIX_KEYS = new Set(['limit', 'warning-percent', 'action', 'restart-interval']);

/** `max-prefix: N` or `{limit, warning-percent, action: limit | warning-only, restart-interval}`. */
function maxPrefixSetting(where: string, v: SettingValue | undefined): MaxPrefixInput | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return { limit: v };
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${where}.max-prefix must be a number or a map`);
  const m = v as Entry;
  for (const k of Object.keys(m)) if (!MAX_PREFIX_KEYS.has(k)) throw new ConfigError(`${where}.max-prefix: unknown key '${k}'`);
  const int = (k: string) => {
    const x = m[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'number' || !Number.isInteger(x)) throw new ConfigError(`${where}.max-prefix.${k} must be an integer`);
    return x;
  };
  const action = m['action'];
  if (action !== undefined && action !== 'limit' && action !== 'warning-only') throw new ConfigError(`${where}.max-prefix.action must be limit or warning-only`);
  return { limit: int('limit') ?? 0, warningPercent: int('warning-percent'), action: action as MaxPrefixInput['action'], restartInterval: int('restart-interval') };
}

/** bgp.neighbors as peer configs; ConfigError naming the entry and field. */
export function staticNeighbors(value: SettingValue): PeerConfig[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError('bgp.neighbors must be a list');
  return value.map((raw, i) => {
    const where = `bgp.neighbors[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${where} must be a map`);
    const e = raw as Entry;
    for (const k of Object.keys(e)) if (!NEIGHBOR_KEYS.has(k)) throw new ConfigError(`${where}: unknown key '${k}'`);
    const num = (k: string) => {
      const v = e[k];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(`${where}.${k} must be an integer`);
      return v;
    };
    const str = (k: string) => {
      const v = e[k];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string') throw new ConfigError(`${where}.${k} must be a string`);
      return v;
    };
    const bool = (k: string) => {
      const v = e[k];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'boolean') throw new ConfigError(`${where}.${k} must be true or false`);
      return v;
    };
    const families = e['families'];
    if (families !== undefined && !Array.isArray(families)) throw new ConfigError(`${where}.families must be a list`);
    try {
      return peerConfig({
        address: str('address') ?? '',
        remoteAs: num('remote-as') ?? 0,
        localAddress: str('local-address'),
        port: num('port'),
        families: (families ?? []).map((f) => {
          const fam = typeof f === 'string' ? parseFamilyName(f) : undefined;
          if (!fam) throw new ConfigError(`${where}.families: '${String(f)}' is not one of ipv4-unicast, ipv6-unicast, vpn-ipv4, vpn-ipv6, rtc`);
          return fam;
        }),
        holdTime: num('hold-time'),
        keepaliveTime: num('keepalive-time'),
        connectRetryTime: num('connect-retry-time'),
        passive: bool('passive'),
        routeReflectorClient: bool('route-reflector-client'),
        nextHopSelf: bool('next-hop-self'),
        vrf: str('vrf'),
        description: str('description'),
        adminDown: bool('admin-down'),
        asOverride: bool('as-override'),
        allowAsIn: num('allowas-in'),
        maxPrefix: maxPrefixSetting(where, e['max-prefix']),
        siteOfOrigin: str('site-of-origin'),
      });
    } catch (err) {
      if (err instanceof PeerConfigError) throw new ConfigError(`${where}.${err.field.replace(/_/g, '-')}: ${err.message.slice(err.field.length + 2)}`);
      throw err;
    }
  });
}

export function speakerConfig(settings: Settings): SpeakerConfig {
  try {
    return checkSpeakerConfig({
      as: Number(settings['bgp.as']),
      routerId: String(settings['bgp.router-id']),
      listenAddress: String(settings['bgp.listen-address']),
      port: Number(settings['bgp.port']),
      gracefulRestartTime: Number(settings['bgp.graceful-restart-time']),
      restartDeferralTime: Number(settings['bgp.restart-deferral-seconds']),
      idleHoldTime: Number(settings['bgp.idle-hold-time']),
      idleHoldMaxTime: Number(settings['bgp.idle-hold-max-time']),
      clusterId: settings['bgp.cluster-id'] ? String(settings['bgp.cluster-id']) : undefined,
      rtcWaitTime: settings['bgp.rtc-wait-time'] === undefined ? undefined : Number(settings['bgp.rtc-wait-time']),
    });
  } catch (err) {
    if (err instanceof PeerConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

export interface RunningBgp extends RunningService {
  readonly speaker: Speaker;
  readonly vrfs: VrfService;
  /** The BGP port actually bound (bgp.port 0 picks one). */
  readonly bgpPort: number;
}

export async function startBgp(settings: Settings, log: Logger, options: StartOptions = {}): Promise<RunningBgp> {
  const config = speakerConfig(settings);
  // Files read (and refused) before anything binds.
  const auth = options.auth ?? serviceAuth(settings);
  const tls = tlsMaterial(settings);
  const neighbors = staticNeighbors(settings['bgp.neighbors'] ?? []);
  const seen = new Set<string>();
  for (const n of neighbors) {
    const key = peerKey(n);
    if (seen.has(key)) throw new ConfigError(`bgp.neighbors: ${key} is listed twice`);
    seen.add(key);
  }
  const vrfConfigs = staticVrfs(settings['bgp.vrfs']);
  const speaker = new Speaker(config, log);
  await speaker.listen();
  const vrfs = vrfServiceFor(speaker, log);
  // Before any session: PE-CE peers find their VRF and RT-constraint peers get our memberships at once.
  for (const v of vrfConfigs) vrfs.add(v);
  const metrics = bgpMetrics(speaker, vrfs);
  let grpc;
  try {
    grpc = await startGrpcServer({ listen: String(settings['bgp.grpc-listen']), services: [bgpGrpcService(speaker, log, vrfs)], log, tls, metrics, callers: auth.callers });
  } catch (err) {
    vrfs.close();
    await speaker.stop();
    throw err;
  }
  for (const n of neighbors) speaker.addPeer(n);
  log.info({ neighbors: neighbors.length, vrfs: vrfConfigs.length }, 'bgp service ready');
  return {
    name: 'bgp',
    grpcPort: grpc.port,
    metrics,
    checks: [
      {
        name: 'bgp-listener',
        check: async () => {
          if (!speaker.port) throw new Error('the BGP listener is not bound');
        },
      },
    ],
    speaker,
    vrfs,
    bgpPort: speaker.port,
    stop: async (graceMs) => {
      await grpc.stop(graceMs);
      vrfs.close();
      await speaker.stop();
    },
  };
}
