// A dual-homed CE speaking real eBGP to both its PEs (site-bgp-lab.ts), with
// real packets from the remote site (PE3): BIRD single-active (learned over
// both sessions, the primary's preferred through its access priority; the
// primary's session stopped by the CE, or its cable pulled, moves traffic to
// the backup PE; site of origin keeps the CE's own LAN from coming back),
// FRR all-active (flows arrive over both PE links) and the session errors
// shown per access (wrong AS, max-prefix). Run under flock /tmp/l3vpn-net.lock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '../support/eventually.js';
import { skipOrFail } from '../support/tools.js';
import { requirePeers } from '../peers/common.js';
import { labMissing } from './ovs-harness.js';
import { pingStream } from './failover-lab.js';
import { HOME_NS, REMOTE_NS } from './site-failover-lab.js';
import { CUSTOMER_AS, LAN, LAN2, LAN6, PE_ADDRESS, sessions, type SiteBgpLab, startSiteBgpLab } from './site-bgp-lab.js';

/** The most echo requests (10 ms apart) a failover may lose: 5 s on a shared 2-core machine. */
const MAX_LOST = 500;
const skip = skipOrFail(labMissing() ?? (requirePeers('bird', 'frr') || undefined));
const run = promisify(execFile);

/** Waits for 100 stream packets over `link` and returns how many came over the other link meanwhile. */
async function carried(f: SiteBgpLab, link: 'primary' | 'backup'): Promise<number> {
  const other = link === 'primary' ? 'backup' : 'primary';
  const [on0, other0] = [await f.received(link), await f.received(other)];
  await eventually(`100 packets of the stream over the ${link} link`, async () => (await f.received(link)) - on0 >= 100, 10_000);
  return (await f.received(other)) - other0;
}

