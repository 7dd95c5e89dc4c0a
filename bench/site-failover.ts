// Single-active failover of a dual-homed site, with real packets: the lab of
// test/agent/site-failover-lab.ts (site `home` on PE1, primary, and PE2,
// backup; the remote CE on PE3 pings it). Each round pulls the primary
// access's cable (its switch-side veth set down) while the remote CE pings
// every 5 ms with timestamps (ping -D), waits until PE3 sends to PE2, its
// agent has applied that and echo replies flow, and takes the outage as
// the longest gap between two consecutive echo replies (the last before
// the cut to the first after it). Then it puts the cable back and takes
// the restore time (cable back to PE3's agent on a state that sends to PE1
// again, polled every 10 ms) and the replies lost meanwhile. Prints median,
// p99 and max over the rounds. Needs root, Open vSwitch, PostgreSQL and
// Redis; run under the packet-test lock:
//   flock /tmp/l3vpn-net.lock node dist/bench/site-failover.js [rounds] [interval ms]
import { labMissing } from '../test/agent/ovs-harness.js';
import { HOME, REMOTE_NS, type SiteFailoverLab, startSiteFailoverLab } from '../test/agent/site-failover-lab.js';
import { eventually } from '../test/support/eventually.js';
import { longestGap, summary, timedPing } from './support/reply-gaps.js';

const ROUNDS = Number(process.argv[2] ?? 20);
const INTERVAL_MS = Number(process.argv[3] ?? 5);
const missing = labMissing();
if (missing) {
  console.log(`site-failover: skipped, ${missing}`);
  process.exit(0);
}

/** Echo requests every INTERVAL_MS from the remote CE; the longest gap between two replies is the outage. */
function timedPingRemote(to: string) {
  const run = timedPing(REMOTE_NS, to, INTERVAL_MS, 120);
  return {
    async stop() {
      const r = await run.stop();
      return { transmitted: r.transmitted, received: r.received, longestGapMs: longestGap(r.replies) };
    },
  };
}

/** PE3's desired state sends to `pe` and its agent applied it. */
const pe3On = async (f: SiteFailoverLab, pe: string) => (await f.ingressTowards(4)) === pe && (await f.h.call('GET', '/v1/nodes/PE3/state')).body.inSync === true;

const f = await startSiteFailoverLab();
const cut: number[] = [];
const restore: number[] = [];
const restoreLost: number[] = [];
try {
  for (let i = 0; i < ROUNDS; i++) {
    await eventually('echo replies before the cut', () => f.reaches(4));
    let ping = timedPingRemote(HOME.v4);
    await new Promise((r) => setTimeout(r, 200));
    await f.setAccess('primary', false);
    await eventually('PE3 on PE2', () => pe3On(f, 'PE2'), 30_000);
    await eventually('replies over the backup', () => f.reaches(4));
    const c = await ping.stop();
    cut.push(c.longestGapMs);

    ping = timedPingRemote(HOME.v4);
    await new Promise((r) => setTimeout(r, 200));
    await f.setAccess('primary', true);
    const upAt = performance.now();
    await eventually('PE3 on PE1', () => pe3On(f, 'PE1'), { timeoutMs: 30_000, intervalMs: 10 });
    restore.push(Math.round(performance.now() - upAt));
    await eventually('replies over the primary', () => f.reaches(4));
    await eventually('every agent on its newest state', () => f.allInSync());
    const b = await ping.stop();
    restoreLost.push(b.transmitted - b.received);
    console.log(
      `round ${i + 1}: cut -> traffic again ${c.longestGapMs} ms (${c.transmitted - c.received}/${c.transmitted} lost); cable back -> PE3 on the primary ${restore.at(-1)} ms, longest gap ${b.longestGapMs} ms (${b.transmitted - b.received}/${b.transmitted} lost)`,
    );
  }
} finally {
  await f.stop();
}
const line = (what: string, xs: number[], unit = 'ms') => console.log(summary(what, xs, unit));
line(`single-active failover, access cable cut to traffic flowing via the backup PE (longest echo-reply gap, ping every ${INTERVAL_MS} ms)`, cut);
line('restore, cable back to the ingress PE forwarding to the primary again (revertive)', restore);
line('echo replies lost during the restore', restoreLost, 'replies');
