// Failover of a dual-homed site whose CE speaks eBGP (BIRD) to both PEs,
// with real packets: the lab of test/agent/site-bgp-lab.ts, run once
// single-active and once all-active. Each round pulls the primary access's
// cable while the remote CE (on PE3) pings 8 addresses of the CE's LAN every
// 5 ms with timestamps (ping -D; 8 destinations so all-active's ECMP spreads
// them over both PEs); the outage is the longest gap between two consecutive
// replies of any stream. PE1's agent reports its port down, the controller
// deletes the access's CE peer (its routes withdrawn at once) and PE3 sends
// everything to PE2. Then the cable goes back and the CE is told to
// reconnect (`birdc restart pe0`: a CE without link tracking would wait for
// its hold timer or next keepalive's reset, then its error wait), and the
// round waits until PE3 uses PE1 again. Last, in the single-active lab, the
// time from the CE announcing a prefix (BIRD reconfigured) to the remote CE's
// first echo reply from it. Prints median, p99, max. Needs root, Open
// vSwitch, BIRD, PostgreSQL and Redis; run under the packet-test lock:
//   flock /tmp/l3vpn-net.lock node dist/bench/ce-bgp-failover.js [rounds] [announce rounds]
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labMissing } from '../test/agent/ovs-harness.js';
import { HOME_NS, REMOTE_NS } from '../test/agent/site-failover-lab.js';
import { LAN, type SiteBgpLab, startSiteBgpLab } from '../test/agent/site-bgp-lab.js';
import { eventually } from '../test/support/eventually.js';
import { longestGap, summary, timedPing } from './support/reply-gaps.js';

const ROUNDS = Number(process.argv[2] ?? 20);
const ANNOUNCES = Number(process.argv[3] ?? 10);
const INTERVAL_MS = 5;
const run = promisify(execFile);
const missing = labMissing();
if (missing) {
  console.log(`ce-bgp-failover: skipped, ${missing}`);
  process.exit(0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Echo requests every INTERVAL_MS from the remote CE to `to`; the reply arrival times (ms since the epoch). */
const timedPingRemote = (to: string) => {
  const run = timedPing(REMOTE_NS, to, INTERVAL_MS, 300);
  return { stop: async () => (await run.stop()).replies };
};

/** The LAN addresses the streams go to (on the CE's lan0 beside LAN.address). */
const TARGETS = Array.from({ length: 8 }, (_, i) => `10.70.0.${i + 1}`);

function birdCtl(): string {
  const dirs = readdirSync(tmpdir())
    .filter((d) => d.startsWith(`l3vpn-ce-bird-${HOME_NS}-`))
    .map((d) => join(tmpdir(), d))
    .sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs);
  return join(dirs[0]!, 'bird.ctl');
}

/** PE3's desired state has `pes` as next hops of the LAN (single-active: one; all-active: both) and its agent applied it. */
async function pe3On(f: SiteBgpLab, pes: string[]): Promise<boolean> {
  const s = (await f.h.vpn.store.latest('PE3'))?.state;
  const r = s?.vrfRoutes.find((x) => x.vrf === 'blue' && x.prefix === LAN.prefix);
  const hops = new Set<string>();
  const loop: Record<string, string> = { '10.255.47.1': 'PE1', '10.255.47.2': 'PE2' };
  if (r?.nextHop?.$case === 'remote') hops.add(loop[r.nextHop.value.remotePeAddress] ?? '?');
  for (const m of r?.multipath ?? []) hops.add(loop[m.remotePeAddress] ?? '?');
  return hops.size === pes.length && pes.every((p) => hops.has(p)) && (await f.h.call('GET', '/v1/nodes/PE3/state')).body.inSync === true;
}

async function failovers(mode: 'single-active' | 'all-active'): Promise<{ cut: number[]; restore: number[]; announce: number[] }> {
  const f = await startSiteBgpLab({ kind: 'bird', multihoming: mode });
  const out = { cut: [] as number[], restore: [] as number[], announce: [] as number[] };
  const both = mode === 'all-active' ? ['PE1', 'PE2'] : ['PE1'];
  try {
    for (const t of TARGETS.slice(1)) await run('ip', ['netns', 'exec', HOME_NS, 'ip', 'addr', 'add', `${t}/32`, 'dev', 'lan0']);
    for (let i = 0; i < ROUNDS; i++) {
      await eventually('PE3 on the primary (and the backup if all-active)', () => pe3On(f, both), { timeoutMs: 60_000, intervalMs: 20 });
      for (const t of TARGETS) await eventually(`echo replies from ${t}`, () => f.reaches(4, t));
      let streams = TARGETS.map(timedPingRemote);
      await sleep(300);
      await f.setAccess('primary', false);
      await eventually('PE3 on PE2 only', () => pe3On(f, ['PE2']), 30_000);
      for (const t of TARGETS) await eventually(`replies from ${t} over the backup`, () => f.reaches(4, t));
      const gaps = (await Promise.all(streams.map((s) => s.stop()))).map(longestGap);
      out.cut.push(Math.round(Math.max(...gaps)));

      await f.setAccess('primary', true);
      const upAt = performance.now();
      // Once PE1's punt is back (its agent applied the peer's return), the CE reconnects at once when told.
      // Told again every 5 s, not faster: a restart in the middle of the handshake (relayed, so slower than on a wire) starts it over.
      let toldAt = 0;
      await eventually('the primary session established again', async () => {
        if (performance.now() - toldAt > 5000) {
          await run('birdc', ['-s', birdCtl(), 'restart', 'pe0']);
          toldAt = performance.now();
        }
        return pe3On(f, both);
      }, { timeoutMs: 120_000, intervalMs: 10 });
      out.restore.push(Math.round(performance.now() - upAt));
      console.log(`${mode} round ${i + 1}: cut -> traffic again ${out.cut.at(-1)} ms (longest reply gap of ${TARGETS.length} streams); cable back + CE restart -> PE3 as before ${out.restore.at(-1)} ms`);
    }
    if (mode === 'single-active') {
      for (let i = 0; i < ANNOUNCES; i++) {
        await f.ce.announce(LAN.cidr, false);
        await eventually('the LAN unreachable', async () => !(await f.reaches(4, LAN.address)), 30_000);
        const s = timedPingRemote(LAN.address);
        await sleep(200);
        const at = Date.now();
        await f.ce.announce(LAN.cidr, true);
        await eventually('the LAN reachable', () => f.reaches(4, LAN.address), 30_000);
        const first = (await s.stop()).find((t) => t >= at);
        out.announce.push(Math.round(first! - at));
        console.log(`announce round ${i + 1}: CE announces -> remote CE's first reply ${out.announce.at(-1)} ms`);
      }
    }
  } finally {
    await f.stop();
  }
  return out;
}

const line = (what: string, xs: number[]) => console.log(summary(what, xs));
const single = await failovers('single-active');
const all = await failovers('all-active');
line('BGP CE single-active failover, access cable cut to traffic via the backup PE (longest echo-reply gap, 8 streams, ping every 5 ms)', single.cut);
line('BGP CE single-active restore, cable back + CE session restart to PE3 on the primary', single.restore);
line('BGP CE all-active failover, access cable cut to every stream flowing via PE2', all.cut);
line('BGP CE all-active restore, cable back + CE session restart to PE3 on both', all.restore);
line('CE announces a prefix (BIRD reconfigure) to the remote CE reaching it (first echo reply, ping every 5 ms)', single.announce);
