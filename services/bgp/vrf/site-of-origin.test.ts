// Site of origin (RFC 4364 §7) through the VRF layer as the speaker wires it:
// CE routes stamped on the way in, carried by the export and the import,
// and kept from the CEs of the same site on the way out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import { formatAdministeredValue } from '../../common/vpn/administered-value.js';
import { PeerRegistry } from '../decision/decision.js';
import { REACHABLE } from '../decision/resolver.js';
import { createLogger } from '../../common/logger.js';
import { routeKey, type Path } from '../rib/path.js';
import { peerConfig, type PeerConfigInput } from '../speaker/config.js';
import type { ExtendedCommunity } from '../wire/communities.js';
import { familyKey, type Family, type Route } from '../wire/nlri.js';
import { VrfService } from '../vrf-service.js';
import type { BestChangeListener, LocalPathInput, LocRibPort } from './loc-rib-port.js';
import type { CeHost, CePeer } from './ce-binding.js';
import { localPath, vrf } from './test-helpers.js';
import { Afi } from '../wire/constants.js';

/** The speaker's Loc-RIB as far as VRFs go: local paths only (no other PE), each the best of its key. */
class FakeRib implements LocRibPort {
  readonly paths = new Map<string, Path>();
  private readonly listeners = new Set<BestChangeListener>();
  onBestChange(l: BestChangeListener) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  *bests(f: Family) {
    for (const p of this.paths.values()) if (p.family.afi === f.afi && p.family.safi === f.safi) yield p;
  }
  addPath(spec: LocalPathInput): Path {
    const p: Path = { family: spec.family, route: spec.route, key: routeKey(spec.family, spec.route), nextHop: spec.nextHop, attributes: spec.attributes, source: 'local', since: 0, stale: false };
    const k = `${familyKey(p.family.afi, p.family.safi)}|${p.key}`;
    const previous = this.paths.get(k);
    this.paths.set(k, p);
    for (const l of this.listeners) l(p.family, p, previous);
    return p;
  }
  deletePath(f: Family, r: Route) {
    const k = `${familyKey(f.afi, f.safi)}|${routeKey(f, r)}`;
    const old = this.paths.get(k);
    this.paths.delete(k);
    if (old) for (const l of this.listeners) l(f, undefined, old);
    return old;
  }
}

/** A CE peer: what it is offered, by key. */
class FakeCe implements CePeer {
  readonly offered = new Map<string, Path>();
  readonly adjRibIn = { table: { paths: () => [] as Path[] } };
  config;
  constructor(input: Omit<PeerConfigInput, 'remoteAs'> & { remoteAs?: number }) {
    this.config = peerConfig({ remoteAs: 65001, families: [], ...input });
  }
  get address() {
    return this.config.address;
  }
  announce(_f: Family, paths: readonly Path[]) {
    for (const p of paths) this.offered.set(p.key, p);
  }
  withdraw(_f: Family, paths: readonly Path[]) {
    for (const p of paths) this.offered.delete(p.key);
  }
  prefixes(): string[] {
    return [...this.offered.values()].map((p) => `${[...p.route.prefix].join('.')}/${p.route.length}`).sort();
  }
}

class FakeSpeaker implements CeHost {
  listener: Parameters<CeHost['subscribe']>[0] | undefined;
  constructor(readonly peers: FakeCe[]) {}
  subscribe(l: Parameters<CeHost['subscribe']>[0]) {
    this.listener = l;
    return () => undefined;
  }
  listPeers() {
    return this.peers;
  }
  /** The CE sends routes. */
  receive(ce: FakeCe, ...paths: Path[]) {
    this.listener!({ type: 'routes', peer: ce.address, announced: paths, withdrawn: [] });
  }
  lose(ce: FakeCe, ...paths: Path[]) {
    this.listener!({ type: 'routes', peer: ce.address, announced: [], withdrawn: paths });
  }
}

const origins = (ext: readonly ExtendedCommunity[] | undefined) => (ext ?? []).flatMap((e) => (e.kind === 'route-origin' ? [formatAdministeredValue(e.value)] : []));
const providerCommunities = (p: Path) => (p.attributes.extendedCommunities ?? []).filter((e) => e.kind !== 'other').length;

