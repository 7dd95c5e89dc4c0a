// Core links that fail and heal, with real packets (see failover-lab.ts):
// a core veth set down is reported by both agents (OVS port status), the
// controller marks the link operationally down beside its intended status,
// recomputes transport without it and pushes the new paths; CE to CE traffic
// at 100 packets/s moves to the other path. Back up, the link carries paths
// again after its hold-down; a flapping link is suppressed (flap damping).
// A killed agent (no BFD AdminDown) is no link failure: its PE forwards
// headless and its links keep carrying paths.
// Run under flock /tmp/l3vpn-net.lock (namespaces, veths, OVS).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/eventually.js';
import { labMissing } from './ovs-harness.js';
import type { RunningService } from '../../services/common/service.js';
import { type FailoverLab, pingStream, PRIMARY, startFailoverLab } from './failover-lab.js';

/** An in-process agent's l3vpn_agent_core_link_up for one interface (undefined: not reported). */
async function coreLinkUp(agent: RunningService, itf: string): Promise<number | undefined> {
  const m = await agent.metrics!.getSingleMetric('l3vpn_agent_core_link_up')!.get();
  return m.values.find((v) => v.labels.interface === itf)?.value;
}

const skip = process.env.CI ? false : labMissing();

describe('core link cut', { skip }, () => {
  let f: FailoverLab;

  before(async () => {
    const missing = labMissing();
    if (missing) throw new Error(missing);
    // A short hold-down and a fast-decaying penalty, so that healing and damping show within a test.
    f = await startFailoverLab({
      vpnEnv: { VPN_LINK_HOLD_DOWN_MS: '1500', VPN_LINK_FLAP_HALF_LIFE_SECONDS: '10', VPN_LINK_FLAP_SUPPRESS: '2000', VPN_LINK_FLAP_REUSE: '750' },
      agentEnv: { AGENT_HEARTBEAT_SECONDS: '1' },
      // PE1's agent is a process of its own, to be killed.
      processAgents: ['PE1'],
    });
  });

  after(async () => {
    await f?.stop();
  });

  test('a cut core link is down beside its intended status, traffic moves to the other path; back up, paths return after the hold-down', async (t) => {
    const ping = pingStream('l3lk-ce1', '10.2.0.1');
    let stopped = false;
    t.after(async () => void (stopped || (await ping.stop())));
    // Traffic flows before the cut.
    await eventually('echo replies before the cut', () => f.reaches());
    await f.setPort(PRIMARY.port, false);
    const down = await eventually('pe1-p1 operationally down', async () => {
      const l = await f.link(PRIMARY.link);
      return l.operStatus === 'down' && l;
    });
    // The port of either end: PE1's is administratively down, P1's has lost its carrier.
    assert.match(down.operReason ?? '', /port down: (administratively down|link down)/);
    // The intended status (the reconcile's) is untouched by the operational one.
    const intended = (await f.h.call('GET', `/v1/links/${PRIMARY.link}`)).body as { status: { state: string } };
    assert.notEqual(intended.status.state, 'failed');
    await eventually('PE1 to send towards PE2 over P2', async () => (await f.pe1OutInterface()) === 'core1');
    // Traffic restored over PE1 - P2 - PE2 while the link is still down.
    await eventually('CE1 to reach CE2 over the other path', () => f.reaches());
    stopped = true;
    const run = await ping.stop();
    console.log(`core link cut: ${run.lost} of ${run.transmitted} echo requests lost at 100/s (${run.lostMs} ms)`);
    assert.ok(run.received > 0 && run.lost < run.transmitted, 'traffic flowed again after the cut');

    // Back up: paths return only after the hold-down.
    await f.setPort(PRIMARY.port, true);
    const held = await eventually('pe1-p1 in hold-down', async () => {
      const l = await f.link(PRIMARY.link);
      return /hold-down until/.test(l.operReason ?? '') && l;
    });
    assert.equal(held.operStatus, 'down', 'held down before it carries paths');
    assert.equal(await f.pe1OutInterface(), 'core1');
    await eventually('pe1-p1 operationally up', async () => (await f.link(PRIMARY.link)).operStatus === 'up');
    await eventually('PE1 to send over P1 again', async () => (await f.pe1OutInterface()) === 'core0');
    await eventually('CE1 to reach CE2 over P1 again', () => f.reaches());
  });

  test('a flapping link is suppressed by flap damping, and carries paths again once its penalty has decayed', async () => {
    // Three flaps; each down waits until the controller has seen it.
    for (let i = 0; i < 3; i++) {
      await f.setPort(PRIMARY.port, false);
      await eventually(`flap ${i + 1}: down seen`, async () => /port down/.test((await f.link(PRIMARY.link)).operReason ?? ''));
      await f.setPort(PRIMARY.port, true);
      await eventually(`flap ${i + 1}: up seen`, async () => /^up again/.test((await f.link(PRIMARY.link)).operReason ?? ''));
    }
    const l = await f.link(PRIMARY.link);
    assert.equal(l.operStatus, 'down');
    assert.match(l.operReason ?? '', /suppressed by flap damping/);
    await eventually('the suppressed link to carry no path', async () => (await f.pe1OutInterface()) === 'core1');
    // Both PEs' agents apply their new paths on their own: wait for the return path too.
    await eventually('traffic to flow over the other path meanwhile', () => f.reaches(), 15_000);
    // Half-life 10 s: from about 2,500 to 750 takes about 17 s.
    await eventually('pe1-p1 up after the damping', async () => (await f.link(PRIMARY.link)).operStatus === 'up', 60_000);
    await eventually('PE1 to send over P1 again', async () => (await f.pe1OutInterface()) === 'core0');
  });

  test('a killed agent is no link failure: its neighbours\' BFD goes down, its links keep carrying paths and its PE forwards headless; back, its sessions come up with no flap', async (t) => {
    const nodeState = async (id: string) => (await f.h.call('GET', `/v1/nodes/${id}/state`)).body as { installed?: { lastSeenAt: string } };
    await eventually('PE1 to send over P1', async () => (await f.pe1OutInterface()) === 'core0', 60_000);
    await eventually('CE1 to reach CE2', () => f.reaches());
    const before = { p1: await f.link('pe1-p1'), p2: await f.link('pe1-p2') };
    const ping = pingStream('l3lk-ce1', '10.2.0.1');
    let stopped = false;
    t.after(async () => void (stopped || (await ping.stop())));

    await f.killAgent('PE1');
    // SIGKILL: no AdminDown, so P1's and P2's sessions towards PE1 time out ...
    await eventually("P1's BFD towards PE1 down", async () => (await coreLinkUp(f.agents.get('P1')!, 'core0')) === 0);
    await eventually("P2's BFD towards PE1 down", async () => (await coreLinkUp(f.agents.get('P2')!, 'core0')) === 0);
    // ... which they report at once; a heartbeat after it shows the controller has taken that report.
    const seen = Date.now();
    for (const id of ['P1', 'P2']) await eventually(`a report of ${id} after its BFD went down`, async () => Date.parse((await nodeState(id)).installed?.lastSeenAt ?? '0') > seen);
    const after = { p1: await f.link('pe1-p1'), p2: await f.link('pe1-p2') };
    assert.equal(after.p1.operStatus, 'up', `pe1-p1 ${JSON.stringify(after.p1)}`);
    assert.equal(after.p2.operStatus, 'up', `pe1-p2 ${JSON.stringify(after.p2)}`);
    assert.equal(await f.pe1OutInterface(), 'core0', "PE1's paths unchanged");
    stopped = true;
    const run = await ping.stop();
    console.log(`agent killed: ${run.lost} of ${run.transmitted} echo requests lost at 100/s`);
    // The ping ran from before the kill until the controller had taken the neighbours' BFD down (ping sends fewer than 100/s on a loaded machine).
    assert.ok(run.received > 0, 'echo replies through the headless PE1');
    assert.ok(run.lost <= 5, `the headless PE1 forwarded: ${run.lost} of ${run.transmitted} lost`);

    // Back: its sessions come up again and the links never changed state.
    f.startProcessAgent('PE1');
    await eventually("P1's BFD towards PE1 up again", async () => (await coreLinkUp(f.agents.get('P1')!, 'core0')) === 1, 30_000);
    await eventually("P2's BFD towards PE1 up again", async () => (await coreLinkUp(f.agents.get('P2')!, 'core0')) === 1, 30_000);
    for (const [id, was] of [['pe1-p1', before.p1], ['pe1-p2', before.p2]] as const) {
      const l = await f.link(id);
      assert.equal(l.operStatus, 'up');
      assert.equal(l.operChangedAt, was.operChangedAt, `${id} did not flap`);
    }
    await eventually('CE1 to reach CE2 with PE1 managed again', () => f.reaches());
  });
});
