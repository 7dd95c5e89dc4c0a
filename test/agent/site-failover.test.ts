// Single-active failover of a dual-homed site, with real packets (see
// site-failover-lab.ts): the remote CE on PE3 pings the dual-homed site at
// 100 packets/s per family while the primary access's cable is pulled. PE1's
// agent reports its CE port down, the controller withdraws the site's routes
// at PE1 (their LOCAL_PREF 200 made PE1 every PE's choice), the speaker
// selects PE2's (LOCAL_PREF 100) and PE3 sends to PE2: the packets arrive on
// the CE's backup link. The cable back, PE1 advertises again once it has
// installed the site, and traffic returns to the primary (revertive); on a
// non-revertive site it stays on the backup until an operator reverts.
// Run under flock /tmp/l3vpn-net.lock (namespaces, veths, OVS).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/eventually.js';
import { skipOrFail } from '../support/tools.js';
import { labMissing } from './ovs-harness.js';
import { pingStream, type PingRun } from './failover-lab.js';
import { HOME, REMOTE_NS, type SiteFailoverLab, startSiteFailoverLab } from './site-failover-lab.js';

/**
 * The most echo requests (10 ms apart) a failover or a return may lose: a
 * bound on the outage, 5 s, on a shared 2-core machine (bench/site-failover.ts
 * measured a median of 0.5-1 s and a p99 of 1.5-3 s there).
 */
const MAX_LOST = 500;

const streams = () => ({ 4: pingStream(REMOTE_NS, HOME.v4), 6: pingStream(REMOTE_NS, HOME.v6) });
/**
 * Waits until the streams have brought 100 packets over `link` (the CE's
 * device there) and returns how many came over the other link meanwhile.
 */
async function carried(f: SiteFailoverLab, link: 'primary' | 'backup'): Promise<number> {
  const other = link === 'primary' ? 'backup' : 'primary';
  const [on0, other0] = [await f.received(link), await f.received(other)];
  await eventually(`100 packets of the streams over the ${link} link`, async () => (await f.received(link)) - on0 >= 100, 10_000);
  return (await f.received(other)) - other0;
}

async function stopAll(s: ReturnType<typeof streams>): Promise<Record<4 | 6, PingRun>> {
  return { 4: await s[4].stop(), 6: await s[6].stop() };
}

