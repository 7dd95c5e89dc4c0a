// How evenly ECMP spreads flows over an all-active site's two egress PEs,
// with real packets through Open vSwitch (the lab of test/agent/ecmp-lab.ts:
// PE1's route is a select group over PE2 and PE3). Each round sends FLOWS
// TCP connection attempts from one CE1 address, each from its own source
// port (one SYN per flow), and counts the SYNs each egress CE received; then
// the same for UDP datagrams from CE1's two addresses (Open vSwitch's
// default select hash takes TCP ports, not UDP ones). Prints per round the
// split and the lost packets, and the soft driver's hash over the same
// flows for 2..8 members. Needs root and Open vSwitch; run under the
// packet-test lock:
//   flock /tmp/l3vpn-net.lock node dist/bench/ecmp-distribution.js [rounds] [flows]
import { Agent } from '../services/agent/agent.js';
import { ecmpIndex } from '../services/agent/drivers/ecmp.js';
import { OvsDriver } from '../services/agent/drivers/ovs/driver.js';
import { labMissing, PacketLab } from '../test/agent/ovs-harness.js';
import { ECMP_SPEC, received, sendTcpFlows, sendUdpFlows, states } from '../test/agent/ecmp-lab.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const FLOWS = Number(process.argv[3] ?? 1000);

function softSplit(members: number): number[] {
  const counts = new Array<number>(members).fill(0);
  for (let i = 0; i < FLOWS; i++) counts[ecmpIndex({ source: '192.168.1.2', destination: '10.9.0.1', protocol: 6, sourcePort: 40000 + i, destinationPort: 5001 }, members)]!++;
  return counts;
}

const maxDeviation = (counts: number[]) => Math.max(...counts.map((c) => Math.abs(c / (FLOWS / counts.length) - 1)));

async function main(): Promise<void> {
  console.log(`soft driver hash, ${FLOWS} TCP flows from one address: members -> flows per member (max deviation from an even share)`);
  for (let n = 2; n <= 8; n++) {
    const c = softSplit(n);
    console.log(`  ${n}: ${c.join('/')} (${(maxDeviation(c) * 100).toFixed(1)}%)`);
  }
  const missing = labMissing();
  if (missing) {
    console.log(`ovs: skipped, ${missing}`);
    return;
  }
  const lab = await PacketLab.start(ECMP_SPEC);
  const drivers: OvsDriver[] = [];
  try {
    const wanted = states(true, 1);
    for (const n of ECMP_SPEC.nodes) {
      const driver = await new OvsDriver({ target: lab.target(n), portPrefix: n.portPrefix }).connect();
      drivers.push(driver);
      const r = await new Agent({ node: n.id, driver }).applySnapshot(wanted.get(n.id)!);
      if (r.failures) throw new Error(`${n.id}: ${r.failures} entries failed`);
    }
    for (const ns of ['l3ec-ce2', 'l3ec-ce3']) if (!lab.ping(ns, '10.1.0.1')) throw new Error(`${ns} does not reach CE1`);
    console.log(`ovs select group, ${FLOWS} flows per round: PE2/PE3 (max deviation), lost`);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [proto, send] of [
        ['Tcp', () => sendTcpFlows(lab, FLOWS, 20000 + round * 2000)],
        ['Udp', () => sendUdpFlows(lab, FLOWS)],
      ] as const) {
        const before = [received(lab, 'l3ec-ce2', proto), received(lab, 'l3ec-ce3', proto)];
        send();
        const got = [received(lab, 'l3ec-ce2', proto) - before[0]!, received(lab, 'l3ec-ce3', proto) - before[1]!];
        console.log(`  round ${round} ${proto === 'Tcp' ? 'TCP, one address' : 'UDP, two addresses'}: ${got.join('/')} (${(maxDeviation(got) * 100).toFixed(1)}%), lost ${FLOWS - got[0]! - got[1]!}`);
      }
    }
  } finally {
    for (const d of drivers) await d.close();
    await lab.stop();
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
