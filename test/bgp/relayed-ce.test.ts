// Relayed PE-CE sessions (BGP-as-a-service) against real BIRD CEs. Two VPNs'
// CEs use the same address, 10.0.0.2, each behind its own PE access address
// 10.0.0.1: each BIRD connects to a test relay (the controller's part),
// which opens RelayPeerSession for its VRF and pipes the bytes.
//
//     BIRD red  127.0.62.2 AS 65001 ─ relay 127.0.62.11 ─┐ 10.0.0.2%red@pe1  (route_label 3001)
//     BIRD blue 127.0.62.3 AS 65002 ─ relay 127.0.62.12 ─┤ 10.0.0.2%blue@pe1 (per-VRF label 600)
//                                     services/bgp 127.0.62.1 AS 65000 (gRPC)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { status } from '@grpc/grpc-js';
import { Family, LabelMode, Path, PeerConfig, SessionState, TableType, type VrfConfig, type VrfPath } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { eventually } from '../support/eventually.js';
import { requirePeers, startBird, type BirdPeer } from '../peers/index.js';
import { birdProtocolName } from '../peers/bird.js';
import { bgpRawClient, startTestBgp, type StartedBgp } from './support.js';
import { TestRelay, relayStatus } from './relay.js';

const AS = 65000;
const US = '127.0.62.1';
const CE_RED = '127.0.62.2';
const CE_BLUE = '127.0.62.3';
const RELAY_RED = '127.0.62.11';
const RELAY_BLUE = '127.0.62.12';
const CE = '10.0.0.2';
const PE_ACCESS = '10.0.0.1';
const RED = 'red@pe1';
const BLUE = 'blue@pe1';
const RED_PEER = `${CE}%${RED}`;
const BLUE_PEER = `${CE}%${BLUE}`;
const skip = requirePeers('bird');

function vrfConfig(name: string, rd: string, rt: string, label: number): VrfConfig {
  return { name, rd, importRouteTargets: [rt], exportRouteTargets: [rt], labelMode: LabelMode.LABEL_MODE_PER_VRF, label, ipv6Label: 0, owner: '' };
}

function relayedPeer(address: string, remoteAs: number, vrf: string, extra: Partial<PeerConfig> = {}): PeerConfig {
  return PeerConfig.fromPartial({ address, remoteAs, families: [Family.FAMILY_IPV4_UNICAST], timers: { holdTime: 0, keepaliveInterval: 0, connectRetry: 1 }, vrf, relayed: true, ...extra });
}

function unicastPath(prefix: string): Path {
  return Path.fromPartial({ family: Family.FAMILY_IPV4_UNICAST, prefix });
}

/** Prefix -> BGP.next_hop of what a CE holds from its relay neighbour (master4; reachable or not). */
async function birdRoutes(bird: BirdPeer, relay: string): Promise<Map<string, string>> {
  const out = await bird.birdc(['show', 'route', 'all', 'table', 'master4', 'protocol', birdProtocolName(relay)]);
  const routes = new Map<string, string>();
  let prefix: string | undefined;
  for (const line of out.split('\n')) {
    const head = /^(\d+\.\d+\.\d+\.\d+\/\d+)\s/.exec(line);
    if (head) prefix = head[1]!;
    const nh = /^\s+BGP\.next_hop: (\S+)/.exec(line);
    if (nh && prefix) routes.set(prefix, nh[1]!);
  }
  return routes;
}

