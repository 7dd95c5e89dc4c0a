// A non-revertive single-active site, controller side: the vpn service over
// the real bgp service with fake agents reporting their ports
// (ReportStatus). The LOCAL_PREFs of the site's VPN routes, as the bgp
// service holds them at each PE, follow the active access: the primary's
// failure hands it to the backup, which keeps it when the primary returns
// (also across a vpn restart), until the backup fails in turn or an operator
// reverts (POST /v1/sites/{id}/revert: 409 while the primary is down).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReportStatusRequest, type PortState } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { bgpApi, listVrfPaths, type BgpApi } from '../../services/vpn/routes/bgp-client.js';
import { callerAs } from '../support/service-auth.js';
import { VrfPathOrigin } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { startTestBgp, type StartedBgp } from '../bgp/support.js';
import { eventually, startReconcileHarness, type ReconcileHarness } from './reconcile-support.js';

const pe = (id: string, n: number) => ({ id, role: 'PE', routerId: `10.255.27.${n}`, loopback: `198.51.100.${n}`, asNumber: 65000, transport: 'external' });
const PREFIX = '10.70.0.0/16';
const dual = (id: string, n: number, extra: Record<string, unknown> = {}) => ({
  id,
  vpn: 'acme',
  accesses: [
    { id: 'west', node: 'pe1', interface: 'cust1', vlan: 170 + n, ipv4: { peAddress: `172.16.${70 + n}.1/30`, ceAddress: `172.16.${70 + n}.2` }, priority: 200 },
    { id: 'east', node: 'pe2', interface: 'cust1', vlan: 180 + n, ipv4: { peAddress: `172.16.${80 + n}.1/30`, ceAddress: `172.16.${80 + n}.2` } },
  ],
  routing: { static: [{ prefix: `10.${70 + n}.0.0/16` }] },
  ...extra,
});

