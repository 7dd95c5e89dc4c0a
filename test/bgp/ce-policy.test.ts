// PE-CE policies against real CE daemons: as-override and site of origin
// with BIRD, max-prefix with FRR. Our speaker is the PE (AS 65000):
//
//     BIRD ce1  127.0.61.2 AS 65001 ─┐ red (10.61.1.0/24 from ce1)
//     BIRD ce2  127.0.61.3 AS 65001 ─┤ red (as-override)
//     FRR  ce4  127.0.61.4 AS 65004 ─┤ blue (max-prefix 3; announces 5)
//     BIRD ce5  127.0.61.5 AS 65005 ─┤ red   SoO 65000:7
//     BIRD ce6  127.0.61.6 AS 65006 ─┤ red2  SoO 65000:7 (same site as ce5, other VRF of the VPN)
//     BIRD ce7  127.0.61.7 AS 65007 ─┘ red2  SoO 65000:8
//                                   services/bgp 127.0.61.1 AS 65000
//
// What a CE holds is read through its own CLI. That a CE does NOT hold a
// route is only asserted after a later route (a marker added to its VRF
// after the one in question was offered) has reached it: one TCP stream,
// UPDATEs processed in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { Family, LabelMode, MaxPrefixAction, SessionState, type Path, type PeerConfig, type VrfConfig, type VrfPath } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { eventually } from '../support/eventually.js';
import { requirePeers, startBird, startFrr, type BirdPeer, type FrrPeer } from '../peers/index.js';
import { birdProtocolName } from '../peers/bird.js';
import { bgpRawClient, startTestBgp, type StartedBgp } from './support.js';

const AS = 65000;
const US = '127.0.61.1';
const CE1 = '127.0.61.2';
const CE2 = '127.0.61.3';
const CE4 = '127.0.61.4';
const CE5 = '127.0.61.5';
const CE6 = '127.0.61.6';
const CE7 = '127.0.61.7';
const skip = requirePeers('bird', 'frr');

function vrfConfig(name: string, rd: string, rt = '65000:100'): VrfConfig {
  return { name, rd, importRouteTargets: [rt], exportRouteTargets: [rt], labelMode: LabelMode.LABEL_MODE_PER_VRF, label: 500, ipv6Label: 0, owner: '' };
}

function peer(address: string, remoteAs: number, vrf: string, extra: Partial<PeerConfig> = {}): PeerConfig {
  return {
    address,
    remoteAs,
    localAddress: '',
    port: 0,
    families: [Family.FAMILY_IPV4_UNICAST],
    timers: { holdTime: 0, keepaliveInterval: 0, connectRetry: 1 },
    passive: false,
    routeReflectorClient: false,
    vrf,
    description: '',
    adminDown: false,
    nextHopSelf: false,
    asOverride: false,
    allowasIn: 0,
    siteOfOrigin: '',
    relayed: false,
    routeLabel: 0,
    ...extra,
  };
}

function unicastPath(prefix: string): Path {
  return {
    family: Family.FAMILY_IPV4_UNICAST,
    rd: '',
    prefix,
    labels: [],
    nextHop: '',
    routeTargets: [],
    routeOrigins: [],
    extendedCommunities: [],
    communities: [],
    asPath: [],
    origin: 0,
    atomicAggregate: false,
    originatorId: '',
    clusterList: [],
    unknownAttributes: [],
    source: '',
    stale: false,
  };
}

/** The IPv4 prefixes BIRD holds from us (its master4 table, our protocol; reachable or not: the next hop is ours on lo). */
async function birdPrefixes(bird: BirdPeer): Promise<string[]> {
  const out = await bird.birdc(['show', 'route', 'table', 'master4', 'protocol', birdProtocolName(US)]);
  return out
    .split('\n')
    .flatMap((l) => {
      const m = /^(\d+\.\d+\.\d+\.\d+\/\d+)\s/.exec(l);
      return m ? [m[1]!] : [];
    })
    .sort();
}

function ceBird(name: string, address: string, as: number, prefixes: string[]): Promise<BirdPeer> {
  return startBird({
    name,
    routerId: address.replace('127.', '10.'),
    address,
    localAs: as,
    neighbors: [{ address: US, remoteAs: AS, families: ['ipv4-unicast'] }],
    // BIRD refuses a static route via 127/8 ("Invalid next hop"); it sends itself as next hop anyway (eBGP).
    ipv4Routes: prefixes.map((prefix) => ({ prefix, nextHop: '198.51.100.1' })),
  });
}