test('relayed PE-CE sessions: two VPNs, one CE address, real BIRD CEs through relays', { skip, timeout: 240_000 }, async (t) => {
  let bgp: StartedBgp | undefined;
  const cleanup: { stop(): Promise<void> }[] = [];
  t.after(async () => {
    await Promise.all(cleanup.map((d) => d.stop().catch(() => undefined)));
    await bgp?.stop();
  });
  bgp = await startTestBgp({ BGP_AS: String(AS), BGP_ROUTER_ID: '10.0.62.1', BGP_LISTEN_ADDRESS: US, BGP_PORT: '0', BGP_GRACEFUL_RESTART_TIME: '120' });
  const us = bgp;
  const client = us.client;
  const raw = bgpRawClient(`127.0.0.1:${us.svc.grpcPort}`);
  cleanup.push({ stop: async () => raw.close() });
  await client.addVrf({ vrf: vrfConfig(RED, '65000:1', '65000:100', 500) });
  await client.addVrf({ vrf: vrfConfig(BLUE, '65000:2', '65000:200', 600) });

  const vrfPaths = (vrf: string) =>
    new Promise<VrfPath[]>((resolve, reject) => {
      const got: VrfPath[] = [];
      const s = raw.listVrfPaths({ vrf, family: Family.FAMILY_IPV4_UNICAST, prefix: '', allPaths: false });
      s.on('data', (m: { paths: VrfPath[] }) => got.push(...m.paths));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
  const established = (name: string, ms = 30_000) =>
    eventually(`${name} Established at our side`, async () => (await us.peer(name)).status?.sessionState === SessionState.SESSION_STATE_ESTABLISHED, {
      timeoutMs: ms,
      describe: async () => JSON.stringify((await us.peer(name)).status?.lastError),
    });
  const holds = (bird: BirdPeer, relay: string, prefix: string) =>
    eventually(
      () => `${bird.name} to hold ${prefix}`,
      async () => (await birdRoutes(bird, relay)).get(prefix),
      { timeoutMs: 20_000, describe: async () => `${bird.name} holds ${[...(await birdRoutes(bird, relay)).keys()].join(', ')}\n${bird.logTail(15)}` },
    );

  let red!: BirdPeer;
  let blue!: BirdPeer;
  let redRelay!: TestRelay;
  let blueRelay!: TestRelay;

  await t.test('relayed and route_label round-trip; relayed implies passive; the peers are named <address>%<vrf>', async () => {
    const r = await client.addPeer({ peer: relayedPeer(CE, 65001, RED, { routeLabel: 3001 }) });
    assert.deepEqual([r.peer?.config?.address, r.peer?.config?.vrf, r.peer?.config?.relayed, r.peer?.config?.routeLabel, r.peer?.config?.passive], [CE, RED, true, 3001, true]);
    await client.addPeer({ peer: relayedPeer(CE, 65002, BLUE) });
    const { peers } = await client.listPeers({ address: '' });
    assert.deepEqual(peers.map((p) => `${p.config?.address} ${p.config?.vrf} ${p.config?.relayed}`).sort(), [`${CE} ${BLUE} true`, `${CE} ${RED} true`]);
    assert.equal((await us.peer(RED_PEER)).config?.routeLabel, 3001);
    assert.equal((await us.peer(BLUE_PEER)).config?.routeLabel, 0);
    await assert.rejects(client.listPeers({ address: CE }), (e: { code: number }) => e.code === status.NOT_FOUND);
    // The same address relayed twice in one VRF is one peer.
    await assert.rejects(client.addPeer({ peer: relayedPeer(CE, 65009, RED) }), (e: { code: number; details: string }) => e.code === status.ALREADY_EXISTS && e.details.includes(RED_PEER));
    // A relayed peer needs a VRF; a route label is in 16..1048575.
    await assert.rejects(client.addPeer({ peer: relayedPeer('10.0.0.9', 65001, '') }), (e: { code: number; details: string }) => e.code === status.INVALID_ARGUMENT && e.details.startsWith('relayed:'));
    await assert.rejects(client.addPeer({ peer: relayedPeer('10.0.0.9', 65001, RED, { routeLabel: 3 }) }), (e: { code: number; details: string }) => e.code === status.INVALID_ARGUMENT && e.details.startsWith('route_label:'));
  });

  await t.test('both CEs come up through their relays and are listed apart', async () => {
    redRelay = new TestRelay(raw, { listen: RELAY_RED, vrf: RED, peerAddress: CE, localAddress: PE_ACCESS });
    blueRelay = new TestRelay(raw, { listen: RELAY_BLUE, vrf: BLUE, peerAddress: CE, localAddress: PE_ACCESS });
    await redRelay.start();
    await blueRelay.start();
    cleanup.push(redRelay, blueRelay);
    const ce = (name: string, address: string, as: number, relay: TestRelay, prefixes: string[]) =>
      startBird({
        name,
        routerId: address.replace('127.', '10.'),
        address,
        localAs: as,
        neighbors: [{ address: relay.o.listen, port: relay.port, remoteAs: AS, families: ['ipv4-unicast'], gracefulRestart: true }],
        ipv4Routes: prefixes.map((prefix) => ({ prefix, nextHop: '198.51.100.1' })),
      });
    // Both announce 192.168.9.0/24: each VRF has its own.
    red = await ce('relay-red', CE_RED, 65001, redRelay, ['192.168.1.0/24', '192.168.9.0/24']);
    cleanup.push(red);
    blue = await ce('relay-blue', CE_BLUE, 65002, blueRelay, ['192.168.2.0/24', '192.168.9.0/24']);
    cleanup.push(blue);
    await Promise.all([established(RED_PEER), established(BLUE_PEER)]);
    const r = (await us.peer(RED_PEER)).status!;
    assert.equal(r.localAddress, PE_ACCESS, "the relay's local address is the session's");
    assert.equal(r.remoteRouterId, '10.0.62.2');
    assert.equal(r.remoteCapabilities?.gracefulRestart, true);
    assert.equal((await us.peer(BLUE_PEER)).status?.remoteRouterId, '10.0.62.3');
    const adjIn = async (name: string) => (await us.listPath(Family.FAMILY_IPV4_UNICAST, TableType.TABLE_TYPE_ADJ_IN, name)).map((p) => `${p.prefix} ${p.source}`).sort();
    await eventually('both Adj-RIBs-In filled', async () => (await adjIn(RED_PEER)).length === 2 && (await adjIn(BLUE_PEER)).length === 2);
    assert.deepEqual(await adjIn(RED_PEER), [`192.168.1.0/24 ${RED_PEER}`, `192.168.9.0/24 ${RED_PEER}`]);
    assert.deepEqual(await adjIn(BLUE_PEER), [`192.168.2.0/24 ${BLUE_PEER}`, `192.168.9.0/24 ${BLUE_PEER}`]);
  });

  await t.test("each CE's routes are in its own VRF only, exported with its route_label (or the VRF's label)", async () => {
    const inVrf = async (vrf: string) => (await vrfPaths(vrf)).map((p) => `${p.prefix} ${p.source} ${p.label}`).sort();
    await eventually('VRFs filled', async () => (await inVrf(RED)).length === 2 && (await inVrf(BLUE)).length === 2);
    assert.deepEqual(await inVrf(RED), [`192.168.1.0/24 ${RED_PEER} 3001`, `192.168.9.0/24 ${RED_PEER} 3001`]);
    assert.deepEqual(await inVrf(BLUE), [`192.168.2.0/24 ${BLUE_PEER} 600`, `192.168.9.0/24 ${BLUE_PEER} 600`]);
    const vpn = (await us.listPath(Family.FAMILY_VPN_IPV4, TableType.TABLE_TYPE_LOCAL)).map((p) => `${p.rd} ${p.prefix} ${p.labels.join('/')}`).sort();
    assert.deepEqual(vpn, ['65000:1 192.168.1.0/24 3001', '65000:1 192.168.9.0/24 3001', '65000:2 192.168.2.0/24 600', '65000:2 192.168.9.0/24 600']);
  });

  await t.test("a CE gets its VRF's routes with the PE access address as next hop, and nothing of the other VPN", async () => {
    await client.addVrfPath({ vrf: RED, path: unicastPath('10.70.1.0/24') });
    await client.addVrfPath({ vrf: BLUE, path: unicastPath('10.70.2.0/24') });
    assert.equal(await holds(red, RELAY_RED, '10.70.1.0/24'), PE_ACCESS);
    assert.equal(await holds(blue, RELAY_BLUE, '10.70.2.0/24'), PE_ACCESS);
    // One TCP stream, in order: the later route arrived, so the other VPN's would have too.
    const atRed = await birdRoutes(red, RELAY_RED);
    const atBlue = await birdRoutes(blue, RELAY_BLUE);
    assert.deepEqual([...atRed.keys()].sort(), ['10.70.1.0/24'], 'red gets nothing of blue, nor its own routes back');
    assert.deepEqual([...atBlue.keys()].sort(), ['10.70.2.0/24']);
  });

  await t.test('the TCP listener refuses a connection from a relayed peer like one from a stranger', async () => {
    // A relayed peer whose address is one this host has: its connection to our listener is refused.
    await client.addPeer({ peer: relayedPeer('127.0.62.4', 65004, RED) });
    const got = await new Promise<Buffer>((resolve, reject) => {
      const s = connect({ host: US, port: us.svc.bgpPort, localAddress: '127.0.62.4' });
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
      setTimeout(() => s.destroy(), 5000).unref();
    });
    // NOTIFICATION (type 3) Cease (6) / Connection Rejected (5), RFC 4486 §4.
    assert.deepEqual([got[18], got[19], got[20]], [3, 6, 5]);
    await client.deletePeer({ address: '127.0.62.4%' + RED });
  });

  await t.test('RelayPeerSession refuses: no open first, unknown peer, a peer not relayed, admin down', async () => {
    const open = (vrf: string, peerAddress: string, localAddress = PE_ACCESS) => ({ frame: { $case: 'open' as const, value: { vrf, peerAddress, localAddress } } });
    let s = await relayStatus(raw, { frame: { $case: 'data', value: Buffer.from([0xff]) } });
    assert.deepEqual([s.code, s.details.split(':')[0]], [status.INVALID_ARGUMENT, 'open']);
    s = await relayStatus(raw, open('', CE));
    assert.deepEqual([s.code, s.details.split(':')[0]], [status.INVALID_ARGUMENT, 'open.vrf']);
    s = await relayStatus(raw, open(RED, '10.0.0.2%x'));
    assert.deepEqual([s.code, s.details.split(':')[0]], [status.INVALID_ARGUMENT, 'open.peer_address']);
    s = await relayStatus(raw, open(RED, CE, '224.0.0.1'));
    assert.deepEqual([s.code, s.details.split(':')[0]], [status.INVALID_ARGUMENT, 'open.local_address']);
    s = await relayStatus(raw, open('green@pe1', CE));
    assert.equal(s.code, status.NOT_FOUND, s.details);
    s = await relayStatus(raw, open(RED, '10.0.0.77'));
    assert.equal(s.code, status.NOT_FOUND, s.details);
    await client.addPeer({ peer: relayedPeer('10.0.0.3', 65003, RED, { relayed: false, adminDown: true }) });
    s = await relayStatus(raw, open(RED, '10.0.0.3'));
    assert.equal(s.code, status.FAILED_PRECONDITION, s.details);
    await client.addPeer({ peer: relayedPeer('10.0.0.4', 65003, RED, { adminDown: true }) });
    s = await relayStatus(raw, open(RED, '10.0.0.4'));
    assert.equal(s.code, status.UNAVAILABLE, s.details);
    assert.match(s.details, /administratively down/);
    await client.deletePeer({ address: '10.0.0.3' });
    await client.deletePeer({ address: `10.0.0.4%${RED}` });
  });

  await t.test('a second stream for an Established peer: our OPEN on it, a second open frame ends it; the session stays', async () => {
    const call = raw.relayPeerSession();
    const got: Buffer[] = [];
    const ended = new Promise<{ code: number; details: string }>((resolve) => {
      call.on('error', (e: { code: number; details: string }) => resolve(e));
      call.on('status', (st: { code: number; details: string }) => st.code === 0 && resolve(st));
    });
    call.on('data', (r: { data: Buffer }) => got.push(r.data));
    call.write({ frame: { $case: 'open', value: { vrf: BLUE, peerAddress: CE, localAddress: PE_ACCESS } } });
    // Accepted as a second connection (RFC 4271 §6.8 decides once it has an OPEN): our OPEN comes back.
    await eventually('our OPEN on the second stream', async () => Buffer.concat(got).length >= 19 && Buffer.concat(got)[18] === 1);
    call.write({ frame: { $case: 'open', value: { vrf: BLUE, peerAddress: CE, localAddress: PE_ACCESS } } });
    const s = await ended;
    assert.deepEqual([s.code, s.details.split(':')[0]], [status.INVALID_ARGUMENT, 'frame']);
    assert.equal((await us.peer(BLUE_PEER)).status?.sessionState, SessionState.SESSION_STATE_ESTABLISHED);
    assert.equal((await us.peer(RED_PEER)).status?.sessionState, SessionState.SESSION_STATE_ESTABLISHED);
    assert.equal(blueRelay.opened, 1, 'the real session never flapped');
  });

  await t.test("the relay dying is the connection lost: GR keeps the CE's routes stale, a new stream restores them", async () => {
    const flapsBefore = (await us.peer(RED_PEER)).status!.flaps;
    redRelay.paused = true;
    redRelay.cut();
    const stale = await eventually('red routes kept as stale', async () => {
      const st = (await us.peer(RED_PEER)).status!;
      return st.sessionState !== SessionState.SESSION_STATE_ESTABLISHED && st.prefixes.some((p) => p.stale === 2) ? st : undefined;
    });
    assert.equal(stale.flaps, flapsBefore + 1);
    const adj = await us.listPath(Family.FAMILY_IPV4_UNICAST, TableType.TABLE_TYPE_ADJ_IN, RED_PEER);
    assert.deepEqual(adj.map((p) => `${p.prefix} ${p.stale}`).sort(), ['192.168.1.0/24 true', '192.168.9.0/24 true']);
    // The VRF and its VPN export keep them meanwhile (RFC 4724 §4.2: forwarding goes on).
    assert.deepEqual((await vrfPaths(RED)).filter((p) => p.source === RED_PEER).map((p) => `${p.prefix} ${p.label}`).sort(), ['192.168.1.0/24 3001', '192.168.9.0/24 3001']);
    assert.ok((await us.listPath(Family.FAMILY_VPN_IPV4, TableType.TABLE_TYPE_LOCAL)).some((p) => p.rd === '65000:1' && p.prefix === '192.168.1.0/24'));
    // blue is untouched.
    assert.equal((await us.peer(BLUE_PEER)).status?.sessionState, SessionState.SESSION_STATE_ESTABLISHED);
    const opened = redRelay.opened;
    redRelay.paused = false;
    await established(RED_PEER);
    assert.ok(redRelay.opened > opened, 'a new stream');
    await eventually('red routes fresh again (End-of-RIB)', async () => {
      const a = await us.listPath(Family.FAMILY_IPV4_UNICAST, TableType.TABLE_TYPE_ADJ_IN, RED_PEER);
      return a.length === 2 && a.every((p) => !p.stale);
    });
    assert.equal(await holds(red, RELAY_RED, '10.70.1.0/24'), PE_ACCESS);
  });

  await t.test("deleting red's peer leaves blue's up; red's routes leave red's VRF", async () => {
    // Deleted while its relay is down (routes stale): they leave the VRF and the VPN all the same.
    redRelay.paused = true;
    redRelay.cut();
    await eventually('red routes stale again', async () => (await us.peer(RED_PEER)).status?.prefixes.some((p) => p.stale === 2));
    await client.deletePeer({ address: RED_PEER });
    await eventually('red VRF without its CE routes', async () => (await vrfPaths(RED)).every((p) => p.source !== RED_PEER));
    await eventually('their VPN routes withdrawn', async () => !(await us.listPath(Family.FAMILY_VPN_IPV4, TableType.TABLE_TYPE_LOCAL)).some((p) => p.rd === '65000:1' && p.prefix.startsWith('192.168.')));
    const { peers } = await client.listPeers({ address: '' });
    assert.deepEqual(peers.map((p) => `${p.config?.address}%${p.config?.vrf}`), [BLUE_PEER]);
    assert.equal((await us.peer(BLUE_PEER)).status?.sessionState, SessionState.SESSION_STATE_ESTABLISHED);
    assert.deepEqual((await vrfPaths(BLUE)).map((p) => p.prefix).sort(), ['10.70.2.0/24', '192.168.2.0/24', '192.168.9.0/24']);
    // A stream for the deleted peer is now NOT_FOUND (the relay's next attempt).
    const s = await relayStatus(raw, { frame: { $case: 'open', value: { vrf: RED, peerAddress: CE, localAddress: PE_ACCESS } } });
    assert.equal(s.code, status.NOT_FOUND);
  });

  await t.test("DisablePeer / EnablePeer by the zoned name: we end the stream, the relay's next ones are UNAVAILABLE until enabled", async () => {
    const unavailable = () => blueRelay.ends.filter((c) => c === status.UNAVAILABLE).length;
    const before = unavailable();
    await client.disablePeer({ address: BLUE_PEER, communication: 'maintenance' });
    await eventually('the CE reconnecting through the relay, refused', async () => unavailable() > before, { timeoutMs: 20_000 });
    const st = (await us.peer(BLUE_PEER)).status!;
    assert.equal(st.adminDown, true);
    assert.equal(st.sessionState, SessionState.SESSION_STATE_IDLE);
    assert.deepEqual([st.lastNotificationSent?.code, st.lastNotificationSent?.subcode, st.lastNotificationSent?.communication], [6, 2, 'maintenance']);
    await client.enablePeer({ address: BLUE_PEER });
    await established(BLUE_PEER);
    await client.softResetPeer({ address: BLUE_PEER, direction: 0, family: 0 });
    assert.equal(await holds(blue, RELAY_BLUE, '10.70.2.0/24'), PE_ACCESS);
  });

  await t.test('metrics: relayed streams open and their outcomes; peers by their zoned names', async () => {
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const m = await us.svc.metrics!.getSingleMetric(name)?.get();
      return m?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
    };
    assert.equal(await value('l3vpn_bgp_relayed_streams'), 1, 'blue only');
    // red twice, blue once, the second blue stream once; refusals: not found (4), not relayed, admin down, deleted red.
    const refusedAtRelays = blueRelay.ends.filter((c) => c === status.UNAVAILABLE).length;
    // Every relay stream that was not refused, and the test's second blue stream.
    assert.equal(await value('l3vpn_bgp_relayed_streams_total', { outcome: 'accepted' }), redRelay.opened + blueRelay.opened - refusedAtRelays + 1);
    assert.ok(((await value('l3vpn_bgp_relayed_streams_total', { outcome: 'refused' })) ?? 0) >= 5);
    assert.equal(await value('l3vpn_bgp_peer_up', { peer: BLUE_PEER }), 1);
  });
});
