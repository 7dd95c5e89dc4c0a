// Fast reroute with real packets, on the ring of failover-lab.ts: backup
// next hops computed in advance by the controller (an LFA at PE1, a remote
// LFA through P2 at P1) are OpenFlow fast-failover groups on the switches,
// so a cut core link is repaired by the switches at the point of local
// repair, before any agent or controller acts; the controller's
// recomputation afterwards only cleans up. CE1 pings CE2 every 5 ms from
// before the cut until every agent has applied the controller's new
// paths: the whole outage must fit 50 ms. Back up, traffic returns to the
// primary path. Run under flock /tmp/l3vpn-net.lock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/eventually.js';
import { skipOrFail } from '../support/tools.js';
import { labMissing } from './ovs-harness.js';
import { type FailoverLab, pingStream, PRIMARY, startFailoverLab } from './failover-lab.js';

const skip = skipOrFail(labMissing());
/** The loss a cut may cost with local repair (the stretch goal). */
const BUDGET_MS = 50;
const INTERVAL_MS = 5;

describe('fast reroute', { skip }, () => {
  let f: FailoverLab;

  before(async () => {
    const missing = labMissing();
    if (missing) throw new Error(missing);
    // A short hold-down; no flap damping (each cut here is deliberate).
    f = await startFailoverLab({ vpnEnv: { VPN_LINK_HOLD_DOWN_MS: '1000', VPN_LINK_FLAP_SUPPRESS: '1000000', VPN_LINK_FLAP_REUSE: '750' } });
  });

  after(async () => {
    await f?.stop();
  });

  test('backups are in the desired states and on the switches before anything fails', async () => {
    // PE1 towards PE2 (primary over P1): P2 is a node-protecting LFA, under P2's label of PE2.
    const pe1 = await f.latest('PE1');
    assert.deepEqual(pe1.transportPaths.find((p) => p.remoteNode === 'PE2')?.backup, {
      outInterface: 'core1',
      nextHop: '10.0.2.1',
      outLabels: [16002],
      viaNode: 'P2',
      repairNode: '',
      nodeProtecting: true,
    });
    // P1 towards PE1 (PHP over the link to be cut): PE2 would send it back, so a remote LFA: to PE2 under [PE2's label of P2, P2's label of PE1].
    const p1 = await f.latest('P1');
    const toPe1 = p1.lfibEntries.find((e) => e.inLabel === 16001)?.action;
    assert.equal(toPe1?.$case, 'pop');
    assert.deepEqual(toPe1?.$case === 'pop' && toPe1.value.backup, { outInterface: 'core1', nextHop: '10.0.1.1', outLabels: [16012, 16001], viaNode: 'PE2', repairNode: 'P2', nodeProtecting: false });
    // On the switch: PE1's group of PE2's SID has the primary bucket (core0) then the backup (core1).
    const group = (bridge: string, id: number) =>
      f.lab.ovs
        .ofctl('dump-groups', bridge)
        .split('\n')
        .find((l) => l.includes(`group_id=${id},`));
    assert.match(group('l3lkb1', 16002) ?? '', /type=ff,bucket=watch_port:\d+,actions=set_field:16002->mpls_label,output:\d+,bucket=watch_port:\d+,actions=set_field:16002->mpls_label,set_field:0->in_port,output:\d+$/);
    assert.match(group('l3lkba', 16001) ?? '', /type=ff,bucket=watch_port:\d+,actions=pop_mpls:0x8847,output:\d+,bucket=.*set_field:16001->mpls_label,push_mpls:0x8847,set_field:16012->mpls_label,set_field:0->in_port/);
  });

  test(`a cut core link costs under ${BUDGET_MS} ms of traffic: the switches repair locally and the controller's update keeps it flowing; back up, traffic returns to the primary`, async (t) => {
    await eventually('echo replies before the cut', () => f.reaches());
    await f.settled();
    const nodes = ['PE1', 'P1', 'P2', 'PE2'];
    const generations = async () => new Map(await Promise.all(nodes.map(async (id) => [id, (await f.latest(id)).generation] as const)));
    const before = await generations();
    const ping = pingStream('l3lk-ce1', '10.2.0.1', INTERVAL_MS);
    let stopped = false;
    t.after(async () => void (stopped || (await ping.stop())));
    await eventually('echo replies in the stream', () => f.reaches());
    await f.setPort(PRIMARY.port, false);
    // The controller cleans up, the ping running through all of it: every node gets new paths, the ends of the link last
    // (RFC 8333 local convergence delay: no micro-loop between P1 and PE2), then every agent applies them.
    const changedAt = new Map<string, number>();
    await eventually('a new state for every node', async () => {
      const now = await generations();
      for (const id of nodes) if (now.get(id)! > before.get(id)! && !changedAt.has(id)) changedAt.set(id, Date.now());
      return changedAt.size === nodes.length;
    }, { timeoutMs: 30_000, intervalMs: 20 });
    // Both ends back up all they sent over the link: they got theirs after the others.
    const last = (ids: string[]) => Math.max(...ids.map((id) => changedAt.get(id)!));
    const first = (ids: string[]) => Math.min(...ids.map((id) => changedAt.get(id)!));
    assert.ok(last(['P2', 'PE2']) < first(['PE1', 'P1']), `ends after the others: ${JSON.stringify([...changedAt])}`);
    assert.equal((await f.link(PRIMARY.link)).operStatus, 'down');
    assert.equal(await f.pe1OutInterface(), 'core1', 'PE1 sends towards PE2 over P2');
    await eventually("every agent on the controller's new paths", () => f.allInSync());
    const p1 = (await f.latest('P1')).lfibEntries.find((e) => e.inLabel === 16001)?.action;
    assert.ok(p1?.$case === 'swap' && p1.value.outInterface === 'core1', "P1's own path to PE1 now goes over PE2");
    await eventually('CE1 to reach CE2 after the update', () => f.reaches());
    stopped = true;
    const cut = await ping.stop();
    console.log(`fast reroute, core link cut: ${cut.lost} of ${cut.transmitted} echo requests lost at ${1000 / INTERVAL_MS}/s (${cut.lostMs} ms)`);
    assert.ok(cut.transmitted > 100, `the ping ran through the cut and the update (${cut.transmitted} sent)`);
    assert.ok(cut.lostMs <= BUDGET_MS, `${cut.lostMs} ms of traffic lost (${cut.lost} of ${cut.transmitted}), over the ${BUDGET_MS} ms budget`);

    // Back up: the primary port is live again, and after the hold-down the controller puts the paths back on it.
    const back = pingStream('l3lk-ce1', '10.2.0.1', INTERVAL_MS);
    let backStopped = false;
    t.after(async () => void (backStopped || (await back.stop())));
    await f.setPort(PRIMARY.port, true);
    await eventually('pe1-p1 operationally up', async () => (await f.link(PRIMARY.link)).operStatus === 'up', 30_000);
    await eventually('PE1 to send over P1 again', async () => (await f.pe1OutInterface()) === 'core0');
    await eventually("every agent on the controller's paths over P1", () => f.allInSync());
    await eventually('CE1 to reach CE2 over P1', () => f.reaches());
    backStopped = true;
    const ret = await back.stop();
    console.log(`fast reroute, link back: ${ret.lost} of ${ret.transmitted} echo requests lost (${ret.lostMs} ms)`);
    assert.ok(ret.lostMs <= BUDGET_MS, `${ret.lostMs} ms lost when the paths returned`);
    // Traffic really is on the primary again: PE1's group of PE2's SID counts it in its first bucket (towards P1).
    const bucket0 = () => {
      const line = f.lab.ovs.ofctl('dump-group-stats', 'l3lkb1').split('\n').find((l) => l.includes('group_id=16002,')) ?? '';
      return Number(/bucket0:packet_count=(\d+)/.exec(line)?.[1] ?? -1);
    };
    const counted = bucket0();
    assert.ok(counted >= 0, 'PE1 has the group of PE2\'s SID');
    await eventually('echo requests over the primary bucket', async () => (await f.reaches()) && bucket0() > counted);
  });
});
