// Schema-driven fuzzing of BgpService (issue 13 §5): every method with
// requests generated from bgp.proto, well shaped, mutated on the wire and
// random; never INTERNAL or UNKNOWN, no long echo, healthy after each.
// Peers the fuzzer adds are administratively down unless they are loopback
// addresses, so the test never dials out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { BgpServiceService } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { bgpServiceCredentials, noCredentials } from '../support/fuzz/grpc-credentials.js';
import { fuzzGrpcService, summary, type GrpcFuzzTarget } from '../support/fuzz/grpc-fuzz.js';
import { fuzzPlan } from '../support/fuzz/plan.js';
import { testSecret } from '../support/service-auth.js';
import { startTestBgp, type StartedBgp } from './support.js';

/** Whether BgpService refuses callers without credentials (it will once service authentication lands; then set true). */

const LOOPBACK_PEERS = ['127.0.33.1', '127.0.33.2'];

/** Keeps a generated peer from connecting anywhere but loopback. */
function staysHome(method: string, request: Record<string, unknown>): Record<string, unknown> {
  if (method !== 'AddPeer' && method !== 'UpdatePeer') return request;
  const peer = request.peer as Record<string, unknown> | undefined;
  if (!peer || LOOPBACK_PEERS.includes(String(peer.address))) return request;
  return { ...request, peer: { ...peer, adminDown: true } };
}

describe('BgpService fuzz', () => {
  let bgp: StartedBgp;
  let target: GrpcFuzzTarget;

  before(async () => {
    bgp = await startTestBgp({ BGP_AS: '65000', BGP_ROUTER_ID: '10.255.33.1', BGP_LISTEN_ADDRESS: '127.0.0.1', BGP_PORT: '0' }, [
      { address: LOOPBACK_PEERS[0], 'remote-as': 65001, passive: true, families: ['ipv4-unicast', 'vpn-ipv4'] },
    ]);
    target = {
      service: 'l3vpn.v1.BgpService',
      address: `127.0.0.1:${bgp.svc.grpcPort}`,
      definition: BgpServiceService,
      credentials: bgpServiceCredentials(testSecret('service:vpn')),
      hints: {
        address: LOOPBACK_PEERS,
        peer: LOOPBACK_PEERS,
        name: ['red', 'blue'],
        vrf: ['red', ''],
        rd: ['65000:1', '192.0.2.1:7'],
        prefix: ['10.1.0.0/24', '2001:db8::/64'],
        next_hop: ['192.0.2.1', '127.0.33.1'],
        owner: ['vpn', ''],
        import_route_targets: ['65000:1'],
        export_route_targets: ['65000:1'],
      },
      shape: staysHome,
      shapedOnly: ['AddPeer', 'UpdatePeer'],
    };
  });
  after(async () => {
    await bgp?.stop();
  });

  test('no request is answered INTERNAL or UNKNOWN, none echoes its input, the service stays healthy', async () => {
    const plan = fuzzPlan('BgpService', { runsPerOperation: 60, budgetMs: 45_000 });
    const seen = await fuzzGrpcService(target, plan);
    console.log(`[fuzz] BgpService answers in ${plan.elapsedMs()} ms:\n${summary(seen)}`);
  });

  test('without credentials', async () => {
    const plan = fuzzPlan('BgpService unauthenticated', { runsPerOperation: 3, budgetMs: 10_000 });
    await fuzzGrpcService({ ...target, credentials: noCredentials() }, plan, { shapedOnly: true, expect: status.UNAUTHENTICATED });
    assert.ok(true);
  });
});
