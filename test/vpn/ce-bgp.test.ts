// PE-CE eBGP as a service: the vpn service over the real bgp service.
//
//     vpn (REST, worker) --gRPC--> bgp service 127.0.35.1 (AS 65000)
//          |                         VRF acme@pe1 + relayed peer 172.16.1.2%acme@pe1
//          +--gRPC-- a test client as pe1's (and pe2's) agent: RelayCeSession
//
// A site with routing.bgp becomes a relayed peer of the speaker (ListPeers
// shows it with the site's AS, options and per-CE label), its VRF interface
// lists the session for the agent, its reads show the session per access;
// changing peerAs updates the peer; deleting the site removes it. The relay
// refuses another node's agent and a session its node does not have.
//
// Until the bgp service serves relayed peers (PeerConfig.relayed, another
// change), it keeps the peer as an ordinary passive one: then what only a
// relaying speaker reports (relayed, route_label, zoned name) is not
// asserted, and the relay's speaker side answers UNIMPLEMENTED.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { Family, type Peer } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import type { RelayCeSessionRequest, RelayCeSessionResponse } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { startTestBgp, type StartedBgp } from '../bgp/support.js';
import { Metadata } from '@grpc/grpc-js';
import { SiteMaxPrefixAction, VpnServiceClient } from '../../services/common/gen/proto/l3vpn/v1/vpn.js';
import { insecure, promiseClient } from '../../services/common/grpc/client.js';
import { eventually, startReconcileHarness, type ReconcileHarness } from './reconcile-support.js';

const AS = 65000;
const SPEAKER = '127.0.35.1';

const pe = (id: string, n: number) => ({ id, role: 'PE', routerId: `10.255.35.${n}`, loopback: `198.51.100.${n}`, asNumber: AS, transport: 'external' });
const site = (peerAs: number, extra: Record<string, unknown> = {}) => ({
  id: 'acme-hq',
  vpn: 'acme',
  node: 'pe1',
  interface: 'cust0',
  vlan: 101,
  ipv4: { peAddress: '172.16.1.1/30', ceAddress: '172.16.1.2' },
  routing: { bgp: { peerAs, ...extra } },
  siteOfOrigin: '65000:42',
});

