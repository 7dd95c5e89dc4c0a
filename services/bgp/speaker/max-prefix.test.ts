import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IPV4_UNICAST, IPV6_UNICAST, type MaxPrefix } from './config.js';
import { MaxPrefixGuard } from './max-prefix.js';

const limit = (action: MaxPrefix['action']): MaxPrefix => ({ limit: 10, warningPercent: 80, action, restartInterval: 0 });

test('max-prefix: warning at the mark, exceeded past the limit, once per crossing, per family', () => {
  const g = new MaxPrefixGuard();
  const c = limit('limit');
  assert.deepEqual(g.check(c, IPV4_UNICAST, 7), []);
  assert.deepEqual(g.check(c, IPV4_UNICAST, 8), [{ kind: 'warning', family: IPV4_UNICAST, count: 8, limit: 10 }]);
  assert.deepEqual(g.check(c, IPV4_UNICAST, 9), [], 'reported once');
  assert.deepEqual(g.check(c, IPV4_UNICAST, 10), [], 'at the limit is not past it');
  assert.equal(g.exceeded, false);
  assert.deepEqual(g.check(c, IPV4_UNICAST, 11), [{ kind: 'exceeded', family: IPV4_UNICAST, count: 11, limit: 10, teardown: true }]);
  assert.ok(g.warning && g.exceeded);
  // Another family has its own count.
  assert.deepEqual(g.check(c, IPV6_UNICAST, 9), [{ kind: 'warning', family: IPV6_UNICAST, count: 9, limit: 10 }]);
  assert.deepEqual(g.counters, { warnings: 2, exceeded: 1, teardowns: 1 });
  g.clear();
  assert.ok(!g.warning && !g.exceeded);
});

test('max-prefix warning-only: reported, no teardown; re-armed below the marks', () => {
  const g = new MaxPrefixGuard();
  const c = limit('warning-only');
  const kinds = (n: number) => g.check(c, IPV4_UNICAST, n).map((v) => (v.kind === 'exceeded' ? `exceeded teardown=${v.teardown}` : v.kind));
  assert.deepEqual(kinds(12), ['warning', 'exceeded teardown=false']);
  assert.deepEqual(kinds(15), []);
  assert.deepEqual(kinds(9), [], 'below the limit, still above the mark');
  assert.equal(g.exceeded, false);
  assert.deepEqual(kinds(11), ['exceeded teardown=false'], 'past it again');
  assert.deepEqual(kinds(3), []);
  assert.ok(!g.warning && !g.exceeded);
  assert.deepEqual(kinds(8), ['warning']);
  assert.deepEqual(g.counters, { warnings: 2, exceeded: 2, teardowns: 0 });
  // Configuration removed: no marks.
  assert.deepEqual(g.check(undefined, IPV4_UNICAST, 100), []);
  assert.ok(!g.warning);
});
