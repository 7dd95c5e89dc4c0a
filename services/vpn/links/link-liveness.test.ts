import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkLivenessState, type LinkLiveness, type PortState } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { createLogger } from '../../common/logger.js';
import type { LinkOperRecord, LinkOperStore } from '../store/link-oper-store.js';
import { LinkLivenessTracker } from './link-liveness.js';
import type { AgentPresence, DampingSettings, LinkOper } from './oper-state.js';

const S: DampingSettings = { holdDownMs: 2000, halfLifeMs: 60_000, suppress: 2500, reuse: 750, maxHoldDownMs: 600_000 };
const NOW = new Date(1_700_000_000_000);
const up: LinkOper = { status: 'UP', reason: null, changedAt: new Date(0), a: { down: false, reason: null }, b: { down: false, reason: null }, penalty: 0, penaltyAt: null, heldDownUntil: null };

/** One core link pe1 core0 <-> pe2 core0, up; counts the locked updates. */
function setup(presence: Map<string, AgentPresence> = new Map()) {
  const link: LinkOperRecord = { id: 'l1', aNode: 'pe1', aInterface: 'core0', bNode: 'pe2', bInterface: 'core0', oper: { ...up } };
  let updates = 0;
  const store: LinkOperStore = {
    heldDown: async () => [],
    ofNode: async (node) => (link.aNode === node || link.bNode === node ? [{ ...link, oper: { ...link.oper } }] : []),
    update: async (id, decide) => {
      assert.equal(id, 'l1');
      updates++;
      const { next, result } = decide({ ...link, oper: { ...link.oper } });
      link.oper = next;
      return result;
    },
    nodeIds: async () => ['p1', 'pe1', 'pe2'],
  };
  const woken: string[][] = [];
  const asked: string[][] = [];
  const tracker = new LinkLivenessTracker({
    links: store,
    settings: S,
    log: createLogger('vpn-test', 'silent'),
    wake: async (nodes) => void woken.push(nodes),
    presence: async (nodes) => {
      asked.push([...nodes]);
      return presence;
    },
    now: () => NOW,
  });
  return { tracker, link, woken, asked, updates: () => updates };
}

const port = (isUp: boolean, reason = 'link down'): PortState => ({ interface: 'core0', up: isUp, reason: isUp ? '' : reason });
const bfdDown: LinkLiveness = { interface: 'core0', state: LinkLivenessState.LINK_LIVENESS_STATE_DOWN, reason: 'BFD: control detection time expired', bfd: true };
const ago = (ms: number) => new Date(NOW.getTime() - ms);

test('link liveness: a port reported down takes the link down and wakes every node', async () => {
  const { tracker, link, woken } = setup();
  await tracker.report('pe1', [port(false)], []);
  assert.equal(link.oper.status, 'DOWN');
  assert.equal(link.oper.reason, 'pe1 core0: port down: link down');
  assert.deepEqual(woken, [['p1', 'pe1', 'pe2']]);
});

test('link liveness: a BFD down towards a present agent counts', async () => {
  const { tracker, link, woken, asked } = setup(new Map([['pe2', { startedAt: ago(60_000), endedAt: null, previousEndedAt: null }]]));
  await tracker.report('pe1', [port(true)], [bfdDown]);
  assert.deepEqual(asked, [['pe2']], 'the far agent is asked about');
  assert.equal(link.oper.status, 'DOWN');
  assert.equal(link.oper.reason, 'pe1 core0: BFD: control detection time expired');
  assert.equal(woken.length, 1);
});

test('link liveness: a BFD down is not counted while the far agent is gone: the link keeps carrying paths', async () => {
  const { tracker, link, woken } = setup(new Map([['pe2', { startedAt: ago(60_000), endedAt: ago(1000), previousEndedAt: null }]]));
  await tracker.report('pe1', [port(true)], [bfdDown]);
  assert.equal(link.oper.status, 'UP');
  assert.deepEqual(link.oper.a, { down: false, reason: null });
  assert.deepEqual(woken, []);
});

test('link liveness: a BFD down is discounted for 10 s after the far agent came back, then counted', async () => {
  const back = (ms: number) => new Map([['pe2', { startedAt: ago(ms), endedAt: null, previousEndedAt: ago(ms + 5000) }]]);
  const recent = setup(back(9_999));
  await recent.tracker.report('pe1', [port(true)], [bfdDown]);
  assert.equal(recent.link.oper.status, 'UP', 'its BFD sessions may still be coming up');
  const settled = setup(back(10_000));
  await settled.tracker.report('pe1', [port(true)], [bfdDown]);
  assert.equal(settled.link.oper.status, 'DOWN');
  assert.equal(settled.woken.length, 1);
});

test('link liveness: a port down always counts, the far agent gone or not', async () => {
  const { tracker, link, woken } = setup(new Map([['pe2', { startedAt: ago(60_000), endedAt: ago(1000), previousEndedAt: null }]]));
  await tracker.report('pe1', [port(false)], [{ ...bfdDown, reason: 'port down' }]);
  assert.equal(link.oper.status, 'DOWN');
  assert.equal(woken.length, 1);
});

test('link liveness: a report repeating what is stored takes no lock; one naming no link interface changes nothing', async () => {
  const { tracker, link, updates, woken } = setup();
  await tracker.report('pe1', [port(true)], [{ ...bfdDown, state: LinkLivenessState.LINK_LIVENESS_STATE_UP, reason: '' }]);
  assert.equal(updates(), 0);
  await tracker.report('pe1', [{ interface: 'eth1', up: false, reason: 'link down' }], []);
  assert.equal(updates(), 0);
  assert.equal(link.oper.status, 'UP');
  assert.deepEqual(woken, []);
});
