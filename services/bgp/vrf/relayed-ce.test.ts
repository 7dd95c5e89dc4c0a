// Relayed CE peers through the VRF layer as the speaker wires it: two VPNs'
// CEs with one address, named "<address>%<vrf>", each feeding its own VRF;
// route_label as the label of the CE's VPN exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerRegistry, addressRank } from '../decision/decision.js';
import { REACHABLE } from '../decision/resolver.js';
import { createLogger } from '../../common/logger.js';
import { routeKey, type Path } from '../rib/path.js';
import { peerConfig, peerKey, type PeerConfig, type PeerConfigInput } from '../speaker/config.js';
import { familyKey, type Family, type Route } from '../wire/nlri.js';
import { VrfService } from '../vrf-service.js';
import type { BestChangeListener, LocalPathInput, LocRibPort } from './loc-rib-port.js';
import type { CeHost, CePeer } from './ce-binding.js';
import { localPath, vrf } from './test-helpers.js';
import { Afi } from '../wire/constants.js';
import { formatRd } from '../../common/vpn/rd.js';
import type { PathAttributes } from '../wire/attributes.js';

/** VPN routes the VRFs export, by family and key. */
class ExportRib implements LocRibPort {
  readonly paths = new Map<string, Path>();
  onBestChange(_l: BestChangeListener) {
    return () => undefined;
  }
  *bests(_f: Family): Iterable<Path> {}
  addPath(spec: LocalPathInput): Path {
    const p: Path = { family: spec.family, route: spec.route, key: routeKey(spec.family, spec.route), nextHop: spec.nextHop, attributes: spec.attributes, source: 'local', since: 0, stale: false };
    this.paths.set(`${familyKey(p.family.afi, p.family.safi)}|${p.key}`, p);
    return p;
  }
  deletePath(f: Family, r: Route) {
    const k = `${familyKey(f.afi, f.safi)}|${routeKey(f, r)}`;
    const old = this.paths.get(k);
    this.paths.delete(k);
    return old;
  }
  /** "rd prefix label" of every export. */
  exports(): string[] {
    return [...this.paths.values()].map((p) => `${formatRd(p.route.rd!)} ${[...p.route.prefix].join('.')}/${p.route.length} ${p.route.labels![0]}`).sort();
  }
}

class Ce implements CePeer {
  readonly offered = new Map<string, Path>();
  readonly adjRibIn = { table: { paths: () => [] as Path[] } };
  readonly config: PeerConfig;
  constructor(input: PeerConfigInput) {
    this.config = peerConfig(input);
  }
  get address() {
    return peerKey(this.config);
  }
  announce(_f: Family, paths: readonly Path[]) {
    for (const p of paths) this.offered.set(p.key, p);
  }
  withdraw(_f: Family, paths: readonly Path[]) {
    for (const p of paths) this.offered.delete(p.key);
  }
}

class Host implements CeHost {
  listener: Parameters<CeHost['subscribe']>[0] | undefined;
  constructor(readonly peers: Ce[]) {}
  subscribe(l: Parameters<CeHost['subscribe']>[0]) {
    this.listener = l;
    return () => undefined;
  }
  listPeers() {
    return this.peers;
  }
  routes(ce: Ce, announced: Path[], withdrawn: Path[] = []) {
    this.listener!({ type: 'routes', peer: ce.address, announced, withdrawn });
  }
}

test('relayed CEs of two VPNs with one address: each feeds its own VRF, by its zoned name; route_label labels its exports', () => {
  const red = new Ce({ address: '10.0.0.2', remoteAs: 65001, vrf: 'red@pe1', relayed: true, routeLabel: 3001 });
  const blue = new Ce({ address: '10.0.0.2', remoteAs: 65002, vrf: 'blue@pe1', relayed: true });
  const other = new Ce({ address: '10.0.0.3', remoteAs: 65003, vrf: 'red@pe1' });
  const host = new Host([red, blue, other]);
  const rib = new ExportRib();
  const svc = new VrfService(rib, { decision: { peers: new PeerRegistry().get, resolver: REACHABLE }, log: createLogger('test', 'error'), ce: host });
  svc.add(vrf('red@pe1', '65000:1', ['65000:100'], ['65000:100'], { nextHop: '192.0.2.1' }));
  svc.add(vrf('blue@pe1', '65000:2', ['65000:200'], ['65000:200'], { nextHop: '192.0.2.1', label: 600 }));
  const attrs = (as: number): PathAttributes => ({ origin: 0, asPath: [{ type: 2, asns: [as] }] });
  const redRoute = localPath('192.168.9.0/24', attrs(65001), red.address, '10.0.0.2');
  const blueRoute = localPath('192.168.9.0/24', attrs(65002), blue.address, '10.0.0.2');
  host.routes(red, [redRoute]);
  host.routes(blue, [blueRoute]);
  const inVrf = (name: string) => [...svc.paths(name, Afi.IPV4, false)].map((p) => `${p.path.source} ${p.path.attributes.asPath?.[0]?.asns[0]}`);
  assert.deepEqual(inVrf('red@pe1'), ['10.0.0.2%red@pe1 65001']);
  assert.deepEqual(inVrf('blue@pe1'), ['10.0.0.2%blue@pe1 65002']);
  // red's with its route_label, blue's with the VRF's per-VRF label.
  assert.deepEqual(rib.exports(), ['65000:1 192.168.9.0/24 3001', '65000:2 192.168.9.0/24 600']);
  // The other CE of red gets red's route; neither relayed CE gets its own back.
  assert.deepEqual([...other.offered.values()].map((p) => p.attributes.asPath?.[0]?.asns[0]), [65001]);
  assert.equal(red.offered.size, 0);
  assert.equal(blue.offered.size, 0);
  // A withdrawal by red's name leaves blue's route alone.
  host.routes(red, [], [redRoute]);
  assert.deepEqual(inVrf('red@pe1'), []);
  assert.deepEqual(inVrf('blue@pe1'), ['10.0.0.2%blue@pe1 65002']);
  assert.deepEqual(rib.exports(), ['65000:2 192.168.9.0/24 600']);
  svc.close();
});

test('RFC 4271 §9.1.2.2 g (lowest peer address) ranks a relayed peer by its address, not its name', () => {
  assert.equal(addressRank('10.0.0.2%red@pe1'), addressRank('10.0.0.2'));
  assert.ok(addressRank('10.0.0.2%zzz') < addressRank('10.0.0.3%aaa'));
});