test('PE-CE policies against BIRD and FRR CEs', { skip, timeout: 180_000 }, async (t) => {
  let bgp: StartedBgp | undefined;
  const daemons: { stop(): Promise<void> }[] = [];
  t.after(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await bgp?.stop();
  });
  bgp = await startTestBgp({ BGP_AS: String(AS), BGP_ROUTER_ID: '10.0.61.1', BGP_LISTEN_ADDRESS: US, BGP_PORT: '179' });
  const us = bgp;
  const client = us.client;
  await client.addVrf({ vrf: vrfConfig('red', '65000:1') });
  await client.addVrf({ vrf: vrfConfig('red2', '65000:2') });
  // FRR takes a 127/8 NEXT_HOP as invalid (NOTIFICATION 3/8): its VRF sends it nothing.
  await client.addVrf({ vrf: vrfConfig('blue', '65000:3', '65000:200') });
  const established = (address: string, ms = 30_000) =>
    eventually(`${address} Established at our side`, async () => (await us.peer(address)).status?.sessionState === SessionState.SESSION_STATE_ESTABLISHED, { timeoutMs: ms });
  const holds = (bird: BirdPeer, prefix: string, what: string) =>
    eventually(
      () => `${bird.name} to hold ${prefix} (${what})`,
      async () => (await birdPrefixes(bird)).includes(prefix),
      { timeoutMs: 20_000, describe: async () => `${bird.name} holds ${(await birdPrefixes(bird)).join(', ')}\n${bird.logTail(15)}` },
    );
  /** Adds a marker route to the VRF and waits until the CE holds it: everything offered before has been processed. */
  let markers = 0;
  const barrier = async (vrf: string, bird: BirdPeer) => {
    const prefix = `10.69.${++markers}.0/24`;
    await client.addVrfPath({ vrf, path: unicastPath(prefix) });
    await holds(bird, prefix, 'marker');
  };

  await t.test('policies where they mean nothing are INVALID_ARGUMENT naming the field', async () => {
    const refused = async (config: PeerConfig, field: string) =>
      assert.rejects(client.addPeer({ peer: config }), (err: { code: number; details: string }) => {
        assert.equal(err.code, status.INVALID_ARGUMENT, err.details);
        assert.match(err.details, new RegExp(`^${field.replace('.', '\\.')}:`));
        return true;
      });
    await refused(peer('127.0.61.100', 65001, '', { asOverride: true }), 'as_override');
    await refused(peer('127.0.61.100', 65001, '', { allowasIn: 2 }), 'allowas_in');
    await refused(peer('127.0.61.100', 65001, '', { siteOfOrigin: '65000:1' }), 'site_of_origin');
    await refused(peer('127.0.61.100', 65001, 'red', { allowasIn: 11 }), 'allowas_in');
    await refused(peer('127.0.61.100', 65001, 'red', { siteOfOrigin: 'site-a' }), 'site_of_origin');
    await refused(peer('127.0.61.100', AS, 'red', { asOverride: true }), 'as_override');
    await refused(peer('127.0.61.100', AS, 'red', { allowasIn: 1 }), 'allowas_in');
    await refused(peer('127.0.61.100', 65001, 'red', { maxPrefix: { limit: 0, warningPercent: 0, action: MaxPrefixAction.MAX_PREFIX_ACTION_LIMIT, restartInterval: 0 } }), 'max_prefix.limit');
    await refused(peer('127.0.61.100', 65001, 'red', { maxPrefix: { limit: 5, warningPercent: 0, action: 9 as MaxPrefixAction, restartInterval: 0 } }), 'max_prefix.action');
    assert.equal((await client.listPeers({ address: '' })).peers.length, 0, 'nothing was added');
    // Round trip of what was accepted.
    const { peer: added } = await client.addPeer({ peer: peer('127.0.61.100', 65001, 'red', { adminDown: true, siteOfOrigin: '4200000000:7', allowasIn: 2, maxPrefix: { limit: 9, warningPercent: 0, action: 0, restartInterval: 30 } }) });
    assert.deepEqual(
      { soo: added?.config?.siteOfOrigin, allowas: added?.config?.allowasIn, mp: added?.config?.maxPrefix },
      { soo: '4200000000:7', allowas: 2, mp: { limit: 9, warningPercent: 75, action: MaxPrefixAction.MAX_PREFIX_ACTION_LIMIT, restartInterval: 30 } },
    );
    await client.deletePeer({ address: '127.0.61.100' });
  });

  await t.test('as-override: a CE of AS 65001 gets the route of its sister site (AS 65001) only with it', async () => {
    await client.addPeer({ peer: peer(CE1, 65001, 'red') });
    await client.addPeer({ peer: peer(CE2, 65001, 'red') });
    const ce1 = await ceBird('ce1', CE1, 65001, ['10.61.1.0/24']);
    daemons.push(ce1);
    const ce2 = await ceBird('ce2', CE2, 65001, []);
    daemons.push(ce2);
    await Promise.all([established(CE1), established(CE2)]);
    await eventually('ce1 route in red', async () => (await us.peer(CE1)).status?.prefixes.some((p) => p.accepted === 1));
    // We sent it (AS_PATH 65000 65001); BIRD refuses it as a loop (RFC 4271 §9.1.2).
    await eventually('10.61.1.0/24 advertised to ce2', async () => (await us.peer(CE2)).status?.prefixes.some((p) => p.advertised >= 1));
    await barrier('red', ce2);
    assert.ok(!(await birdPrefixes(ce2)).includes('10.61.1.0/24'), 'without as-override BIRD drops its own AS');
    // as-override: the session is reset and the AS_PATH becomes 65000 65000.
    const r = await client.updatePeer({ peer: peer(CE2, 65001, 'red', { asOverride: true }) });
    assert.equal(r.reset, true);
    assert.equal(r.peer?.config?.asOverride, true);
    await holds(ce2, '10.61.1.0/24', 'as-override');
    const shown = await ce2.birdc(['show', 'route', 'all', 'table', 'master4', '10.61.1.0/24']);
    assert.match(shown, /BGP\.as_path: 65000 65000\b/);
  });

  await t.test('site of origin: same site, other VRF of the VPN: not sent; another site: sent; SoO carried by the VPN route', async () => {
    await client.addPeer({ peer: peer(CE5, 65005, 'red', { siteOfOrigin: '65000:7' }) });
    await client.addPeer({ peer: peer(CE6, 65006, 'red2', { siteOfOrigin: '65000:7' }) });
    await client.addPeer({ peer: peer(CE7, 65007, 'red2', { siteOfOrigin: '65000:8' }) });
    const [ce5, ce6, ce7] = await Promise.all([
      ceBird('ce5', CE5, 65005, ['10.61.5.0/24']),
      ceBird('ce6', CE6, 65006, ['10.61.6.0/24']),
      ceBird('ce7', CE7, 65007, []),
    ]);
    daemons.push(ce5, ce6, ce7);
    await Promise.all([established(CE5), established(CE6), established(CE7)]);
    // ce7 (site 65000:8) gets site 65000:7's routes from both VRFs.
    await holds(ce7, '10.61.5.0/24', 'other site');
    await holds(ce7, '10.61.6.0/24', 'other site');
    // red2 imported ce5's route with the SoO stamped in red.
    const paths = await new Promise<VrfPath[]>((resolve, reject) => {
      const got: VrfPath[] = [];
      const raw = bgpRawClient(`127.0.0.1:${us.svc.grpcPort}`);
      const s = raw.listVrfPaths({ vrf: 'red2', family: Family.FAMILY_IPV4_UNICAST, prefix: '10.61.5.0/24', allPaths: false });
      s.on('data', (m: { paths: VrfPath[] }) => got.push(...m.paths));
      s.on('end', () => {
        raw.close();
        resolve(got);
      });
      s.on('error', (err) => {
        raw.close();
        reject(err);
      });
    });
    assert.equal(paths.length, 1);
    assert.deepEqual(paths[0]!.path?.routeOrigins, ['65000:7']);
    // ce6 is site 65000:7: nothing of its own site comes back, through red2 (imported) nor red (ce5's VRF).
    await barrier('red2', ce6);
    const at6 = await birdPrefixes(ce6);
    assert.ok(!at6.includes('10.61.5.0/24'), `ce6 holds ${at6.join(', ')}`);
    // The same site's other access gets the rest of the VPN.
    assert.ok(at6.includes('10.61.1.0/24'));
    // Another SoO for ce6: now it is a different site and gets ce5's route.
    await client.updatePeer({ peer: peer(CE6, 65006, 'red2', { siteOfOrigin: '65000:9' }) });
    await holds(ce6, '10.61.5.0/24', 'different SoO');
  });

  await t.test('max-prefix limit: Cease / Maximum Number of Prefixes Reached seen by FRR; warning-only keeps the session', async () => {
    await client.addPeer({ peer: peer(CE4, 65004, 'blue', { maxPrefix: { limit: 3, warningPercent: 50, action: MaxPrefixAction.MAX_PREFIX_ACTION_LIMIT, restartInterval: 0 } }) });
    const frr: FrrPeer = await startFrr({
      name: 'ce4',
      routerId: '10.0.61.4',
      address: CE4,
      localAs: 65004,
      neighbors: [{ address: US, remoteAs: AS, families: ['ipv4-unicast'] }],
      ipv4Routes: [1, 2, 3, 4, 5].map((i) => ({ prefix: `10.64.${i}.0/24`, nextHop: CE4 })),
    });
    daemons.push(frr);
    type FrrNeighbor = { bgpState?: string; lastResetDueTo?: string; lastNotificationReason?: string; lastErrorCodeSubcode?: string };
    const frrNeighbor = async () => (JSON.parse(await frr.vtysh([`show bgp neighbors ${US} json`])) as Record<string, FrrNeighbor>)[US] ?? {};
    const torn = await eventually(
      'FRR to report our Cease 6/1',
      async () => {
        const n = await frrNeighbor();
        return /Maximum Number of Prefixes Reached/i.test(`${n.lastResetDueTo} ${n.lastNotificationReason}`) ? n : undefined;
      },
      { timeoutMs: 30_000, describe: async () => JSON.stringify(await frrNeighbor()).slice(0, 2000) },
    );
    assert.notEqual(torn.bgpState, 'Established');
    assert.equal(torn.lastErrorCodeSubcode, '0601', 'FRR read Cease (6) / Maximum Number of Prefixes Reached (1)');
    const p = await us.peer(CE4);
    const s = p.status!;
    assert.equal(s.sessionState, SessionState.SESSION_STATE_IDLE);
    assert.equal(s.maxPrefixExceeded, true);
    assert.equal(s.maxPrefixTeardowns, 1);
    assert.match(s.lastError, /maximum number of prefixes reached: \d ipv4-unicast routes > limit 3/);
    assert.match(s.maxPrefixHoldReason, /limit 3/);
    assert.equal(s.maxPrefixHoldUntil, undefined, 'restart interval 0: until an operator acts');
    // RFC 4486 §4 data: AFI 1, SAFI 1, upper bound 3.
    assert.deepEqual([s.lastNotificationSent?.code, s.lastNotificationSent?.subcode, Buffer.from(s.lastNotificationSent!.data).toString('hex')], [6, 1, '0001' + '01' + '00000003']);
    // None of its routes stayed in the VRF.
    assert.ok(s.prefixes.every((f) => f.accepted === 0));
    // FRR keeps trying; we refuse while held. Once FRR has been refused, it is still down.
    await eventually('FRR to try again and be refused', async () => {
      const n = await frrNeighbor();
      return n.bgpState !== 'Established' && /Active|Connect|Idle|OpenSent/.test(n.bgpState ?? '') ? true : undefined;
    });
    assert.equal((await us.peer(CE4)).status?.sessionState === SessionState.SESSION_STATE_ESTABLISHED, false);

    // warning-only (a config change lifts the hold): the session comes up and stays, flagged.
    await client.updatePeer({ peer: peer(CE4, 65004, 'blue', { maxPrefix: { limit: 3, warningPercent: 50, action: MaxPrefixAction.MAX_PREFIX_ACTION_WARNING_ONLY, restartInterval: 0 } }) });
    await established(CE4);
    const flagged = await eventually('5 routes accepted under warning-only', async () => {
      const st = (await us.peer(CE4)).status!;
      return st.prefixes.some((f) => f.accepted === 5) ? st : undefined;
    });
    assert.equal(flagged.maxPrefixWarning, true);
    assert.equal(flagged.maxPrefixExceeded, true);
    assert.equal(flagged.maxPrefixHoldReason, '');
    assert.equal(flagged.maxPrefixTeardowns, 1, 'no new teardown');
    assert.equal((await frrNeighbor()).bgpState, 'Established');

    // limit with a restart interval: torn down again, back by itself after 1 s, and torn down again.
    await client.updatePeer({ peer: peer(CE4, 65004, 'blue', { maxPrefix: { limit: 3, warningPercent: 50, action: MaxPrefixAction.MAX_PREFIX_ACTION_LIMIT, restartInterval: 1 } }) });
    await eventually('a second and a third teardown without any operator', async () => ((await us.peer(CE4)).status?.maxPrefixTeardowns ?? 0) >= 3, { timeoutMs: 30_000 });
  });
});
