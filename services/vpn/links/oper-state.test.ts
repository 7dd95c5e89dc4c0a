import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AGENT_RETURN_GRACE_MS, agentAbsent, counted, evaluate, holdDownFor, type DampingSettings, type LinkOper } from './oper-state.js';

const S: DampingSettings = { holdDownMs: 2000, halfLifeMs: 60_000, suppress: 2500, reuse: 750, maxHoldDownMs: 600_000 };
const fresh: LinkOper = { status: 'UNKNOWN', reason: null, changedAt: null, a: null, b: null, penalty: 0, penaltyAt: null, heldDownUntil: null };
const at = (ms: number) => new Date(1_700_000_000_000 + ms);
const up = { down: false, reason: null };
const down = (reason = 'port down: link down') => ({ down: true, reason });

test('link oper state: the first report makes a link up at once; either end down takes it down', () => {
  let r = evaluate(fresh, at(0), S, { end: 'a', report: up });
  assert.equal(r.next.status, 'UP');
  assert.equal(r.transportChanged, false, 'unknown -> up carries paths already');
  r = evaluate(r.next, at(10), S, { end: 'b', report: up });
  r = evaluate(r.next, at(20), S, { end: 'b', report: down() }, { a: 'PE1 core0', b: 'P core0' });
  assert.equal(r.next.status, 'DOWN');
  assert.equal(r.next.reason, 'P core0: port down: link down');
  assert.equal(r.transportChanged, true);
  assert.equal(r.next.penalty, 1000);
});

test('link oper state: a link that comes back is used again only after the hold-down', () => {
  let r = evaluate(fresh, at(0), S, { end: 'a', report: up });
  r = evaluate(r.next, at(100), S, { end: 'a', report: down() });
  r = evaluate(r.next, at(500), S, { end: 'a', report: up });
  assert.equal(r.next.status, 'DOWN', 'held down');
  assert.match(r.next.reason!, /hold-down until/);
  assert.deepEqual(r.wakeAt, at(2500));
  assert.equal(r.transportChanged, false);
  // Time passes (the timer): the hold-down is over.
  r = evaluate(r.next, at(2500), S);
  assert.equal(r.next.status, 'UP');
  assert.equal(r.transportChanged, true);
  assert.equal(r.next.heldDownUntil, null);
});

test('link oper state: the other end still down keeps the link down', () => {
  let r = evaluate(fresh, at(0), S, { end: 'a', report: up });
  r = evaluate(r.next, at(1), S, { end: 'b', report: down('BFD: Up -> Down: control detection time expired') });
  r = evaluate(r.next, at(2), S, { end: 'a', report: up });
  assert.equal(r.next.status, 'DOWN');
  assert.match(r.next.reason!, /BFD/);
});

test('link oper state: a flapping link is suppressed until its penalty decays to reuse (RFC 2439 style)', () => {
  let r = evaluate(fresh, at(0), S, { end: 'a', report: up });
  let t = 0;
  for (let i = 0; i < 3; i++) {
    r = evaluate(r.next, at((t += 100)), S, { end: 'a', report: down() });
    r = evaluate(r.next, at((t += 100)), S, { end: 'a', report: up });
  }
  // A flap during the hold-down counts too: three flaps, penalty near 3000 > suppress.
  assert.ok(r.next.penalty > 2900, `penalty ${r.next.penalty}`);
  assert.equal(r.next.status, 'DOWN');
  assert.match(r.next.reason!, /suppressed by flap damping/);
  const held = r.next.heldDownUntil!.getTime() - at(t).getTime();
  // 60 s half-life from ~3000 to 750: two half-lives.
  assert.ok(held > 110_000 && held < 121_000, `held ${held} ms`);
  assert.equal(evaluate(r.next, at(t + 60_000), S).next.status, 'DOWN');
  assert.equal(evaluate(r.next, at(t + held), S).next.status, 'UP');
});

test('link oper state: hold-down is capped', () => {
  assert.deepEqual(holdDownFor(1_000_000, S), { ms: 600_000, suppressed: true });
  assert.deepEqual(holdDownFor(1000, S), { ms: 2000, suppressed: false });
});

test('link oper state: a BFD down towards an agent that is gone, or just came back, is not counted; a port down always is', () => {
  const bfdDown = { down: true, reason: 'BFD: control detection time expired', bfdOnly: true };
  const open = { startedAt: at(0), endedAt: null, previousEndedAt: null };
  const killed = { ...open, endedAt: at(5000) };
  const back = { startedAt: at(9000), endedAt: null, previousEndedAt: at(5000) };
  assert.equal(agentAbsent(undefined, at(6000)), false, 'never watched: nothing known');
  assert.equal(agentAbsent(open, at(6000)), false);
  assert.equal(agentAbsent(killed, at(6000)), true);
  assert.equal(agentAbsent(back, at(9000 + AGENT_RETURN_GRACE_MS - 1)), true, 'its sessions are still coming up');
  assert.equal(agentAbsent(back, at(9000 + AGENT_RETURN_GRACE_MS)), false);

  assert.deepEqual(counted(bfdDown, true), up);
  assert.deepEqual(counted(bfdDown, false), { down: true, reason: bfdDown.reason });
  assert.deepEqual(counted(down(), true), down(), 'a port down counts whoever is absent');
  // Through evaluate: the link keeps carrying paths while the far agent is gone.
  let r = evaluate(fresh, at(0), S, { end: 'a', report: up });
  r = evaluate(r.next, at(6000), S, { end: 'b', report: counted(bfdDown, agentAbsent(killed, at(6000))) });
  assert.equal(r.next.status, 'UP');
  assert.equal(r.transportChanged, false);
});