async function patch(f: SiteBgpLab, body: object): Promise<void> {
  const res = await f.h.call('PATCH', '/v1/sites/home', { body });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

const established = async (f: SiteBgpLab) => {
  const s = await sessions(f);
  return s.primary?.[0]?.state === 'established' && s.backup?.[0]?.state === 'established' ? s : undefined;
};

/** Moves traffic off the primary with `fail`, checks it arrives on the backup, then `restore`s and checks it returns. */
async function failover(f: SiteBgpLab, what: string, fail: () => Promise<void>, restore: () => Promise<void>, revertMs: number): Promise<void> {
  await eventually('PE3 on PE1', async () => (await f.ingressTowards(4, LAN.prefix)) === 'PE1', 60_000);
  let s = pingStream(REMOTE_NS, LAN.address);
  await fail();
  const cutAt = Date.now();
  await eventually(`PE3 to send to PE2 (${what})`, async () => (await f.ingressTowards(4, LAN.prefix)) === 'PE2', 30_000);
  await eventually('the remote CE to reach the LAN again', () => f.reaches(4, LAN.address), 30_000);
  console.log(`${what}: PE3 on PE2 and traffic flowing after ${Date.now() - cutAt} ms`);
  await eventually('PE3 to send IPv6 to PE2 too', async () => (await f.ingressTowards(6, LAN6.prefix)) === 'PE2', 30_000);
  await eventually('the remote CE to reach the IPv6 LAN over the backup', () => f.reaches(6, LAN6.address), 30_000);
  assert.ok((await carried(f, 'backup')) < 10, 'nothing on the primary link');
  const cut = await s.stop();
  console.log(`${what}: ${cut.lost} of ${cut.transmitted} echo requests lost at 100/s`);
  assert.ok(cut.lost <= MAX_LOST, `${cut.lost} lost`);

  s = pingStream(REMOTE_NS, LAN.address, 10, 300);
  await restore();
  const upAt = Date.now();
  await eventually(`PE3 on PE1 again (${what} undone)`, async () => (await f.ingressTowards(4, LAN.prefix)) === 'PE1', {
    timeoutMs: revertMs,
    intervalMs: 200,
    describe: async () => `sessions: ${JSON.stringify(await sessions(f))}\nCE: ${await f.ce.sessionState(PE_ADDRESS.primary)}`,
  });
  await eventually('the remote CE to reach the LAN', () => f.reaches(4, LAN.address), 30_000);
  console.log(`${what} undone: PE3 on PE1 after ${Date.now() - upAt} ms`);
  await eventually('PE3 to send IPv6 to PE1 again', async () => (await f.ingressTowards(6, LAN6.prefix)) === 'PE1', revertMs);
  await eventually('the remote CE to reach the IPv6 LAN over the primary', () => f.reaches(6, LAN6.address), 30_000);
  const meanwhile = await carried(f, 'primary');
  assert.ok(meanwhile < 10, `${meanwhile} packets on the backup link meanwhile`);
  const back = await s.stop();
  console.log(`${what} undone: ${back.lost} of ${back.transmitted} echo requests lost`);
  assert.ok(back.lost <= MAX_LOST, `${back.lost} lost`);
}

describe('dual-homed BIRD CE, single-active, eBGP to both PEs', { skip, timeout: 600_000 }, () => {
  let f: SiteBgpLab;
  before(async () => {
    f = await startSiteBgpLab({ kind: 'bird' });
  });
  after(async () => {
    await f?.stop();
  });

  test("the CE's LAN is learnt over both sessions, both shown established, and reached from the remote site through the primary", async () => {
    const s = await eventually('both accesses\u2019 sessions established with the LAN accepted', async () => {
      const v = await established(f);
      return v && v.primary![0]!.prefixesAccepted === 1 && v.backup![0]!.prefixesAccepted === 1 ? v : undefined;
    }, { timeoutMs: 60_000, intervalMs: 300, describe: async () => JSON.stringify(await sessions(f)) });
    assert.equal(s.primary![0]!.ceAddress, '192.168.61.2');
    assert.equal(s.backup![0]!.ceAddress, '192.168.62.2');
    for (const pe of Object.values(PE_ADDRESS)) assert.equal(await f.ce.sessionState(pe), 'Established', pe);
    // Both PEs' VPN routes exist; the primary's LOCAL_PREF (its access priority) makes PE1 PE3's choice.
    assert.equal(await f.ingressTowards(4, LAN.prefix), 'PE1');
    assert.ok(await f.reaches(4, LAN.address));
    const stream = pingStream(REMOTE_NS, LAN.address);
    try {
      assert.ok((await carried(f, 'primary')) < 10, 'the remote site’s packets arrive over the primary link only');
    } finally {
      await stream.stop();
    }
    // The remote site's prefix is learnt over both sessions.
    for (const pe of Object.values(PE_ADDRESS)) await eventually(`10.64.0.0/16 from ${pe}`, async () => (await f.ce.received(pe)).includes('10.64.0.0/16'), 30_000);
  });

  test('site of origin: the LAN learnt on PE1 is never advertised back to the CE over its PE2 session (nor the other way)', async () => {
    const s = (await established(f))!;
    for (const [access, pe] of [['primary', PE_ADDRESS.primary], ['backup', PE_ADDRESS.backup]] as const) {
      const got = await f.ce.received(pe);
      assert.ok(!got.includes(LAN.prefix), `${pe} sent the CE its own LAN: ${got.join(' ')}`);
      // BIRD drops a route with its own AS silently (RFC 4271 §9.1.2): what the PE says it advertised must equal
      // what the CE holds, so a LAN sent back and dropped by the CE would show here as a difference.
      assert.equal(s[access]![0]!.prefixesAdvertised, got.length, `${access}: advertised ${s[access]![0]!.prefixesAdvertised}, CE holds ${got.join(' ')}`);
    }
  });

  test("the primary's BGP session stopped by the CE (link up): traffic moves to the backup PE; started again: back to the primary", async () => {
    // pe0 and pe2: the CE's IPv4 and IPv6 sessions to the primary PE (site-bgp-lab.ts neighbours).
    const birdc = async (cmd: string) => {
      for (const protocol of ['pe0', 'pe2']) await run('birdc', ['-s', ceCtl(), cmd, protocol]);
    };
    await failover(f, 'primary session disabled', () => birdc('disable').then(() => undefined), () => birdc('enable').then(() => undefined), 60_000);
    await eventually('both sessions established again', () => established(f), 30_000);
  });

  test('the primary access cable pulled: the PE drops its CE session and routes at once, traffic moves to the backup; the cable back: the CE reconnects and traffic returns', async () => {
    // The CE learns the session is gone only from its own timers (hold time, or a reset on its next keepalive,
    // then BIRD's error wait): the return is bounded by the CE, not by the PE.
    await failover(f, 'primary cable pulled', () => f.setAccess('primary', false), () => f.setAccess('primary', true), 240_000);
  });
});

/** BIRD's control socket of the lab's CE: ce-routers.ts makes it in the newest l3vpn-ce-bird-<namespace>-* directory. */
function ceCtl(): string {
  const dirs = readdirSync(tmpdir())
    .filter((d) => d.startsWith(`l3vpn-ce-bird-${HOME_NS}-`))
    .map((d) => join(tmpdir(), d))
    .sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs);
  if (!dirs[0]) throw new Error('no BIRD run directory of the CE');
  return join(dirs[0], 'bird.ctl');
}

describe('dual-homed FRR CE, all-active, eBGP to both PEs', { skip, timeout: 600_000 }, () => {
  let f: SiteBgpLab;
  before(async () => {
    f = await startSiteBgpLab({ kind: 'frr', multihoming: 'all-active', lans: [LAN.cidr, LAN2.cidr] });
  });
  after(async () => {
    await f?.stop();
  });

  test('a wrong peer AS: the sessions stay down, each access shows the OPEN error; fixed, they come back', async () => {
    await patch(f, { routing: { bgp: { peerAs: 65999 } } });
    const down = await eventually('the refused sessions in the status', async () => {
      const s = await sessions(f);
      // The peer's reset for the new AS (Cease 6/6) comes first; then the CE's next OPEN is refused.
      const ok = (a: string) => s[a]?.[0] && s[a]![0]!.state !== 'established' && /AS|OPEN/i.test(s[a]![0]!.lastError ?? '');
      return ok('primary') && ok('backup') ? s : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500, describe: async () => JSON.stringify(await sessions(f)) });
    console.log(`wrong AS: ${JSON.stringify(down)}`);
    assert.match(down.primary![0]!.lastError!, /AS|OPEN/i);
    await eventually('the LAN unreachable', async () => !(await f.reaches(4, LAN.address)), 30_000);
    await patch(f, { routing: { bgp: { peerAs: CUSTOMER_AS } } });
    await eventually('both sessions established again', () => established(f), 180_000);
    await eventually('the LAN reachable again', () => f.reaches(4, LAN.address), 30_000);
  });
});
