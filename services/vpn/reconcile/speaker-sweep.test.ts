import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger.js';
import type { HeldVrf, VpnRouting } from '../routes/vpn-routing.js';
import type { VrfPlacement } from '../store/reconcile-store.js';
import { removeUnwantedVrfs, SpeakerSweep, unwantedVrfs } from './speaker-sweep.js';

test('unwantedVrfs: per node, the held VRFs no intent VRF names', () => {
  const held = [
    { vpn: 'acme', node: 'pe1' },
    { vpn: 'blue', node: 'pe1' },
    { vpn: 'acme', node: 'pe2' },
    { vpn: 'a@b', node: 'pe3' },
    { vpn: 'zeta', node: 'pe1' },
  ];
  const wanted = [
    { vpn: 'acme', node: 'pe1' },
    { vpn: 'blue', node: 'pe2' },
    { vpn: 'a', node: 'b@pe3' },
  ];
  assert.deepEqual(
    unwantedVrfs(held, wanted),
    new Map([
      ['pe1', ['blue', 'zeta']],
      ['pe2', ['acme']],
      ['pe3', ['a@b']],
    ]),
  );
  assert.deepEqual(unwantedVrfs([], wanted), new Map());
});

/** A speaker that holds some VRFs, and can be made to fail. */
function speaker(held: HeldVrf[]) {
  const calls: string[] = [];
  let failing: Error | undefined;
  const routing = {
    async heldVrfs(node?: string) {
      calls.push(`list ${node}`);
      if (failing) throw failing;
      return held.filter((h) => node === undefined || h.node === node);
    },
    async deleteVrf(node: string, vpn: string) {
      calls.push(`delete ${vpn}@${node}`);
      if (failing) throw failing;
      held = held.filter((h) => !(h.node === node && h.vpn === vpn));
    },
  } as Pick<VpnRouting, 'heldVrfs' | 'deleteVrf'> as VpnRouting;
  return { routing, calls, held: () => held, fail: (err: Error | undefined) => (failing = err) };
}

test("removeUnwantedVrfs: removes the node's held VRFs that are not live, and only the node's", async () => {
  const s = speaker([
    { vpn: 'acme', node: 'pe1' },
    { vpn: 'blue', node: 'pe1' },
    { vpn: 'blue', node: 'pe2' },
  ]);
  const log = createLogger('test', 'silent');
  assert.deepEqual(await removeUnwantedVrfs(s.routing, 'pe1', new Set(['acme']), log), ['blue']);
  assert.deepEqual(s.held(), [
    { vpn: 'acme', node: 'pe1' },
    { vpn: 'blue', node: 'pe2' },
  ]);
  // A node that left the intent: all of its VRFs.
  assert.deepEqual(await removeUnwantedVrfs(s.routing, 'pe2', new Set(), log), ['blue']);
  assert.deepEqual(s.calls, ['list pe1', 'delete blue@pe1', 'list pe2', 'delete blue@pe2']);
});

test('removeUnwantedVrfs: throws while the speaker cannot answer, even with nothing to remove, so the caller releases nothing', async () => {
  const s = speaker([]);
  s.fail(Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }));
  await assert.rejects(removeUnwantedVrfs(s.routing, 'pe1', new Set(), createLogger('test', 'silent')), /UNAVAILABLE/);
});

test('the sweep queues exactly the nodes whose speaker VRFs the intent does not name, asking the intent only about the nodes the speaker holds VRFs for', async () => {
  const held: HeldVrf[] = [
    { vpn: 'acme', node: 'pe1' },
    { vpn: 'blue', node: 'pe2' },
    { vpn: 'acme', node: 'pe3' },
  ];
  const intent: VrfPlacement[] = [
    { vpn: 'acme', node: 'pe1' },
    { vpn: 'acme', node: 'pe2' },
    { vpn: 'acme', node: 'pe3' },
    { vpn: 'red', node: 'pe4' },
  ];
  const asked: string[][] = [];
  const queued: string[][] = [];
  const sweep = new SpeakerSweep({
    routing: { heldVrfs: async () => held } as unknown as VpnRouting,
    vrfs: { on: async (nodes) => (asked.push([...nodes].sort()), intent.filter((v) => nodes.includes(v.node))), nodes: async () => [...new Set(intent.map((v) => v.node))] },
    enqueue: async (nodes) => void queued.push(nodes),
    log: createLogger('test', 'silent'),
  });
  assert.deepEqual(await sweep.sweep(), new Map([['pe2', ['blue']]]));
  assert.deepEqual(queued, [['pe2']]);
  assert.deepEqual(asked, [['pe1', 'pe2', 'pe3']]);

  held.splice(0, held.length, { vpn: 'acme', node: 'pe1' });
  assert.deepEqual(await sweep.sweep(), new Map());
  assert.equal(queued.length, 1, 'every held VRF wanted: nothing queued');
});

test('sweep: a relayed PE-CE peer of ours in a VRF no intent names queues its node, even when the VRF itself is gone', async () => {
  const queued: string[][] = [];
  const sweep = new SpeakerSweep({
    routing: { heldVrfs: async () => [{ vpn: 'acme', node: 'pe1' }], heldPeerVrfs: async () => [{ vpn: 'acme', node: 'pe1' }, { vpn: 'old', node: 'pe3' }] } as unknown as VpnRouting,
    vrfs: { on: async (nodes) => [{ vpn: 'acme', node: 'pe1' }].filter((v) => nodes.includes(v.node)), nodes: async () => ['pe1'] },
    enqueue: async (nodes) => void queued.push(nodes),
    log: createLogger('test', 'silent'),
  });
  assert.deepEqual(await sweep.sweep(), new Map([['pe3', ['old']]]));
  assert.deepEqual(queued, [['pe3']]);
});
