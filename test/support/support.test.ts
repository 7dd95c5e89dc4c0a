// The helpers every test leans on: eventually() waits for a condition and
// says what it last saw; a missing tool skips locally and fails in CI.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, lineSeen } from './eventually.js';
import { MissingInCi, inCi, onPath, requireTool, requireTools, skipOrFail } from './tools.js';

const ci = process.env.CI;
afterEach(() => {
  if (ci === undefined) delete process.env.CI;
  else process.env.CI = ci;
});

test('eventually returns the first truthy answer; falsy answers and errors mean "not yet"', async () => {
  let calls = 0;
  const value = await eventually('the third call', () => {
    calls++;
    if (calls === 1) throw new Error('not up yet');
    return calls === 3 ? { calls } : false;
  }, { intervalMs: 1 });
  assert.deepEqual(value, { calls: 3 });
});

test('eventually gives up naming what it waited for, the last error and what describe says', async () => {
  let seen = 0;
  await assert.rejects(
    eventually(() => `the answer (seen ${seen})`, () => {
      seen++;
      throw new Error('connection refused');
    }, { timeoutMs: 30, intervalMs: 5, describe: () => 'the log says: nothing listens' }),
    (err: Error) => {
      assert.match(err.message, /^timed out after 0\.03 s waiting for the answer \(seen \d+\)/);
      assert.match(err.message, /last error: connection refused/);
      assert.match(err.message, /the log says: nothing listens/);
      return true;
    },
  );
});

test('lineSeen waits for a line that arrives later in a growing output', async () => {
  const lines = ['{"msg":"starting"}'];
  const seen = lineSeen(lines, /"msg":"ready"/);
  lines.push('{"msg":"ready","port":1}');
  assert.equal(await seen, '{"msg":"ready","port":1}');
});

test('a missing tool is a skip reason naming its package locally, and a failure in CI', () => {
  delete process.env.CI;
  assert.equal(inCi(), false);
  assert.equal(requireTool('l3vpn-no-such-tool', 'l3vpn-pkg'), 'l3vpn-no-such-tool is not installed (apt-get install -y l3vpn-pkg)');
  assert.equal(skipOrFail(undefined), false);
  process.env.CI = 'true';
  assert.equal(inCi(), true);
  assert.throws(() => requireTool('l3vpn-no-such-tool', 'l3vpn-pkg'), (err: Error) => err instanceof MissingInCi && /CI=true and l3vpn-no-such-tool is not installed \(apt-get install -y l3vpn-pkg\)/.test(err.message));
  assert.throws(() => skipOrFail('needs root'), MissingInCi);
  process.env.CI = 'false';
  assert.equal(inCi(), false);
});

test('a tool that is there needs nothing, by name on PATH or by path', () => {
  const node = onPath('node');
  assert.ok(node, 'node is on PATH');
  assert.equal(requireTools({ node: 'nodejs', [process.execPath]: 'nodejs' }), false);
});