describe('dual-homed site, single-active', { skip: skipOrFail(labMissing()), timeout: 300_000 }, () => {
  let f: SiteFailoverLab;

  before(async () => {
    // A short link hold-down: PE1's links carry paths again soon after it is back.
    f = await startSiteFailoverLab({ agentEnv: { AGENT_HEARTBEAT_SECONDS: '1' }, vpnEnv: { VPN_LINK_HOLD_DOWN_MS: '500' } });
  });
  after(async () => {
    await f?.stop();
  });

  test('the primary access cut: every ingress PE sends to the backup PE, the packets arrive on the backup link with a bounded loss; the cable back: traffic returns to the primary (revertive)', async (t) => {
    assert.deepEqual(await f.accessStates(), { primary: 'active', backup: 'active' });
    let s = streams();
    let running = true;
    t.after(async () => void (running && (await stopAll(s))));
    await eventually('echo replies before the cut', async () => (await f.reaches(4)) && (await f.reaches(6)));

    await f.setAccess('primary', false);
    const cutAt = Date.now();
    for (const fam of [4, 6] as const) await eventually(`PE3 to send IPv${fam} to PE2`, async () => (await f.ingressTowards(fam)) === 'PE2');
    await eventually('the remote CE to reach the site again', async () => (await f.reaches(4)) && (await f.reaches(6)));
    console.log(`primary cut: PE3 switched to PE2 and traffic flows after ${Date.now() - cutAt} ms`);
    // Traffic now arrives over the backup link only (the primary's has no carrier).
    assert.ok((await carried(f, 'backup')) < 10, 'nothing on the primary link');
    assert.deepEqual(await f.accessStates(), { primary: 'down', backup: 'active' });
    assert.equal((await f.h.call('GET', '/v1/sites/home')).body.status.state, 'degraded');
    running = false;
    const cut = await stopAll(s);
    for (const fam of [4, 6] as const) {
      console.log(`primary cut, IPv${fam}: ${cut[fam].lost} of ${cut[fam].transmitted} echo requests lost at 100/s (${cut[fam].lostMs} ms)`);
      assert.ok(cut[fam].lost <= MAX_LOST, `IPv${fam}: ${cut[fam].lost} lost`);
    }

    // Revertive: the primary back carries the traffic again.
    s = streams();
    running = true;
    await f.setAccess('primary', true);
    const upAt = Date.now();
    for (const fam of [4, 6] as const) await eventually(`PE3 to send IPv${fam} to PE1 again`, async () => (await f.ingressTowards(fam)) === 'PE1');
    await eventually('every agent on its newest generation', () => f.allInSync());
    await eventually('the remote CE to reach the site', async () => (await f.reaches(4)) && (await f.reaches(6)));
    console.log(`primary back: PE3 switched to PE1 after ${Date.now() - upAt} ms`);
    // Neighbour probes may still come over the backup link, the traffic does not.
    const stillOnBackup = await carried(f, 'primary');
    assert.ok(stillOnBackup < 10, `${stillOnBackup} packets on the backup link meanwhile`);
    running = false;
    const back = await stopAll(s);
    for (const fam of [4, 6] as const) {
      console.log(`primary back, IPv${fam}: ${back[fam].lost} of ${back[fam].transmitted} echo requests lost`);
      assert.ok(back[fam].lost <= MAX_LOST, `IPv${fam}: ${back[fam].lost} lost`);
    }
    await eventually('both accesses active again', async () => JSON.stringify(await f.accessStates()) === JSON.stringify({ primary: 'active', backup: 'active' }));
  });

  test("the primary PE dead (its agent gone, every port down): its routes stay advertised, but PE3 cannot reach it and sends to the backup PE's route instead; PE1 back: traffic returns to it", async (t) => {
    await eventually('PE3 on PE1', async () => (await f.ingressTowards(4)) === 'PE1' && (await f.ingressTowards(6)) === 'PE1');
    await eventually('echo replies before', async () => (await f.reaches(4)) && (await f.reaches(6)));
    let s = streams();
    let running = true;
    t.after(async () => void (running && (await stopAll(s))));
    await f.setPe1Alive(false);
    const deadAt = Date.now();
    for (const fam of [4, 6] as const) await eventually(`PE3 to send IPv${fam} to PE2`, async () => (await f.ingressTowards(fam)) === 'PE2');
    await eventually('the remote CE to reach the site again', async () => (await f.reaches(4)) && (await f.reaches(6)));
    console.log(`primary PE dead: traffic flows via PE2 after ${Date.now() - deadAt} ms`);
    assert.ok((await carried(f, 'backup')) < 10, 'nothing on the primary link');
    running = false;
    const dead = await stopAll(s);
    for (const fam of [4, 6] as const) {
      console.log(`primary PE dead, IPv${fam}: ${dead[fam].lost} of ${dead[fam].transmitted} echo requests lost`);
      assert.ok(dead[fam].lost <= MAX_LOST, `IPv${fam}: ${dead[fam].lost} lost`);
    }

    // The backup too: PE3 follows the fallback path's withdrawal and return, though PE1's dead path stays the speaker's best throughout.
    await f.setAccess('backup', false);
    await eventually('PE3 to drop the route to the site', async () => (await f.ingressTowards(4)) === undefined);
    await f.setAccess('backup', true);
    const backupUpAt = Date.now();
    await eventually('PE3 on PE2 again', async () => (await f.ingressTowards(4)) === 'PE2' && (await f.ingressTowards(6)) === 'PE2');
    console.log(`backup back while the primary PE is dead: PE3 on PE2 again after ${Date.now() - backupUpAt} ms`);
    await eventually('the remote CE to reach the site via PE2 again', async () => (await f.reaches(4)) && (await f.reaches(6)));

    s = streams();
    running = true;
    await f.setPe1Alive(true);
    for (const fam of [4, 6] as const) await eventually(`PE3 to send IPv${fam} to PE1 again`, async () => (await f.ingressTowards(fam)) === 'PE1', 60_000);
    await eventually('every agent on its newest generation', () => f.allInSync());
    await eventually('the remote CE to reach the site via PE1', async () => (await f.reaches(4)) && (await f.reaches(6)));
    const backupMeanwhile = await carried(f, 'primary');
    assert.ok(backupMeanwhile < 10, `${backupMeanwhile} packets on the backup link meanwhile`);
    running = false;
    const back = await stopAll(s);
    for (const fam of [4, 6] as const) console.log(`primary PE back, IPv${fam}: ${back[fam].lost} of ${back[fam].transmitted} echo requests lost`);
  });

  test("non-revertive: the primary's cable back leaves the traffic on the backup PE; the operator's revert puts it back on the primary", async (t) => {
    const patched = await f.h.call('PATCH', '/v1/sites/home', { body: { revertive: false }, headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    await eventually('both accesses active, PE3 on PE1', async () => JSON.stringify(await f.accessStates()) === JSON.stringify({ primary: 'active', backup: 'active' }) && (await f.ingressTowards(4)) === 'PE1' && (await f.ingressTowards(6)) === 'PE1');
    await eventually('echo replies before', async () => (await f.reaches(4)) && (await f.reaches(6)));
    const s = streams();
    let running = true;
    t.after(async () => void (running && (await stopAll(s))));
    const activeAccess = async () => (await f.h.call('GET', '/v1/sites/home')).body.activeAccess as string | undefined;

    await f.setAccess('primary', false);
    for (const fam of [4, 6] as const) await eventually(`PE3 to send IPv${fam} to PE2`, async () => (await f.ingressTowards(fam)) === 'PE2');
    assert.equal(await activeAccess(), 'backup');
    await f.setAccess('primary', true);
    const upAt = Date.now();
    await eventually('the primary access active again', async () => (await f.accessStates()).primary === 'active', 60_000);
    await eventually('every agent on its newest generation', () => f.allInSync());
    // The primary is installed and advertised again, but with LOCAL_PREF 100: PE3 stays on PE2 and the packets on the backup link.
    const onPrimary = await carried(f, 'backup');
    assert.ok(onPrimary < 10, `${onPrimary} packets on the primary link after its return`);
    for (const fam of [4, 6] as const) assert.equal(await f.ingressTowards(fam), 'PE2', `IPv${fam} still to PE2 ${Date.now() - upAt} ms after the primary's return`);
    assert.equal(await activeAccess(), 'backup');

    const reverted = await f.h.call('POST', '/v1/sites/home/revert');
    assert.equal(reverted.status, 200, JSON.stringify(reverted.body));
    const revertAt = Date.now();
    for (const fam of [4, 6] as const) await eventually(`PE3 to send IPv${fam} to PE1 after the revert`, async () => (await f.ingressTowards(fam)) === 'PE1');
    await eventually('the remote CE to reach the site via PE1', async () => (await f.reaches(4)) && (await f.reaches(6)));
    console.log(`operator revert: PE3 on PE1 after ${Date.now() - revertAt} ms`);
    const onBackup = await carried(f, 'primary');
    assert.ok(onBackup < 10, `${onBackup} packets on the backup link after the revert`);
    running = false;
    const run = await stopAll(s);
    for (const fam of [4, 6] as const) {
      console.log(`non-revertive cut, return and revert, IPv${fam}: ${run[fam].lost} of ${run[fam].transmitted} echo requests lost`);
      assert.ok(run[fam].lost <= 2 * MAX_LOST, `IPv${fam}: ${run[fam].lost} lost over a failover and a revert`);
    }
  });
});