describe('non-revertive single-active site (fake agents, real bgp service)', { timeout: 240_000 }, () => {
  let bgp: StartedBgp;
  let api: BgpApi;
  let h: ReconcileHarness;
  const ports: Record<string, PortState[]> = { pe1: [], pe2: [] };

  const report = async (node: string) => {
    const { client, metadata } = await h.agent(node);
    const latest = await h.vpn.store.latest(node);
    const req = ReportStatusRequest.fromPartial({ node, appliedGeneration: latest?.generation ?? 0, driver: 'fake', ports: ports[node] });
    await new Promise((resolve, reject) => client.reportStatus(req, metadata, (e, r) => (e ? reject(e) : resolve(r))));
  };
  /** Waits for `condition` while both fake agents keep applying whatever is stored and reporting it. */
  const converge = (what: string, condition: () => Promise<boolean>) =>
    eventually(what, async () => {
      for (const n of ['pe1', 'pe2']) await report(n);
      return condition();
    }, 30_000);
  const cut = (node: string, down: boolean) => {
    ports[node] = down ? [{ interface: 'cust1', up: false, reason: 'link down' }] : [];
  };
  /** The LOCAL_PREF of the site's VPN route each PE originates, as the bgp service holds it (absent: not advertised). */
  const localPrefs = async () => {
    const out: Record<string, number | undefined> = {};
    for (const node of ['pe1', 'pe2']) {
      out[node] = (await listVrfPaths(api, `acme@${node}`, true)).find((p) => p.origin === VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL && p.prefix === PREFIX)?.path?.localPref;
    }
    return out;
  };
  const site = async () => (await h.call('GET', '/v1/sites/nr')).body as { revertive?: boolean; activeAccess?: string; accesses: { id: string; status: { state: string } }[] };
  const settled = (active: string, lp: Record<string, number | undefined>) =>
    converge(`${active} active, LOCAL_PREFs ${JSON.stringify(lp)}`, async () => (await site()).activeAccess === active && JSON.stringify(await localPrefs()) === JSON.stringify(lp));
  /** Still so after more reports and reconciles: nothing takes the traffic back by itself. */
  const stays = async (active: string, lp: Record<string, number | undefined>) => {
    for (let i = 0; i < 5; i++) {
      for (const n of ['pe1', 'pe2']) await report(n);
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal((await site()).activeAccess, active);
    assert.deepEqual(await localPrefs(), lp);
  };
  const revert = (id = 'nr') => h.call('POST', `/v1/sites/${id}/revert`);

  before(async () => {
    bgp = await startTestBgp({ BGP_AS: '65000', BGP_ROUTER_ID: '10.255.27.100', BGP_PORT: '0' });
    api = bgpApi(`127.0.0.1:${bgp.svc.grpcPort}`, callerAs('service:vpn'));
    h = await startReconcileHarness({
      VPN_BGP_ADDRESS: `127.0.0.1:${bgp.svc.grpcPort}`,
      VPN_ORIGINATE_AFTER_INSTALL: 'true',
      VPN_REQUIRE_AGENTS: 'true',
      // Long enough that the restart below does not make an agent unreachable (which is a failure, and would move the traffic).
      VPN_AGENT_TIMEOUT_SECONDS: '60',
    });
    for (const [id, n] of [['pe1', 1], ['pe2', 2]] as const) assert.equal((await h.call('POST', '/v1/nodes', { body: pe(id, n) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: { id: 'acme', customer: 'acme' } })).status, 201);
  });
  after(async () => {
    api?.close();
    await h?.stop();
    await bgp?.stop();
  });

  test('the backup keeps the traffic after the primary returns, across a restart, until it fails itself; the operator reverts once the primary is up', async () => {
    const created = await h.call('POST', '/v1/sites', { body: dual('nr', 0, { revertive: false }) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.revertive, false);
    await settled('west', { pe1: 200, pe2: 100 });

    cut('pe1', true);
    await settled('east', { pe1: undefined, pe2: 200 });
    cut('pe1', false);
    await settled('east', { pe1: 100, pe2: 200 });
    await stays('east', { pe1: 100, pe2: 200 });

    h = await h.restartVpn();
    await stays('east', { pe1: 100, pe2: 200 });

    cut('pe2', true);
    await settled('west', { pe1: 200, pe2: undefined });
    cut('pe2', false);
    await settled('west', { pe1: 200, pe2: 100 });
    await stays('west', { pe1: 200, pe2: 100 });

    cut('pe1', true);
    await settled('east', { pe1: undefined, pe2: 200 });
    await converge('the primary access down', async () => (await site()).accesses.find((a) => a.id === 'west')?.status.state === 'down');
    const early = await revert();
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.match(early.body.detail, /primary access west \(pe1 cust1\) is down/);
    cut('pe1', false);
    await converge('the primary access active again', async () => (await site()).accesses.find((a) => a.id === 'west')?.status.state === 'active');
    await stays('east', { pe1: 100, pe2: 200 });
    const reverted = await revert();
    assert.equal(reverted.status, 200, JSON.stringify(reverted.body));
    assert.equal(reverted.body.activeAccess, 'west');
    await settled('west', { pe1: 200, pe2: 100 });
    await stays('west', { pe1: 200, pe2: 100 });
  });

  test('revert is refused (422) on a revertive site (shown with its default) and on a one-access site; 404 for no site', async () => {
    assert.equal((await h.call('POST', '/v1/sites', { body: dual('rv', 1) })).status, 201);
    assert.equal((await h.call('GET', '/v1/sites/rv')).body.revertive, true, 'shown with its default');
    const r = await revert('rv');
    assert.equal(r.status, 422);
    assert.match(r.body.detail, /revertive/);
    const one = { id: 'one', vpn: 'acme', node: 'pe1', interface: 'cust2', vlan: 190, ipv4: { peAddress: '172.16.90.1/30', ceAddress: '172.16.90.2' } };
    assert.equal((await h.call('POST', '/v1/sites', { body: one })).status, 201);
    assert.equal((await revert('one')).status, 422);
    assert.equal((await revert('nope')).status, 404);
  });
});
