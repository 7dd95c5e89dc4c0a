// BGP codec benchmark: VPN-IPv4 UPDATEs as a PE or route reflector sees
// them (many prefixes per UPDATE, one route target, per-VRF labels).
// Prints encode and decode prefixes/s on one core and the memory a decoded
// prefix costs while held. Run: npx tsx bench/bgp-codec.ts [prefixes]
// (node --expose-gc gives the most exact memory figure; without it the
// bench enables gc itself).
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseRd } from '../services/common/vpn/rd.js';
import { parseRouteTarget } from '../services/common/vpn/route-target.js';
import {
  DecodedRoute,
  MessageSplitter,
  PathAttributes,
  Route,
  UpdateMessage,
  decodeMessage,
  packAnnouncements,
} from '../services/bgp/wire/index.js';

const SESSION = { fourOctetAs: true };
const VRFS = 1000;

interface Vrf {
  attributes: PathAttributes;
  routes: Route[];
}

function buildVrfs(total: number): Vrf[] {
  const vrfs: Vrf[] = [];
  const perVrf = Math.ceil(total / VRFS);
  let made = 0;
  for (let v = 0; v < VRFS && made < total; v++) {
    const rd = parseRd(`65000:${v + 1}`);
    const label = 16 + v;
    const routes: Route[] = [];
    for (let i = 0; i < perVrf && made < total; i++, made++) {
      // 10.a.b.0/24 inside each VRF, the usual customer-site shape.
      routes.push({ prefix: Uint8Array.of(10, (i >> 8) & 0xff, i & 0xff, 0), length: 24, rd, labels: [label] });
    }
    vrfs.push({
      routes,
      attributes: {
        origin: 0,
        asPath: [],
        localPref: 100,
        med: 0,
        extendedCommunities: [{ kind: 'route-target', value: parseRouteTarget(`65000:${v + 1}`) }],
      },
    });
  }
  return vrfs;
}

function encodeAll(vrfs: Vrf[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const vrf of vrfs) {
    const msgs = packAnnouncements(
      { family: { afi: 1, safi: 128 }, nextHop: { address: '198.51.100.1' }, attributes: vrf.attributes, routes: vrf.routes },
      SESSION,
    );
    for (const m of msgs) out.push(m);
  }
  return out;
}

function concat(messages: Uint8Array[]): Uint8Array {
  const stream = new Uint8Array(messages.reduce((n, m) => n + m.length, 0));
  let o = 0;
  for (const m of messages) {
    stream.set(m, o);
    o += m.length;
  }
  return stream;
}

const CHUNK = 65536;

/** Splitter + decoder over the stream as TCP would deliver it; returns the decoded UPDATEs. */
function decodeStream(stream: Uint8Array, keep: UpdateMessage[] | undefined): number {
  const splitter = new MessageSplitter();
  let prefixes = 0;
  for (let at = 0; at < stream.length; at += CHUNK) {
    const { messages, error } = splitter.push(stream.subarray(at, at + CHUNK));
    if (error) throw new Error(`stream error ${error.code}/${error.subcode}`);
    for (const m of messages) {
      const r = decodeMessage(m, SESSION);
      if (!r.ok || r.message.type !== 'update' || r.message.action !== 'ok') throw new Error('unexpected decode result');
      for (const l of r.message.announce) prefixes += l.count;
      keep?.push(r.message);
    }
  }
  return prefixes;
}

/** Touches every prefix as a RIB insert would: RD + prefix key and label. */
function readAll(updates: UpdateMessage[]): number {
  let sum = 0;
  for (const u of updates) {
    for (const l of u.announce) {
      for (let i = 0; i < l.count; i++) {
        sum += l.key(i).length + l.label(i) + l.prefixLength(i);
      }
    }
  }
  return sum;
}

function timeIt<T>(fn: () => T, runs: number): { best: number; median: number; value: T } {
  const times: number[] = [];
  let value!: T;
  for (let r = 0; r < runs; r++) {
    const t = process.hrtime.bigint();
    value = fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  times.sort((a, b) => a - b);
  return { best: times[0]!, median: times[Math.floor(times.length / 2)]!, value };
}

function getGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function memory(gc: () => void): { heap: number; external: number } {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.arrayBuffers };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function main(argv: string[] = process.argv.slice(2)): void {
  const total = Number(argv[0] ?? 1_000_000);
  const gc = getGc();
  const vrfs = buildVrfs(total);

  // Encode: packing into 4096-octet UPDATEs, attributes once per VRF.
  encodeAll(vrfs.slice(0, 50));
  const enc = timeIt(() => encodeAll(vrfs), 3);
  const messages = enc.value;
  const stream = concat(messages);
  console.log(`VPN-IPv4, ${fmt(total)} prefixes (/24, 1 label, RD type 0, 1 route target) in ${fmt(messages.length)} UPDATEs`);
  console.log(`  ${(total / messages.length).toFixed(0)} prefixes per UPDATE, ${(stream.length / total).toFixed(2)} wire octets per prefix`);
  console.log(`encode (packAnnouncements):  ${fmt(total / enc.median)} prefixes/s  (best ${fmt(total / enc.best)})`);

  // Decode: splitter over 64 KiB chunks + full UPDATE decode with RFC 7606 checks.
  decodeStream(stream.subarray(0, 1 << 20), undefined);
  const dec = timeIt(() => decodeStream(stream, undefined), 5);
  if (dec.value !== total) throw new Error(`decoded ${dec.value} prefixes, expected ${total}`);
  console.log(`decode (split + decode):     ${fmt(total / dec.median)} prefixes/s  (best ${fmt(total / dec.best)})`);

  const held: UpdateMessage[] = [];
  decodeStream(stream, held);
  const read = timeIt(() => readAll(held), 3);
  console.log(`read each prefix (key+label): ${fmt(total / read.median)} prefixes/s`);
  const both = timeIt(() => {
    const keep: UpdateMessage[] = [];
    decodeStream(stream, keep);
    return readAll(keep);
  }, 3);
  console.log(`decode + read every prefix:   ${fmt(total / both.median)} prefixes/s`);
  held.length = 0;

  // Memory: hold every decoded UPDATE; the wire stream already exists before the baseline.
  const before = memory(gc);
  const keep: UpdateMessage[] = [];
  decodeStream(stream, keep);
  const after = memory(gc);
  const heapPer = (after.heap - before.heap) / total;
  const extPer = (after.external - before.external) / total;
  const wirePer = stream.length / total;
  console.log(`memory per decoded prefix, held (${fmt(keep.length)} UPDATEs kept):`);
  console.log(`  decoder structures: ${heapPer.toFixed(1)} B heap + ${extPer.toFixed(1)} B buffers`);
  console.log(`  + the wire octets the views point into: ${wirePer.toFixed(1)} B`);
  console.log(`  = ${(heapPer + extPer + wirePer).toFixed(1)} B per prefix in all`);
  keep.length = 0;

  // For comparison: one object per prefix (what a naive decoder would hold).
  const sample = Math.min(total, 200_000);
  const base2 = memory(gc);
  const objects: DecodedRoute[] = [];
  const sampleUpdates: UpdateMessage[] = [];
  decodeStream(stream.subarray(0, Math.floor((stream.length * sample) / total)), sampleUpdates);
  for (const u of sampleUpdates) for (const l of u.announce) for (const r of l.toRoutes()) objects.push(r);
  sampleUpdates.length = 0;
  const after2 = memory(gc);
  console.log(`  (materialized {rd, prefix, labels} objects instead: ${((after2.heap - base2.heap) / objects.length).toFixed(0)} B per prefix)`);
  objects.length = 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
