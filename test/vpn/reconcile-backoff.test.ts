// The retry policy of failing reconciles: capped exponential backoff, on an injected clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryDelayMs, RetrySchedule } from '../../services/vpn/reconcile/backoff.js';

const policy = { baseMs: 500, maxMs: 8000 };

test('the delay doubles from the base after each failure in a row, up to the cap, and never stops', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, policy)),
    [500, 1000, 2000, 4000, 8000, 8000, 8000],
  );
  // Long outages: a failure count past any exponent stays at the cap, finite.
  assert.equal(retryDelayMs(5000, policy), 8000);
  assert.equal(retryDelayMs(Number.MAX_SAFE_INTEGER, policy), 8000);
  assert.equal(retryDelayMs(0, policy), 0, 'no failure, no wait');
});

test('a cap below the base caps the first retry too', () => {
  assert.equal(retryDelayMs(1, { baseMs: 500, maxMs: 200 }), 200);
});

test('the next attempt is due the delay after the clock says the failure happened', () => {
  let now = 1_000_000;
  const schedule = new RetrySchedule(policy, () => now);
  assert.equal(schedule.nextAttemptAt(1), 1_000_500);
  now += 60_000;
  assert.equal(schedule.nextAttemptAt(3), 1_062_000);
  now += 3_600_000;
  assert.equal(schedule.nextAttemptAt(40), now + 8000, 'an hour later, still retrying at the cap');
});
