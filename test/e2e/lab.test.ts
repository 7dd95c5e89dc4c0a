// The whole system end to end, as an operator runs it (`l3vpn lab`), driven
// through its public APIs only: REST for intent and reads, the labels gRPC
// API for label state, ping and packet counters inside the CE namespaces,
// and the external PE's own CLI for its RIB.
//
// Lab: three PEs and two Ps as Open vSwitch bridges with one agent each,
// the external PE / route reflector played by gobgpd. Two VPNs with the
// same customer addresses, a hub-and-spoke VPN, and one site on the
// external PE. The external PE has no MPLS data plane on this machine (its
// next hop is an address nothing here owns), so its site is checked on the
// control plane only: its route in our VRFs, ours in its RIB, with the
// labels and route targets they must carry.
//
// Names: namespaces l3e2e-*, bridges l3e2ebr*, veths l3e2e*, BGP on 127.0.31.1/.2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '../../services/common/logger.js';
import { AllocationState } from '../../services/common/gen/proto/l3vpn/v1/labels.js';
import { ExternalPeer } from '../../services/lab/external-peer.js';
import { startLab, type Lab } from '../../services/lab/lab.js';
import { ovsUnavailable } from '../../services/lab/ovs-network.js';
import type { Topology } from '../../services/lab/topology.js';
import { labelsClient, type LabelsClient } from '../support/labels.js';
import { secretCaller } from '../../services/common/grpc/caller.js';
import { createTestDatabase, testRedis, type TestDatabase } from '../support/services.js';
import { normaliseGobgpRib } from '../peers/gobgp.js';
import { eventually } from '../support/eventually.js';
import { skipOrFail } from '../support/tools.js';

const execFileP = promisify(execFile);
const HOLD_DOWN_SECONDS = 8;
const EXTERNAL = { address: '127.0.31.2', prefix: '10.200.0.0/24', label: 3100, rd: '10.255.0.100:1', nextHop: '198.51.100.100' };
const RT = { red: '65000:310', blue: '65000:320', hub: '65000:330', spoke: '65000:331' };

const topology: Topology = {
  as: 65000,
  nodes: [
    { id: 'pe1', role: 'PE', routerId: '10.255.1.1', sidIndex: 1, cePorts: ['ce1', 'ce2', 'ce3'] },
    { id: 'pe2', role: 'PE', routerId: '10.255.1.2', sidIndex: 2, cePorts: ['ce1', 'ce2', 'ce3'] },
    { id: 'pe3', role: 'PE', routerId: '10.255.1.3', sidIndex: 3, cePorts: ['ce1', 'ce2'] },
    { id: 'p1', role: 'P', routerId: '10.255.1.11', sidIndex: 11, cePorts: [] },
    { id: 'p2', role: 'P', routerId: '10.255.1.12', sidIndex: 12, cePorts: [] },
  ],
  links: [
    { a: 'pe1', b: 'p1', metric: 10 },
    { a: 'p1', b: 'pe2', metric: 10 },
    { a: 'p1', b: 'p2', metric: 10 },
    { a: 'p2', b: 'pe3', metric: 10 },
    { a: 'pe2', b: 'p2', metric: 30 },
  ],
  bgpAddress: '127.0.31.1',
  external: {
    kind: 'gobgp',
    address: EXTERNAL.address,
    routerId: '10.255.1.100',
    nextHop: EXTERNAL.nextHop,
    routes: [{ rd: EXTERNAL.rd, prefix: EXTERNAL.prefix, label: EXTERNAL.label, routeTargets: [RT.red] }],
  },
  sample: { vpns: [], sites: [] },
};

/** A site's REST body: attachment 192.168.<n>.0/30 (PE .1, CE .2) and the static prefixes behind its CE. */
const site = (id: string, vpn: string, node: string, port: string, n: number, statics: string[], extra: object = {}) => ({
  id,
  vpn,
  node,
  interface: port,
  ipv4: { peAddress: `192.168.${n}.1/30`, ceAddress: `192.168.${n}.2` },
  routing: { static: statics.map((prefix) => ({ prefix })) },
  ...extra,
});

