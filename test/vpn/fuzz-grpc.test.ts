// Schema-driven fuzzing of the vpn service's gRPC API (issue 13 §5):
// VpnService with an admin token, AgentService with a node's agent identity
// (and bogus node ids, identities and reports), each method's requests from
// its proto: never INTERNAL or UNKNOWN, no long echo, healthy afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { AgentServiceService } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { VpnServiceService } from '../../services/common/gen/proto/l3vpn/v1/vpn.js';
import { agentServiceCredentials, bogusCredentials, noCredentials, vpnServiceCredentials } from '../support/fuzz/grpc-credentials.js';
import { fuzzGrpcService, summary, type GrpcFuzzTarget } from '../support/fuzz/grpc-fuzz.js';
import { fuzzPlan } from '../support/fuzz/plan.js';
import { pe, siteBody, startVpnHarness, vpnBody, type VpnHarness } from './support.js';

describe('vpn gRPC fuzz', () => {
  let h: VpnHarness;
  let vpnTarget: GrpcFuzzTarget;
  let agentTarget: GrpcFuzzTarget;

  before(async () => {
    h = await startVpnHarness();
    for (const [path, body] of [
      ['/v1/nodes', pe('pe1', 1)],
      ['/v1/nodes', pe('pe2', 2)],
      ['/v1/vpns', vpnBody('acme')],
      ['/v1/sites', siteBody('s1', 'acme', 'pe1', 1)],
    ] as const) {
      assert.equal((await h.call('POST', path, { body })).status, 201);
    }
    const agentCredential = await h.enrol('pe1');
    const address = `127.0.0.1:${h.vpn.grpcPort}`;
    const ids = ['pe1', 'pe2', 'acme', 's1', 'acme:pe1'];
    vpnTarget = {
      service: 'l3vpn.v1.VpnService',
      address,
      definition: VpnServiceService,
      credentials: vpnServiceCredentials(h.tokens.admin),
      hints: {
        id: ids,
        node: ['pe1', 'pe2'],
        vpn: ['acme'],
        customer: ['acme'],
        role: ['PE', 'P', 'hub'],
        status: ['active', 'pending'],
        page_token: ['', 'pe1'],
        interface: ['eth1', 'eth2'],
        pe_address: ['10.7.0.1/30', '2001:db8:7::1/64'],
        ce_address: ['10.7.0.2', '2001:db8:7::2'],
        name: ['pe9', 'core'],
      },
    };
    agentTarget = {
      service: 'l3vpn.v1.AgentService',
      address,
      definition: AgentServiceService,
      credentials: agentServiceCredentials(agentCredential),
      hints: { node: ['pe1', 'pe1', 'pe2'], name: ['acme', 'eth1'], vrf: ['acme'], interface: ['eth1'], id: ['pe1-pe2'] },
    };
  });
  after(async () => {
    await h?.stop();
  });

  test('VpnService: no request is answered INTERNAL or UNKNOWN, none echoes its input, the service stays healthy', async () => {
    const plan = fuzzPlan('VpnService', { runsPerOperation: 40, budgetMs: 45_000 });
    const seen = await fuzzGrpcService(vpnTarget, plan);
    console.log(`[fuzz] VpnService answers in ${plan.elapsedMs()} ms:\n${summary(seen)}`);
  });

  test('AgentService: bogus node ids, reports and bytes with a valid identity; the same', async () => {
    const plan = fuzzPlan('AgentService', { runsPerOperation: 150, budgetMs: 20_000 });
    const seen = await fuzzGrpcService(agentTarget, plan);
    console.log(`[fuzz] AgentService answers in ${plan.elapsedMs()} ms:\n${summary(seen)}`);
  });

  test('without credentials, or with a made-up one, every call is UNAUTHENTICATED', async () => {
    const plan = fuzzPlan('vpn gRPC unauthenticated', { runsPerOperation: 3, budgetMs: 10_000 });
    for (const credentials of [noCredentials(), bogusCredentials()]) {
      await fuzzGrpcService({ ...vpnTarget, credentials }, plan, { shapedOnly: true, expect: status.UNAUTHENTICATED });
      await fuzzGrpcService({ ...agentTarget, credentials }, plan, { shapedOnly: true, expect: status.UNAUTHENTICATED });
    }
  });
});
