// Route engine micro-benchmark: best path (VPN Loc-RIB) and VRF import,
// without sockets or codec. Prints routes per second and heap bytes per
// route held. Usage: node --expose-gc --import tsx bench/bgp-decision.ts [routes]
import { parseRd, encodeRd } from '../services/common/vpn/rd.js';
import { parseRouteTarget } from '../services/common/vpn/route-target.js';
import { BestPathTable } from '../services/bgp/decision/best-path-table.js';
import { PeerRegistry } from '../services/bgp/decision/decision.js';
import { REACHABLE } from '../services/bgp/decision/resolver.js';
import type { Path } from '../services/bgp/rib/path.js';
import type { PathAttributes } from '../services/bgp/wire/attributes.js';
import { vrfConfig } from '../services/bgp/vrf/config.js';
import { VrfManager, VPNV4_FAMILY } from '../services/bgp/vrf/manager.js';

const N = Number(process.argv[2] ?? 1_000_000);
const VRFS = 100;
const PER_UPDATE = 250;

const gc = (globalThis as { gc?: () => void }).gc;
function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

const rds = Array.from({ length: VRFS }, (_, v) => parseRd(`65000:${v}`));
const rdChars = rds.map((rd) => String.fromCharCode(...encodeRd(rd)));

/** N VPN-IPv4 paths from one peer, attributes shared per PER_UPDATE routes (as one UPDATE would). */
function makePaths(source: string, localPref: number): Path[] {
  const out: Path[] = new Array(N);
  // One attribute set per VPN, renewed every PER_UPDATE routes of that VPN (one UPDATE's worth).
  const current: PathAttributes[] = [];
  for (let i = 0; i < N; i++) {
    const vpn = i % VRFS;
    let attrs = current[vpn];
    if (!attrs || Math.floor(i / VRFS) % PER_UPDATE === 0) {
      attrs = current[vpn] = {
        origin: 0,
        asPath: [{ type: 2, asns: [65001] }],
        localPref,
        extendedCommunities: [{ kind: 'route-target', value: parseRouteTarget(`65000:${vpn}`) }],
      };
    }
    const rd = rds[vpn]!;
    const rdc = rdChars[vpn]!;
    const n = Math.floor(i / VRFS);
    const prefix = Uint8Array.of(10, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
    const key = String.fromCharCode(32) + rdc + String.fromCharCode(prefix[0]!, prefix[1]!, prefix[2]!, prefix[3]!);
    out[i] = { family: VPNV4_FAMILY, key, route: { prefix, length: 32, rd, labels: [16 + (i % 1000)] }, nextHop: { address: source }, attributes: attrs, source, since: 0, stale: false };
  }
  return out;
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString('en-US')} routes/s (${ms.toFixed(0)} ms)`;
}

const peers = new PeerRegistry();
peers.set('10.0.0.1', { external: false, routerId: '10.0.0.1' });
peers.set('10.0.0.2', { external: false, routerId: '10.0.0.2' });
const decision = { peers: peers.get, resolver: REACHABLE };

console.log(`route engine bench: ${N.toLocaleString('en-US')} VPN-IPv4 routes, ${VRFS} VPNs`);
const a = makePaths('10.0.0.1', 100);
const b = makePaths('10.0.0.2', 200);

// 1. VPN Loc-RIB, one path per destination (route reflector with one sender).
const h0 = heap();
const loc = new BestPathTable<Path>(decision);
let t = performance.now();
let changed = 0;
for (const p of a) if (loc.upsert(p.key, p).changed) changed++;
const addMs = performance.now() - t;
const h1 = heap();
console.log(`Loc-RIB add (1 path/dest):      ${rate(N, addMs)}, ${changed} best changes, ${((h1 - h0) / N).toFixed(1)} heap bytes/route (table only)`);

// 2. A second peer with a better LOCAL_PREF: every best moves.
t = performance.now();
changed = 0;
for (const p of b) if (loc.upsert(p.key, p).changed) changed++;
const addBMs = performance.now() - t;
const h2 = heap();
console.log(`Loc-RIB add 2nd path (wins):    ${rate(N, addBMs)}, ${changed} best changes, ${((h2 - h1) / N).toFixed(1)} heap bytes/extra path`);

// 3. VRF import: 100 VRFs, one per VPN RT; every best imports into exactly one VRF.
const mgr = new VrfManager({ decision, vpnBests: () => [], listener: {} });
for (let v = 0; v < VRFS; v++) mgr.define(vrfConfig({ name: `vrf${v}`, rd: `65001:${v}`, importRts: [`65000:${v}`], exportRts: [`65001:${v}`], label: 100 + v }));
t = performance.now();
for (const [, best] of loc.bests()) mgr.vpnBestChanged(best, undefined);
const impMs = performance.now() - t;
const h3 = heap();
let held = 0;
for (let v = 0; v < VRFS; v++) held += mgr.routeCount(`vrf${v}`);
console.log(`VRF import:                     ${rate(N, impMs)}, ${held} routes in VRFs, ${((h3 - h2) / N).toFixed(1)} heap bytes/imported route`);

// 4. Withdraw the winning peer: bests fall back, VRFs follow.
t = performance.now();
for (const p of b) {
  const c = loc.remove(p.key, p.key, p.source);
  if (c.changed) mgr.vpnBestChanged(c.best, c.previous);
}
const wdMs = performance.now() - t;
console.log(`withdraw 2nd peer (+VRF update): ${rate(N, wdMs)}`);

// 5. Import RT change on one VRF (add then remove another VPN's RT), scanning the Loc-RIB.
const bests = (): Iterable<Path> => ({ [Symbol.iterator]: function* () { for (const [, p] of loc.bests()) yield p; } });
const mgr2 = new VrfManager({ decision, vpnBests: bests, listener: {} });
mgr2.define(vrfConfig({ name: 'x', rd: '65002:1', importRts: ['65000:1'], exportRts: [], label: 99 }));
t = performance.now();
const up = mgr2.define(vrfConfig({ name: 'x', rd: '65002:1', importRts: ['65000:1', '65000:2'], exportRts: [], label: 99 }));
const rtMs = performance.now() - t;
console.log(`import RT added on the fly:     ${up.imported.length} imported in ${rtMs.toFixed(0)} ms (scan of ${N.toLocaleString('en-US')} bests)`);

// 6. Withdraw all.
t = performance.now();
for (const p of a) {
  const c = loc.remove(p.key, p.key, p.source);
  if (c.changed) mgr.vpnBestChanged(c.best, c.previous);
}
const wdAll = performance.now() - t;
console.log(`withdraw all (+VRF update):     ${rate(N, wdAll)}`);
console.log(`rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB (includes the ${2 * N} input paths)`);