// red and blue use the very same addresses; blue also has 172.16.2.0/24, which red must never reach.
const SITES = [
  site('red-1', 'red', 'pe1', 'ce1', 1, ['10.1.0.0/16']),
  site('red-2', 'red', 'pe2', 'ce1', 2, ['10.2.0.0/16']),
  site('red-3', 'red', 'pe3', 'ce2', 3, ['10.3.0.0/16']),
  site('blue-1', 'blue', 'pe1', 'ce2', 1, ['10.1.0.0/16']),
  site('blue-2', 'blue', 'pe2', 'ce2', 2, ['10.2.0.0/16', '172.16.2.0/24']),
  site('hub', 'hs', 'pe3', 'ce1', 30, ['10.30.0.0/16'], { role: 'hub' }),
  site('spoke-a', 'hs', 'pe1', 'ce3', 31, ['10.31.0.0/16'], { role: 'spoke' }),
  site('spoke-b', 'hs', 'pe2', 'ce3', 32, ['10.32.0.0/16'], { role: 'spoke' }),
];

async function skipReason(): Promise<string | undefined> {
  return (await ovsUnavailable()) ?? (await ExternalPeer.missing());
}

const skip = skipOrFail(await skipReason());
let lab: Lab;
let db: TestDatabase;
let stateDir: string;
let labels: LabelsClient;

const ns = (siteId: string): string => {
  const s = SITES.find((x) => x.id === siteId)!;
  return lab.ce(s.node, s.interface)!.namespace;
};

async function ping(fromSite: string, to: string): Promise<boolean> {
  try {
    await execFileP('ip', ['netns', 'exec', ns(fromSite), 'ping', '-c', '2', '-i', '0.2', '-W', '1', to]);
    return true;
  } catch {
    return false;
  }
}

/** Waits until reachability is as expected (the network converges), failing with what it last saw. */
async function reachability(fromSite: string, to: string, reachable: boolean, timeoutMs = 60_000): Promise<void> {
  await eventually(`${fromSite} -> ${to} ${reachable ? 'reachable' : 'unreachable'}`, async () => (await ping(fromSite, to)) === reachable, {
    timeoutMs,
    intervalMs: 300,
    describe: () => whatTheNodeHas(fromSite),
  });
}

/** For a failure message: the site's VRF routes as BGP selected them and as its PE's desired state and agent have them. */
async function whatTheNodeHas(siteId: string): Promise<string> {
  const s = SITES.find((x) => x.id === siteId)!;
  const bgp = await lab.rest.get(`/v1/vrfs/${s.vpn}:${s.node}/routes`).catch((e: Error) => e.message);
  const state = await lab.rest.get(`/v1/nodes/${s.node}/state`).catch((e: Error) => e.message);
  const desired = (state?.desired?.state?.vrfRoutes ?? []).filter((r: { vrf: string }) => r.vrf === s.vpn).map((r: { prefix: string }) => r.prefix);
  const bgpRoutes = Array.isArray(bgp?.routes) ? bgp.routes.map((r: { prefix: string; labels: number[] }) => `${r.prefix}[${r.labels}]`) : bgp;
  return `VRF ${s.vpn}:${s.node} in bgp: ${JSON.stringify(bgpRoutes)}\ndesired (generation ${state?.desired?.generation}): ${JSON.stringify(desired)}\ninstalled: ${JSON.stringify(state?.installed)}`;
}

async function rxPackets(siteId: string): Promise<number> {
  const { stdout } = await execFileP('ip', ['netns', 'exec', ns(siteId), 'cat', '/sys/class/net/eth0/statistics/rx_packets']);
  return Number(stdout.trim());
}

async function externalRib() {
  return normaliseGobgpRib(await lab.external!.cli(['-j', 'global', 'rib', '-a', 'vpnv4']));
}

