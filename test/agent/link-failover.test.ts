// Core links that fail and heal, with real packets (see failover-lab.ts):
// a core veth set down is reported by both agents (OVS port status), the
// controller marks the link operationally down beside its intended status,
// recomputes transport without it and pushes the new paths; CE to CE traffic
// at 100 packets/s moves to the other path. Back up, the link carries paths
// again after its hold-down; a flapping link is suppressed (flap damping).
// Run under flock /tmp/l3vpn-net.lock (namespaces, veths, OVS).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/eventually.js';
import { labMissing } from './ovs-harness.js';
import { type FailoverLab, pingStream, PRIMARY, startFailoverLab } from './failover-lab.js';

const skip = process.env.CI ? false : labMissing();

describe('core link cut', { skip }, () => {
  let f: FailoverLab;

  before(async () => {
    const missing = labMissing();
    if (missing) throw new Error(missing);
    // A short hold-down and a fast-decaying penalty, so that healing and damping show within a test.
    f = await startFailoverLab({
      vpnEnv: { VPN_LINK_HOLD_DOWN_MS: '1500', VPN_LINK_FLAP_HALF_LIFE_SECONDS: '10', VPN_LINK_FLAP_SUPPRESS: '2000', VPN_LINK_FLAP_REUSE: '750' },
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
});
