// Which credential the agent sends: the saved one while the operator gives
// the same secret (or none), a new join token means enrolling again, a new
// configured credential wins over one saved from an older one, and another
// node's saved credential is never sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeCredential, type GivenSecret } from './credential.js';

test('saved, given and enrolled credentials: which one the agent sends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-credential-'));
  try {
    let given: GivenSecret | undefined = { kind: 'join-token', secret: 'l3vpn_join_one' };
    const c = new NodeCredential('pe1', dir, () => given);
    assert.equal(c.current, undefined);
    assert.equal(c.joinToken, 'l3vpn_join_one');
    await c.save('l3vpn_node_a');
    assert.equal(c.current, 'l3vpn_node_a');
    assert.equal(c.joinToken, undefined);
    assert.equal(statSync(c.path).mode & 0o777, 0o600);

    // A restart with the same join token: the saved credential; a new join token: enrol again.
    assert.equal(new NodeCredential('pe1', dir, () => given).current, 'l3vpn_node_a');
    given = { kind: 'join-token', secret: 'l3vpn_join_two' };
    c.refresh();
    assert.equal(c.current, undefined);
    assert.equal(c.joinToken, 'l3vpn_join_two');
    await c.save('l3vpn_node_b');
    // A rotation keeps the origin: still the saved one after a restart.
    await c.save('l3vpn_node_c');
    assert.equal(new NodeCredential('pe1', dir, () => given).current, 'l3vpn_node_c');
    // Nothing given: the saved one.
    assert.equal(new NodeCredential('pe1', dir, () => undefined).current, 'l3vpn_node_c');
    // A configured credential other than the saved one's origin wins.
    assert.equal(new NodeCredential('pe1', dir, () => ({ kind: 'credential', secret: 'l3vpn_node_ops' })).current, 'l3vpn_node_ops');
    // Another node's saved credential is never sent; a damaged file is none.
    assert.equal(new NodeCredential('pe2', dir, () => undefined).current, undefined);
    writeFileSync(c.path, 'not json');
    assert.equal(new NodeCredential('pe1', dir, () => undefined).current, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
