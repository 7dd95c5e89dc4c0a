// The bgp speaker as the restarting speaker of RFC 4724, against a real
// BIRD route-reflector client with graceful restart (speaker-restart-lab.ts).
// The speaker is SIGKILLed (no NOTIFICATION: the peer keeps our routes as
// stale, as our capability's Forwarding State bits ask; the agents keep
// forwarding), a site is deleted while it is away, and it is started
// again: it sets the Restart State bit and holds End-of-RIB back until
// the vpn service has defined every VRF and route again (CompleteRestart).
// The peer never loses a route of a site that still exists, sampled every
// 100 ms across the outage, and the deleted site's route goes at the
// End-of-RIB. The same across a planned stop (SIGTERM): the session ends
// without a NOTIFICATION, which would end the peer's graceful restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/eventually.js';
import { requirePeers } from '../peers/common.js';
import { SPEAKER, sitePrefix, startSpeakerRestartLab, type SpeakerRestartLab } from './speaker-restart-lab.js';

const missing = requirePeers('bird');
const skip = missing && !process.env.CI ? missing : false;
let lab: SpeakerRestartLab | undefined;

before(async () => {
  if (missing) {
    if (process.env.CI) throw new Error(missing);
    return;
  }
  lab = await startSpeakerRestartLab({ gracefulRestartTime: 120, restartDeferral: 60, sites: 2 });
});
after(async () => lab?.stop());

/** Site 1's route at the peer, sampled every 100 ms while `during` runs: the samples and those it was missing in. */
async function sampled(during: () => Promise<void>): Promise<{ samples: number; losses: number }> {
  let sampling = true;
  let losses = 0;
  let samples = 0;
  const sampler = (async () => {
    while (sampling) {
      const p = await lab!.prefixesAtPeer().catch(() => undefined);
      if (p) {
        samples++;
        if (!p.has(sitePrefix(1))) losses++;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await during();
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    sampling = false;
    await sampler;
  }
  return { samples, losses };
}

test("SIGKILLed and started again, the speaker keeps the peer's copies of its routes (never one lost) and sends End-of-RIB once the vpn service refilled it; a site deleted meanwhile is withdrawn then", { skip }, async (t) => {
  const { bird, bgp, rest, prefixesAtPeer, restarting } = lab!;
  // The first start's restart was ended by the vpn service once it had defined everything (not by the 60 s deferral).
  await eventually("the first start's restart completed by the vpn service", async () => !(await restarting()), { timeoutMs: 20_000, intervalMs: 200 });
  let completed = 0;
  const killed = Date.now();
  const { samples, losses } = await sampled(async () => {
    await bgp.stop('SIGKILL');
    await eventually('the peer to see the session down', async () => (await bird.neighborState(SPEAKER)) !== 'Established', { timeoutMs: 15_000, intervalMs: 100 });
    assert.equal((await rest.call('DELETE', '/v1/sites/s2')).status, 204);
    await bgp.start();
    await bird.waitEstablished(SPEAKER, 30_000);
    completed = await eventually('the restart completed once refilled', async () => ((await restarting()) ? undefined : Date.now()), { timeoutMs: 30_000, intervalMs: 100 });
    await eventually("the deleted site's stale route withdrawn at End-of-RIB", async () => !(await prefixesAtPeer()).has(sitePrefix(2)), { timeoutMs: 15_000, intervalMs: 100 });
  });
  assert.equal(losses, 0, `the route of a site that exists was missing at the peer in ${losses} of ${samples} samples`);
  assert.ok(samples > 10, `${samples} samples`);
  assert.ok((await prefixesAtPeer()).has(sitePrefix(1)));
  const restartLog = bgp.logs.filter((l) => /restart complete/.test(l)).pop() ?? '';
  assert.match(restartLog, /the controller has defined every VRF and route again/, 'ended by the vpn service, not the deferral timer');
  t.diagnostic(`speaker SIGKILLed and started again: restart completed (End-of-RIB) ${completed - killed} ms after the kill; ${samples} samples at the peer, ${losses} with a route lost`);
});

test('stopped (SIGTERM, a rolling upgrade), the speaker closes the session without a NOTIFICATION, so the peer keeps its routes over the restart too', { skip }, async (t) => {
  const { bird, bgp, restarting } = lab!;
  await eventually('in service', async () => !(await restarting()), { timeoutMs: 20_000, intervalMs: 200 });
  const { samples, losses } = await sampled(async () => {
    assert.equal(await bgp.stop('SIGTERM'), 0);
    await bgp.start();
    await bird.waitEstablished(SPEAKER, 30_000);
    await eventually('the restart completed once refilled', async () => !(await restarting()), { timeoutMs: 30_000, intervalMs: 100 });
  });
  assert.equal(losses, 0, `the route was missing at the peer in ${losses} of ${samples} samples`);
  t.diagnostic(`speaker stopped and started again: ${samples} samples at the peer, ${losses} with a route lost`);
});
