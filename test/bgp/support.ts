// Starts the bgp service in-process and talks to it through its gRPC API.
import { commonSettings, loadSettings } from '../../services/common/config.js';
import { BgpServiceClient, Family, TableType, type Path, type Peer } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { callerOptions } from '../../services/common/grpc/caller.js';
import { promiseClient, type PromiseClient } from '../../services/common/grpc/client.js';
import { callerAs, serviceAuthEnv, type TestPrincipal } from '../support/service-auth.js';
import { createLogger } from '../../services/common/logger.js';
import { bgpSettings, startBgp, type RunningBgp } from '../../services/bgp/main.js';

export type BgpClient = PromiseClient<InstanceType<typeof BgpServiceClient>>;

export interface StartedBgp {
  svc: RunningBgp;
  client: BgpClient;
  /** Every path of a family in a table, through the ListPath stream. */
  listPath(family: Family, table: TableType, peer?: string): Promise<Path[]>;
  peer(address: string): Promise<Peer>;
  stop(): Promise<void>;
}

/** A raw client of a bgp service calling as `principal` (this run's service:vpn by default). */
export function bgpRawClient(address: string, principal: TestPrincipal = 'service:vpn'): InstanceType<typeof BgpServiceClient> {
  const caller = callerAs(principal);
  return new BgpServiceClient(address, caller.channel, callerOptions(caller));
}

/** The bgp service in this process, accepting this run's test principals; its client calls as service:vpn. */
export async function startTestBgp(env: Record<string, string>, neighbors: object[] = []): Promise<StartedBgp> {
  const settings = loadSettings([...commonSettings, ...bgpSettings], {
    env: { BGP_GRPC_LISTEN: '127.0.0.1:0', BGP_NEIGHBORS: JSON.stringify(neighbors), ...serviceAuthEnv(), ...env },
  });
  const svc = await startBgp(settings, createLogger('bgp-test', process.env.BGP_TEST_LOG ?? 'error'));
  const raw = bgpRawClient(`127.0.0.1:${svc.grpcPort}`);
  const client = promiseClient(raw);
  const listPath = (family: Family, table: TableType, peer = '') =>
    new Promise<Path[]>((resolve, reject) => {
      const out: Path[] = [];
      const stream = raw.listPath({ family, table, peer, rd: '', prefix: '' });
      stream.on('data', (r: { paths: Path[] }) => out.push(...r.paths));
      stream.on('end', () => resolve(out));
      stream.on('error', reject);
    });
  const peer = async (address: string) => {
    const { peers } = await client.listPeers({ address });
    return peers[0]!;
  };
  return {
    svc,
    client,
    listPath,
    peer,
    stop: async () => {
      client.close();
      await svc.stop(1000);
    },
  };
}

export { Family, TableType };
