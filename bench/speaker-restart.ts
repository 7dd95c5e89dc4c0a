// What a provider's PE sees while the bgp speaker restarts: the lab of
// test/e2e/speaker-restart-lab.ts (a real BIRD route-reflector client,
// graceful restart on) with N sites on pe1, once with graceful restart as
// built (capability with Forwarding State bits, End-of-RIB held back until
// the vpn service refilled the speaker) and once without the capability.
// Each round SIGKILLs the speaker, starts it again at once, and creates a
// new site right after the kill. Per round: the most of our routes missing
// at the peer at once and for how long any was (sampled every 50 ms), the
// time until the peer has the whole table again, and the time until the
// site created after the kill is at the peer (provisioning resumed).
// Prints the median of the rounds. Needs BIRD, PostgreSQL and Redis:
//   node dist/bench/speaker-restart.js [sites] [rounds]
import { eventually } from '../test/support/eventually.js';
import { requirePeers } from '../test/peers/common.js';
import { SPEAKER, sitePrefix, startSpeakerRestartLab } from '../test/e2e/speaker-restart-lab.js';

const SITES = Number(process.argv[2] ?? 100);
const ROUNDS = Number(process.argv[3] ?? 5);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};

interface Round {
  /** Routes the peer should have held (the table grows by a site a round). */
  of: number;
  mostMissing: number;
  lossMs: number;
  wholeMs: number;
  provisionMs: number;
}

async function mode(name: string, gracefulRestartTime: number, restartDeferral: number): Promise<Round[]> {
  const lab = await startSpeakerRestartLab({ gracefulRestartTime, restartDeferral, sites: SITES });
  const rounds: Round[] = [];
  try {
    let next = SITES + 1;
    for (let r = 0; r < ROUNDS; r++) {
      await eventually('restart complete', async () => !(await lab.restarting()), { timeoutMs: 90_000, intervalMs: 100 });
      const wanted = Array.from({ length: next - 1 }, (_, i) => sitePrefix(i + 1));
      let sampling = true;
      let mostMissing = 0;
      let lossMs = 0;
      let last = Date.now();
      const sampler = (async () => {
        while (sampling) {
          const p = await lab.prefixesAtPeer().catch(() => undefined);
          const now = Date.now();
          if (p) {
            const missing = wanted.filter((w) => !p.has(w)).length;
            mostMissing = Math.max(mostMissing, missing);
            if (missing) lossMs += now - last;
          }
          last = now;
          await new Promise((res) => setTimeout(res, 50));
        }
      })();
      const killed = Date.now();
      await lab.bgp.stop('SIGKILL');
      const added = next++;
      const created = lab.rest.call('POST', '/v1/sites', lab.site(added));
      await lab.bgp.start();
      if ((await created).status !== 201) throw new Error(`site ${added} not created`);
      await lab.bird.waitEstablished(SPEAKER, 60_000);
      let provisionMs = NaN;
      const wholeMs = await eventually(
        'the whole table at the peer again, the new site too',
        async () => {
          const p = await lab.prefixesAtPeer();
          if (Number.isNaN(provisionMs) && p.has(sitePrefix(added))) provisionMs = Date.now() - killed;
          return wanted.every((w) => p.has(w)) && p.has(sitePrefix(added)) && !(await lab.restarting()) ? Date.now() - killed : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 50 },
      );
      await new Promise((res) => setTimeout(res, 500));
      sampling = false;
      await sampler;
      rounds.push({ of: wanted.length, mostMissing, lossMs, wholeMs, provisionMs });
      console.log(`  ${name} round ${r + 1}: at most ${mostMissing} of ${wanted.length} routes missing at the peer, some missing for ${lossMs} ms; whole table again after ${wholeMs} ms; a site created after the kill at the peer after ${provisionMs} ms`);
    }
  } finally {
    await lab.stop();
  }
  return rounds;
}

async function main(): Promise<void> {
  const missing = requirePeers('bird');
  if (missing) throw new Error(missing);
  console.log(`bgp speaker SIGKILLed and restarted, ${SITES} sites, ${ROUNDS} rounds per mode; the peer is BIRD (graceful restart on)`);
  const modes: [string, Round[]][] = [
    ['graceful restart', await mode('graceful restart', 120, 60)],
    ['no graceful restart', await mode('no graceful restart', 0, 0)],
  ];
  console.log('\nmedians:');
  for (const [name, rs] of modes) {
    console.log(
      `  ${name.padEnd(20)} share of the routes missing at once ${median(rs.map((r) => Math.round((100 * r.mostMissing) / r.of)))} %; time with any missing ${median(rs.map((r) => r.lossMs))} ms; ` +
        `whole table again ${median(rs.map((r) => r.wholeMs))} ms; provisioning resumed ${median(rs.map((r) => r.provisionMs))} ms`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