describe('PE-CE eBGP over the bgp service (relayed peers)', { timeout: 120_000 }, () => {
  let bgp: StartedBgp | undefined;
  let h: ReconcileHarness | undefined;
  const H = () => h!;

  const ours = async (): Promise<Peer[]> => (await bgp!.client.listPeers({ address: '' })).peers.filter((p) => p.config?.vrf === 'acme@pe1');
  const waitPeer = (what: string, ok: (p: Peer | undefined, all: Peer[]) => boolean) =>
    eventually(what, async () => {
      const all = await ours();
      return ok(all[0], all);
    }, 30_000);

  before(async () => {
    bgp = await startTestBgp({ BGP_AS: String(AS), BGP_ROUTER_ID: '10.255.35.100', BGP_LISTEN_ADDRESS: SPEAKER, BGP_PORT: '0' });
    h = await startReconcileHarness({ VPN_BGP_ADDRESS: `127.0.0.1:${bgp.svc.grpcPort}` });
    for (const [id, n] of [['pe1', 1], ['pe2', 2]] as const) assert.equal((await H().call('POST', '/v1/nodes', { body: pe(id, n) })).status, 201);
    assert.equal((await H().call('POST', '/v1/vpns', { body: { id: 'acme', customer: 'acme', labelMode: 'per-ce' } })).status, 201);
  });
  after(async () => {
    await h?.stop();
    await bgp?.stop();
  });

  test('a site with routing.bgp on pe1 becomes a relayed peer of VRF acme@pe1 with its AS, options, site of origin and per-CE label', async () => {
    const created = await H().call('POST', '/v1/sites', { body: site(65101, { asOverride: true, allowasIn: 2, maxPrefix: { limit: 500, action: 'warning-only' } }) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.routing.bgp, { peerAs: 65101, asOverride: true, allowasIn: 2, maxPrefix: { limit: 500, action: 'warning-only' } });
    await waitPeer('the relayed peer on the speaker', (p) => p !== undefined);
    const [peer, ...more] = await ours();
    assert.equal(more.length, 0);
    const c = peer!.config!;
    assert.equal(c.address.split('%')[0], '172.16.1.2');
    assert.equal(c.vrf, 'acme@pe1');
    assert.equal(c.remoteAs, 65101);
    assert.deepEqual(c.families, [Family.FAMILY_IPV4_UNICAST]);
    // Relayed peers are passive by definition; a speaker that does not know them must at least never dial the CE.
    if (!c.relayed) assert.equal(c.passive, true);
    assert.equal(c.asOverride, true);
    assert.equal(c.allowasIn, 2);
    assert.equal(c.maxPrefix?.limit, 500);
    assert.equal(c.siteOfOrigin, '65000:42');
    assert.match(c.description, /^vpn: site acme-hq access acme-hq of VPN acme$/);

    // The agent is told to relay it: pe1's VRF interface lists the session, and the per-CE label pops and forwards to
    // the CE (the peer may be defined on the speaker a run before the desired state that has both is saved).
    const ceLabel = await eventually('the session and the per-CE label in pe1\'s desired state', async () => {
      const state = (await H().vpn.store.latest('pe1'))?.state;
      const vrf = state?.vrfs.find((v) => v.vpn === 'acme');
      const listed = vrf?.interfaces.some((i) => i.name === 'cust0' && i.vlan === 101 && i.bgpSessions.some((s) => s.ceAddress === '172.16.1.2' && s.peAddress === '172.16.1.1'));
      return listed ? state!.lfibEntries.find((e) => e.owner === 'ce:acme:acme-hq')?.inLabel : undefined;
    });
    if (c.relayed) {
      // A speaker serving relayed peers: the CE's routes are exported with the access's per-CE label.
      assert.equal(c.routeLabel, ceLabel);
    }

    // The site's read shows the session per access, as the speaker reports it (not established: no CE connects).
    await eventually('the session in the site view', async () => {
      const s = (await H().call('GET', '/v1/sites/acme-hq')).body.accesses[0].bgpSessions?.[0];
      return s?.ceAddress === '172.16.1.2' && s.state !== 'unknown' && s.state !== 'established';
    });
    // gRPC GetSite shows them too.
    const grpc = promiseClient(new VpnServiceClient(`127.0.0.1:${H().vpn.grpcPort}`, insecure()));
    try {
      const md = new Metadata();
      md.set('authorization', `Bearer ${H().tokens.read}`);
      const got = (await grpc.getSite({ id: 'acme-hq' }, { metadata: md })).site!;
      assert.deepEqual(got.routing?.bgp, { peerAs: 65101, asOverride: true, allowasIn: 2, maxPrefix: { limit: 500, warningPercent: 0, action: SiteMaxPrefixAction.SITE_MAX_PREFIX_ACTION_WARNING_ONLY, restartInterval: 0 } });
      assert.equal(got.accesses[0]!.bgpSessions[0]!.ceAddress, '172.16.1.2');
      assert.notEqual(got.accesses[0]!.bgpSessions[0]!.state, 'unknown');
    } finally {
      grpc.close();
    }
    assert.match(await H().vpn.metrics!.metrics(), /l3vpn_site_access_bgp_session_up\{vpn="acme",site="acme-hq",access="acme-hq"[^}]*\} 0/);
  });

  test('the relay refuses another node\'s agent and a session its node does not have', async () => {
    const relay = async (as: string, open: Record<string, unknown>): Promise<ServiceError> => {
      const { client, metadata } = await H().agent(as);
      const call: ClientDuplexStream<RelayCeSessionRequest, RelayCeSessionResponse> = client.relayCeSession(metadata);
      const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
      call.on('data', () => {});
      call.write({ frame: { $case: 'open', value: { node: 'pe1', vrf: 'acme', interface: 'cust0', vlan: 101, ceAddress: '172.16.1.2', peAddress: '172.16.1.1', ...open } } });
      return ended;
    };
    const wrongNode = await relay('pe2', {});
    assert.equal(wrongNode.code, status.PERMISSION_DENIED, wrongNode.details);
    const unknown = await relay('pe1', { ceAddress: '172.16.1.3' });
    assert.equal(unknown.code, status.PERMISSION_DENIED, unknown.details);
    assert.match(unknown.details, /no PE-CE session 172\.16\.1\.3/);
    const otherVlan = await relay('pe1', { vlan: 102 });
    assert.equal(otherVlan.code, status.PERMISSION_DENIED);
  });

  test("pe1's agent relaying the session reaches the speaker's relayed peer: the speaker's OPEN comes back (RFC 4271 §8.2.2)", async () => {
    const relayed = (await ours())[0]!.config!.relayed;
    const { client, metadata } = await H().agent('pe1');
    const call: ClientDuplexStream<RelayCeSessionRequest, RelayCeSessionResponse> = client.relayCeSession(metadata);
    const received: Buffer[] = [];
    const outcome = new Promise<ServiceError | 'open'>((resolve) => {
      call.on('error', resolve);
      call.on('data', (r: RelayCeSessionResponse) => {
        received.push(r.data);
        const all = Buffer.concat(received);
        if (all.length >= 19) resolve(all[18] === 1 ? 'open' : (Object.assign(new Error(`message type ${all[18]}`), { code: -1, details: '' }) as ServiceError));
      });
    });
    call.write({ frame: { $case: 'open', value: { node: 'pe1', vrf: 'acme', interface: 'cust0', vlan: 101, ceAddress: '172.16.1.2', peAddress: '172.16.1.1' } } });
    // The CE's OPEN: version 4, AS 65101, hold time 90, BGP identifier 172.16.1.2, no optional parameters.
    const ceOpen = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 29, 1, 4, 0xfe, 0x4d, 0, 90, 172, 16, 1, 2, 0])]);
    call.write({ frame: { $case: 'data', value: ceOpen } });
    const got = await outcome;
    call.cancel();
    if (relayed) assert.equal(got, 'open');
    // A speaker without relayed peers does not serve RelayPeerSession: the agent is told so, with the speaker's code.
    else assert.equal((got as ServiceError).code, status.UNIMPLEMENTED, String((got as ServiceError).details));
  });

  test('changing peerAs updates the peer; deleting the site removes it', async () => {
    const patched = await H().call('PATCH', '/v1/sites/acme-hq', { body: { routing: { bgp: { peerAs: 65102 } } }, headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    await waitPeer('peerAs 65102 on the speaker', (p) => p?.config?.remoteAs === 65102);
    const c = (await ours())[0]!.config!;
    // A merge patch replacing routing.bgp's members keeps the others: asOverride stays.
    assert.equal(c.asOverride, true);

    const deleted = await H().call('DELETE', '/v1/sites/acme-hq');
    assert.ok(deleted.status < 300, JSON.stringify(deleted.body));
    await waitPeer('the peer removed', (_p, all) => all.length === 0);
  });
});