function setup() {
  // Site A is dual-homed: ceA1 on PE1 (VRF red@pe1), ceA2 on PE2 (red@pe2), both SoO 65000:1.
  // Site B: ceB on PE2, SoO 65000:2. Site C: ceC on PE1, no SoO. ceA3: site A's third access, on PE1 too.
  const ceA1 = new FakeCe({ address: '127.0.0.11', vrf: 'red@pe1', siteOfOrigin: '65000:1' });
  const ceA2 = new FakeCe({ address: '127.0.0.12', vrf: 'red@pe2', siteOfOrigin: '65000:1' });
  const ceA3 = new FakeCe({ address: '127.0.0.13', vrf: 'red@pe1', siteOfOrigin: '65000:1' });
  const ceB = new FakeCe({ address: '127.0.0.14', vrf: 'red@pe2', siteOfOrigin: '65000:2' });
  const ceC = new FakeCe({ address: '127.0.0.15', vrf: 'red@pe1', remoteAs: 65003 });
  const speaker = new FakeSpeaker([ceA1, ceA2, ceA3, ceB, ceC]);
  const rib = new FakeRib();
  const svc = new VrfService(rib, { decision: { peers: new PeerRegistry().get, resolver: REACHABLE }, log: createLogger('test', 'error'), ce: speaker });
  svc.add(vrf('red@pe1', '65000:11', ['65000:100'], ['65000:100'], { nextHop: '192.0.2.1' }));
  svc.add(vrf('red@pe2', '65000:12', ['65000:100'], ['65000:100'], { nextHop: '192.0.2.2' }));
  return { ceA1, ceA2, ceA3, ceB, ceC, speaker, rib, svc };
}

test('SoO: stamped on the CE route (replacing the CE\'s), carried by the VPN export and the import at the other PE', () => {
  const { ceA1, speaker, rib, svc } = setup();
  // The CE sent a route origin of its own: ours replaces it.
  const sent = localPath('10.1.0.0/24', { origin: 0, asPath: [{ type: 2, asns: [65001] }], extendedCommunities: [{ kind: 'route-origin', value: parseRouteTarget('65099:5') }, { kind: 'other', bytes: Uint8Array.of(0x03, 0x0c, 0, 0, 0, 0, 0, 8) }] }, ceA1.address, ceA1.address);
  speaker.receive(ceA1, sent);
  const [inVrf] = [...svc.paths('red@pe1', Afi.IPV4, false)];
  assert.equal(inVrf!.path.source, ceA1.address);
  assert.deepEqual(origins(inVrf!.path.attributes.extendedCommunities), ['65000:1']);
  assert.equal(inVrf!.path.attributes.extendedCommunities!.filter((e) => e.kind === 'other').length, 1, 'other extended communities kept');
  // The VPN route in the Loc-RIB carries the SoO beside the export RT.
  const exported = [...rib.paths.values()].filter((p) => p.route.rd !== undefined && p.nextHop?.address === '192.0.2.1');
  assert.equal(exported.length, 1);
  assert.deepEqual(origins(exported[0]!.attributes.extendedCommunities), ['65000:1']);
  // And the other PE's VRF imported it with the SoO.
  const imported = [...svc.paths('red@pe2', Afi.IPV4, false)];
  assert.equal(imported.length, 1);
  assert.equal(svc.origin(imported[0]!.path), 'imported');
  assert.deepEqual(origins(imported[0]!.path.attributes.extendedCommunities), ['65000:1']);
});