before(async () => {
  if (skip) return;
  db = await createTestDatabase('e2e');
  const redis = await testRedis();
  stateDir = await mkdtemp(join(tmpdir(), 'l3e2e-'));
  lab = await startLab({
    topology,
    stateDir,
    namePrefix: 'l3e2e',
    driver: 'ovs',
    separate: false,
    databaseUrl: db.url,
    redisUrl: redis.url,
    restPort: 0,
    settings: { REDIS_PREFIX: redis.prefix, LABELS_HOLD_DOWN_SECONDS: String(HOLD_DOWN_SECONDS), LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' },
    provisionSample: false,
    log: createLogger('e2e', process.env.TEST_LOG_LEVEL ?? 'silent'),
    progress: () => undefined,
  });
  // As an operator would: the lab's operator secret, read-only.
  labels = labelsClient(lab.grpc.labels, secretCaller(lab.operatorSecret));
  const rest = lab.rest;
  await rest.expect('POST', '/v1/vpns', [201], { id: 'red', customer: 'red corp', routeTargets: { anyToAny: RT.red } });
  await rest.expect('POST', '/v1/vpns', [201], { id: 'blue', customer: 'blue corp', labelMode: 'per-ce', routeTargets: { anyToAny: RT.blue } });
  await rest.expect('POST', '/v1/vpns', [201], { id: 'hs', customer: 'hub corp', topology: 'hub-spoke', routeTargets: { hub: RT.hub, spoke: RT.spoke } });
  for (const s of SITES) {
    await rest.expect('POST', '/v1/sites', [201], s);
    await lab.connectCe(s);
  }
});

after(async () => {
  if (skip) return;
  labels?.close();
  await lab?.stop();
  await db?.drop();
  await rm(stateDir, { recursive: true, force: true });
});

test('two VPNs with the same addresses: each site reaches its own VPN only', { skip }, async () => {
  await reachability('red-1', '10.2.0.1', true);
  await reachability('red-1', '10.3.0.1', true);
  await reachability('red-2', '192.168.1.2', true);
  await reachability('blue-1', '10.2.0.1', true);
  await reachability('blue-1', '172.16.2.1', true);
  await reachability('blue-2', '10.1.0.1', true);

  // 10.2.0.1 is both red-2's and blue-2's: the packets of red-1 land at red-2 only, and blue-1's at blue-2 only.
  for (const [from, own, other] of [['red-1', 'red-2', 'blue-2'], ['blue-1', 'blue-2', 'red-2']] as const) {
    const [ownBefore, otherBefore] = [await rxPackets(own), await rxPackets(other)];
    assert.ok(await ping(from, '10.2.0.1'), `${from} -> 10.2.0.1`);
    assert.ok((await rxPackets(own)) - ownBefore >= 2, `${own} received ${from}'s pings`);
    assert.equal((await rxPackets(other)) - otherBefore, 0, `${other} received nothing from ${from}`);
  }
  assert.equal(await ping('red-1', '172.16.2.1'), false, 'red never reaches a prefix only blue has');
  assert.equal(await ping('red-2', '10.31.0.1'), false, 'red never reaches the hub-and-spoke VPN');
});

test('hub and spoke: spokes reach the hub, the hub reaches every spoke, spokes never reach each other directly', { skip }, async () => {
  await reachability('spoke-a', '10.30.0.1', true);
  await reachability('spoke-b', '10.30.0.1', true);
  await reachability('hub', '10.31.0.1', true);
  await reachability('hub', '10.32.0.1', true);
  assert.equal(await ping('spoke-a', '10.32.0.1'), false, 'spoke-a must not reach spoke-b');
  assert.equal(await ping('spoke-b', '192.168.31.2'), false, 'spoke-b must not reach spoke-a');
  assert.equal(await ping('spoke-a', '10.1.0.1'), false, 'a spoke never reaches another VPN');
});

test('the external PE (control plane only): its site in our VRFs, ours in its RIB, with labels and route targets', { skip }, async (t) => {
  const view = await lab.rest.get('/v1/vrfs/red:pe1/routes');
  const noView = view.state !== 'available' && skipOrFail(`the vpn service does not read VRF routes from bgp here: ${view.reason}`);
  if (noView) return t.skip(noView);
  const theirs = await eventually('the external site in red:pe1', async () => {
    const v = await lab.rest.get('/v1/vrfs/red:pe1/routes');
    return (v.routes as any[]).find((r) => r.prefix === EXTERNAL.prefix);
  });
  assert.deepEqual([theirs.nextHop, theirs.labels, theirs.routeDistinguisher], [EXTERNAL.nextHop, [EXTERNAL.label], EXTERNAL.rd]);
  assert.ok(theirs.routeTargets.includes(RT.red));
  const blue = await lab.rest.get('/v1/vrfs/blue:pe1/routes');
  assert.equal((blue.routes as any[]).some((r) => r.prefix === EXTERNAL.prefix), false, 'blue does not import the external red site');

  // Ours at the external PE: red-1's prefixes with red:pe1's RD, the label pe1 advertises, red's RT.
  const vrf = await lab.rest.get('/v1/vrfs/red:pe1');
  const local = (await lab.rest.get('/v1/vrfs/red:pe1/routes')).routes.find((r: any) => r.prefix === '10.1.0.0/16' && r.origin === 'local');
  const ours = await eventually('red-1 in the external RIB', async () => (await externalRib()).find((r) => r.prefix === '10.1.0.0/16' && r.rd === vrf.routeDistinguisher));
  assert.deepEqual(ours.labels, local.labels);
  assert.ok(ours.routeTargets.includes(RT.red), `red's RT on ${JSON.stringify(ours)}`);
  assert.equal(ours.nextHop, '10.255.1.1', "pe1's loopback is the next hop");
});

test('deleting a site: its traffic stops, the external PE withdraws its routes, its labels come back after the hold-down', { skip }, async (t) => {
  await reachability('red-1', '10.3.0.1', true);
  const routes = await lab.rest.get('/v1/vrfs/red:pe1/routes');
  const noView = routes.state !== 'available' && skipOrFail(`the vpn service does not read VRF routes from bgp here: ${routes.reason}`);
  if (noView) return t.skip(noView);
  // The VPN label pe3 advertises for red-3, as the external PE received it.
  const vrf = await lab.rest.get('/v1/vrfs/red:pe3');
  const advertised = await eventually('red-3 in the external RIB', async () => (await externalRib()).find((r) => r.prefix === '10.3.0.0/16' && r.rd === vrf.routeDistinguisher));
  const label = advertised.labels.at(-1)!;
  const labelOf = async () => (await labels.getLabel({ node: 'pe3', key: { $case: 'label', value: label } })).label!;
  const usage = async () => (await labels.getLabelSpaces({ node: 'pe3' })).spaces!.dynamicUsage!;
  assert.equal((await labelOf()).state, AllocationState.ALLOCATION_STATE_ALLOCATED);
  const freeBefore = Number((await usage()).free);

  const plan = await lab.rest.expect('DELETE', '/v1/sites/red-3?dryRun=true', [200]);
  assert.ok(plan.affectedNodes.includes('pe3'), 'the dry run names pe3');
  await lab.rest.expect('DELETE', '/v1/sites/red-3', [204]);
  // Released into hold-down first (packets in flight may still carry it), then free for another owner.
  const held = await eventually('the label in hold-down', async () => {
    const l = await labelOf();
    return l.state === AllocationState.ALLOCATION_STATE_HELD ? l : undefined;
  });
  const reusableAt = held.reusableAt!.getTime();
  assert.ok(reusableAt > Date.now() - 1000 && reusableAt <= Date.now() + HOLD_DOWN_SECONDS * 1000 + 1000, `reusable ${HOLD_DOWN_SECONDS} s after the release`);
  const during = await usage();
  assert.ok(Number(during.held) >= 1, 'counted as held, not free, during the hold-down');

  await reachability('red-1', '10.3.0.1', false);
  await reachability('red-1', '10.2.0.1', true); // the rest of red is untouched
  await eventually('red-3 withdrawn at the external PE', async () =>
    (await externalRib()).some((r) => r.rd === vrf.routeDistinguisher) ? undefined : true,
  );

  const afterwards = await eventually('nothing held once the hold-down is over', async () => {
    const u = await usage();
    return Number(u.held) === 0 ? u : undefined;
  }, { timeoutMs: HOLD_DOWN_SECONDS * 1000 + 30_000, intervalMs: 200 });
  assert.equal(Number(afterwards.free), freeBefore + 1, 'the label is free again');
});
