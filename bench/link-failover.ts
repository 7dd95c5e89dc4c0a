// Core link cut to traffic restored, with real packets: the ring of
// test/agent/failover-lab.ts (PE1 - P1 - PE2 preferred, PE1 - P2 - PE2 the
// other path), CE1 pinging CE2 every 5 ms. The switches repair locally
// (fast-failover groups with the backups the controller computed in
// advance, an LFA at PE1 and a remote LFA at P1), and the controller cleans
// up afterwards (the link's ends last, RFC 8333). Each round sets PE1's
// veth on PE1 - P1 down (as a pulled cable), keeps pinging until every node
// has applied the controller's new paths, stops the ping and counts the
// lost replies (x 5 ms = the outage); then puts the link back and does the
// same until the paths use it again after the hold-down. Prints median, p99
// and max over the rounds. Needs root, Open vSwitch, PostgreSQL and Redis;
// run under the packet-test lock:
//   flock /tmp/l3vpn-net.lock node dist/bench/link-failover.js [rounds] [interval ms]
import { labMissing } from '../test/agent/ovs-harness.js';
import { type FailoverLab, pingStream, PRIMARY, startFailoverLab } from '../test/agent/failover-lab.js';
import { eventually } from '../test/vpn/reconcile-support.js';

const ROUNDS = Number(process.argv[2] ?? 20);
const INTERVAL_MS = Number(process.argv[3] ?? 5);
const missing = labMissing();
if (missing) {
  console.log(`link-failover: skipped, ${missing}`);
  process.exit(0);
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

const NODES = ['PE1', 'P1', 'P2', 'PE2'];
/** Waits until every node has a newer desired state than `before` and every agent has applied its newest. */
async function cleanedUp(f: FailoverLab, before: Map<string, number>): Promise<void> {
  await eventually('a new state for every node', async () => {
    for (const id of NODES) if ((await f.latest(id)).generation <= before.get(id)!) return false;
    return true;
  });
  await eventually('every agent on its newest state', () => f.allInSync());
}
const generations = async (f: FailoverLab) => new Map(await Promise.all(NODES.map(async (id) => [id, (await f.latest(id)).generation] as const)));

// No flap damping here (every round is a deliberate cut), a short hold-down.
const f = await startFailoverLab({ vpnEnv: { VPN_LINK_HOLD_DOWN_MS: '500', VPN_LINK_FLAP_SUPPRESS: '1000000', VPN_LINK_FLAP_REUSE: '750' } });
const cut: number[] = [];
const back: number[] = [];
try {
  for (let i = 0; i < ROUNDS; i++) {
    await eventually('echo replies before the cut', () => f.reaches());
    let before = await generations(f);
    let ping = pingStream('l3lk-ce1', '10.2.0.1', INTERVAL_MS);
    await eventually('echo replies in the stream', () => f.reaches());
    await f.setPort(PRIMARY.port, false);
    await eventually('PE1 over P2', async () => (await f.pe1OutInterface()) === 'core1');
    await cleanedUp(f, before);
    await eventually('CE2 reached over P2', () => f.reaches());
    const c = await ping.stop();
    cut.push(c.lostMs);

    before = await generations(f);
    ping = pingStream('l3lk-ce1', '10.2.0.1', INTERVAL_MS);
    await f.setPort(PRIMARY.port, true);
    await eventually('pe1-p1 up', async () => (await f.link(PRIMARY.link)).operStatus === 'up', 30_000);
    await eventually('PE1 over P1 again', async () => (await f.pe1OutInterface()) === 'core0');
    await cleanedUp(f, before);
    await eventually('CE2 reached over P1', () => f.reaches());
    const b = await ping.stop();
    back.push(b.lostMs);
    console.log(`round ${i + 1}: cut ${c.lostMs} ms lost (${c.lost}/${c.transmitted}), link back ${b.lostMs} ms lost (${b.lost}/${b.transmitted})`);
  }
} finally {
  await f.stop();
}
const line = (what: string, xs: number[]) =>
  console.log(`${what}: median ${quantile(xs, 0.5)} ms, p99 ${quantile(xs, 0.99)} ms, max ${Math.max(...xs)} ms over ${xs.length} rounds (ping loss every ${INTERVAL_MS} ms, through the controller's clean-up)`);
line('core link cut, local repair (fast-failover groups)', cut);
line('link back to paths restored (hold-down 500 ms)', back);