test('SoO: a route is not sent back into its own site (the other PE, or another access on the same PE); other sites get it', () => {
  const { ceA1, ceA2, ceA3, ceB, ceC, speaker } = setup();
  const fromA = localPath('10.1.0.0/24', { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, ceA1.address, ceA1.address);
  speaker.receive(ceA1, fromA);
  assert.deepEqual(ceA2.prefixes(), [], 'site A through PE2: filtered');
  assert.deepEqual(ceA3.prefixes(), [], 'site A through another access on PE1: filtered');
  assert.deepEqual(ceA1.prefixes(), [], 'never back to the sender');
  assert.deepEqual(ceB.prefixes(), ['10.1.0.0/24'], 'another site, other PE');
  assert.deepEqual(ceC.prefixes(), ['10.1.0.0/24'], 'a CE without SoO, same PE');
  // What a CE gets carries neither route targets nor route origins.
  assert.equal(providerCommunities(ceB.offered.values().next().value!), 0);
  assert.equal(providerCommunities(ceC.offered.values().next().value!), 0);
  // Site B's route reaches every access of site A.
  const fromB = localPath('10.2.0.0/24', { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, ceB.address, ceB.address);
  speaker.receive(ceB, fromB);
  for (const ce of [ceA1, ceA2, ceA3]) assert.ok(ce.prefixes().includes('10.2.0.0/24'), `${ce.address} gets site B`);
  assert.ok(!ceB.prefixes().includes('10.2.0.0/24'));
  // Withdrawn at the source: gone everywhere it was offered.
  speaker.lose(ceA1, fromA);
  assert.deepEqual([ceB.prefixes(), ceC.prefixes()], [[], ['10.2.0.0/24']]);
});

test('SoO: a CE peer bound to the VRF later is offered the table without its own site\'s routes', () => {
  const { ceA1, speaker, svc } = setup();
  speaker.receive(ceA1, localPath('10.1.0.0/24', { origin: 0, asPath: [] }, ceA1.address, ceA1.address));
  const late = new FakeCe({ address: '127.0.0.16', vrf: 'red@pe2', siteOfOrigin: '65000:1' });
  const lateOther = new FakeCe({ address: '127.0.0.17', vrf: 'red@pe2', siteOfOrigin: '65000:3' });
  speaker.peers.push(late, lateOther);
  speaker.listener!({ type: 'state', peer: late.address });
  assert.deepEqual(late.prefixes(), []);
  assert.deepEqual(lateOther.prefixes(), ['10.1.0.0/24']);
  assert.deepEqual(svc.cePeers('red@pe2').sort(), ['127.0.0.12', '127.0.0.14', '127.0.0.16', '127.0.0.17']);
});

test('SoO: a new site of origin for a CE peer re-judges what it is offered', () => {
  const { ceA1, ceA2, speaker } = setup();
  speaker.receive(ceA1, localPath('10.1.0.0/24', { origin: 0, asPath: [] }, ceA1.address, ceA1.address));
  assert.deepEqual(ceA2.prefixes(), []);
  ceA2.config = peerConfig({ ...ceA2.config, siteOfOrigin: '65000:5' });
  speaker.listener!({ type: 'state', peer: ceA2.address });
  assert.deepEqual(ceA2.prefixes(), ['10.1.0.0/24'], 'now another site');
  ceA2.config = peerConfig({ ...ceA2.config, siteOfOrigin: '65000:1' });
  speaker.listener!({ type: 'state', peer: ceA2.address });
  assert.deepEqual(ceA2.prefixes(), [], 'site A again');
});

test("a CE peer's LOCAL_PREF (its access's preference) is stamped on its routes: in the VRF, the VPN export and the other PE's import", () => {
  const rib = new FakeRib();
  const primary = new FakeCe({ address: '127.0.0.21', vrf: 'blue@pe1', siteOfOrigin: '65000:9', localPref: 200 });
  const bare = new FakeCe({ address: '127.0.0.22', vrf: 'blue@pe1', remoteAs: 65004, localPref: 150 });
  const speaker = new FakeSpeaker([primary, bare]);
  const svc2 = new VrfService(rib, { decision: { peers: new PeerRegistry().get, resolver: REACHABLE }, log: createLogger('test', 'error'), ce: speaker });
  svc2.add(vrf('blue@pe1', '65000:21', ['65000:200'], ['65000:200'], { nextHop: '192.0.2.1' }));
  svc2.add(vrf('blue@pe2', '65000:22', ['65000:200'], ['65000:200'], { nextHop: '192.0.2.2' }));
  speaker.receive(primary, localPath('10.9.0.0/24', { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, primary.address, primary.address));
  speaker.receive(bare, localPath('10.8.0.0/24', { origin: 0, asPath: [{ type: 2, asns: [65004] }] }, bare.address, bare.address));
  const inVrf = new Map([...svc2.paths('blue@pe1', Afi.IPV4, false)].map((p) => [p.path.source, p.path.attributes]));
  assert.equal(inVrf.get(primary.address)!.localPref, 200);
  assert.deepEqual(origins(inVrf.get(primary.address)!.extendedCommunities), ['65000:9'], 'the SoO beside it');
  assert.equal(inVrf.get(bare.address)!.localPref, 150, 'without a SoO too');
  const exported = [...rib.paths.values()].filter((p) => p.route.rd !== undefined && p.attributes.localPref === 200);
  assert.equal(exported.length, 1, 'the VPN route carries it');
  const imported = [...svc2.paths('blue@pe2', Afi.IPV4, false)].map((p) => p.path.attributes.localPref).sort();
  assert.deepEqual(imported, [150, 200]);
});

test("a dual-homed site's CEs announce one prefix on both PEs: each PE's VRF prefers its own CE's route (eBGP) over the other PE's copy exported by this speaker, which is compared as iBGP, not as local", () => {
  const registry = new PeerRegistry();
  const ce1 = new FakeCe({ address: '127.0.0.31', vrf: 'green@pe1', siteOfOrigin: '65000:31' });
  const ce2 = new FakeCe({ address: '127.0.0.32', vrf: 'green@pe2', siteOfOrigin: '65000:31' });
  for (const ce of [ce1, ce2]) registry.set(ce.address, { external: true, routerId: ce.address });
  const speaker = new FakeSpeaker([ce1, ce2]);
  const svc = new VrfService(new FakeRib(), { decision: { peers: registry.get, resolver: REACHABLE }, log: createLogger('test', 'error'), ce: speaker });
  svc.add(vrf('green@pe1', '65000:31', ['65000:300'], ['65000:300'], { nextHop: '192.0.2.1' }));
  svc.add(vrf('green@pe2', '65000:32', ['65000:300'], ['65000:300'], { nextHop: '192.0.2.2' }));
  for (const ce of [ce1, ce2]) speaker.receive(ce, localPath('10.31.0.0/24', { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, ce.address, ce.address));
  const best = (name: string) => [...svc.paths(name, Afi.IPV4, false)].map((p) => p.path.source);
  assert.deepEqual(best('green@pe1'), [ce1.address]);
  assert.deepEqual(best('green@pe2'), [ce2.address]);
});
