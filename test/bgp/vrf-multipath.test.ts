// VRF multipath over the gRPC API, as the vpn service uses it (one speaker,
// a VRF per VPN and PE): an all-active site's prefix added in PE2's and
// PE3's VRFs (their own RDs and next hops, equal LOCAL_PREF) is imported
// into PE1's VRF twice; with VrfConfig.multipath PE1's VRF lists the best
// and the other as a multipath path (ListVrfPaths) and reports the set on
// WatchVrfRoutes, also when only the set changes; unequal LOCAL_PREF, or
// multipath off, gives the best alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Family, LabelMode, Origin, Path, type ListVrfPathsResponse, type VrfConfig, type VrfPath, type VrfRouteChange, type WatchVrfRoutesResponse } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { eventually } from '../support/eventually.js';
import { bgpRawClient, startTestBgp, type StartedBgp } from './support.js';

let bgp: StartedBgp | undefined;
let raw: ReturnType<typeof bgpRawClient> | undefined;
const api = () => bgp!.client;
const RT = ['65000:900'];
const PREFIX = '10.9.0.0/24';

const vrf = (name: string, rd: string, nextHop: string, multipath?: number): VrfConfig => ({
  name,
  rd,
  importRouteTargets: RT,
  exportRouteTargets: RT,
  labelMode: LabelMode.LABEL_MODE_PER_VRF,
  label: 500,
  ipv6Label: 0,
  nextHop,
  owner: 'vpn',
  ...(multipath !== undefined ? { multipath } : {}),
});
const path = (localPref?: number) => Path.fromPartial({ family: Family.FAMILY_IPV4_UNICAST, prefix: PREFIX, origin: Origin.ORIGIN_IGP, ...(localPref !== undefined ? { localPref } : {}) });

function vrfPaths(name: string, allPaths = false): Promise<VrfPath[]> {
  return new Promise((resolve, reject) => {
    const out: VrfPath[] = [];
    const s = raw!.listVrfPaths({ vrf: name, family: Family.FAMILY_UNSPECIFIED, prefix: PREFIX, allPaths }, { deadline: Date.now() + 5000 });
    s.on('data', (r: ListVrfPathsResponse) => out.push(...r.paths));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

const view = (p: VrfPath) => [p.nextHop, p.label, p.rd, p.best, p.multipath];

before(async () => {
  bgp = await startTestBgp({ BGP_AS: '65000', BGP_ROUTER_ID: '10.255.32.1', BGP_LISTEN_ADDRESS: '127.0.0.1', BGP_PORT: '0' });
  raw = bgpRawClient(`127.0.0.1:${bgp.svc.grpcPort}`);
});
after(async () => {
  raw?.close();
  await bgp?.stop();
});

test('VRF multipath over gRPC: best plus the equal path of the other PE, listed and watched; a set change alone is reported; unequal LOCAL_PREF or multipath off: the best alone', async () => {
  const changes: VrfRouteChange[] = [];
  const watch = raw!.watchVrfRoutes({ vrf: 'acme@pe1' });
  watch.on('data', (m: WatchVrfRoutesResponse) => {
    if (m.event?.$case === 'routes') changes.push(...m.event.value.changes.filter((c) => c.prefix === PREFIX));
  });
  watch.on('error', () => undefined);
  try {
    const r = await api().addVrf({ vrf: vrf('acme@pe1', '65000:901', '198.51.100.91', 4) });
    assert.equal(r.vrf!.config!.multipath, 4);
    await api().addVrf({ vrf: vrf('acme@pe2', '65000:902', '198.51.100.92') });
    await api().addVrf({ vrf: vrf('acme@pe3', '65000:903', '198.51.100.93') });
    await api().addVrf({ vrf: vrf('acme@pe4', '65000:904', '198.51.100.94') });

    await api().addVrfPath({ vrf: 'acme@pe2', path: path(), label: 9201 });
    await eventually('PE1 imports PE2\u2019s path', async () => (await vrfPaths('acme@pe1')).length === 1);
    const seen = changes.length;
    await api().addVrfPath({ vrf: 'acme@pe3', path: path(), label: 9301 });
    // The best stays PE2's (lowest RD, the last tie-break between the speaker's own exports), PE3's joins it.
    const both = [
      ['198.51.100.92', 9201, '65000:902', true, false],
      ['198.51.100.93', 9301, '65000:903', false, true],
    ];
    await eventually('PE1 balances over PE2 and PE3', async () => JSON.stringify((await vrfPaths('acme@pe1')).map(view)) === JSON.stringify(both));
    assert.deepEqual((await vrfPaths('acme@pe1', true)).map(view).sort(), both);
    // The stream told it, with the same best: only the set changed.
    const last = await eventually('a multipath change on the stream', () => changes.slice(seen).find((c) => c.multipath.length === 1));
    assert.deepEqual([last.best?.nextHop, last.multipath.map((p) => [p.nextHop, p.label, p.multipath])], ['198.51.100.92', [['198.51.100.93', 9301, true]]]);
    // A VRF without multipath (PE4's) has the best alone.
    assert.deepEqual((await vrfPaths('acme@pe4')).map(view), [['198.51.100.92', 9201, '65000:902', true, false]]);

    // PE3's access is preferred now (single-active): unequal LOCAL_PREF, PE3 alone.
    const before = changes.length;
    await api().addVrfPath({ vrf: 'acme@pe3', path: path(200), label: 9301 });
    await eventually('PE3 alone', async () => JSON.stringify((await vrfPaths('acme@pe1')).map(view)) === JSON.stringify([['198.51.100.93', 9301, '65000:903', true, false]]));
    await eventually('the stream says so', () => changes.slice(before).some((c) => c.best?.nextHop === '198.51.100.93' && c.multipath.length === 0));
  } finally {
    watch.cancel();
  }
});
