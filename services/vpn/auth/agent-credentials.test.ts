import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SecurityEventName, SecurityEvents } from '../../common/ops/security-events.js';
import { IntentError } from '../intent/errors.js';
import type { AgentCredentialRecord, AgentCredentialStore, JoinTokenRecord } from '../store/agent-credential-store.js';
import { AgentCredentials, AgentRefused, type RefusalReason } from './agent-credentials.js';

/**
 * Join tokens and credentials in memory. A transaction works on a copy that
 * replaces the rows only when it returns, so a refusal leaves nothing
 * behind; its NOTIFYs are sent at commit too.
 */
function memoryStore(nodes: string[]) {
  let joins = new Map<string, JoinTokenRecord>();
  let creds = new Map<string, AgentCredentialRecord>();
  const notified: string[] = [];
  /** Runs before takeJoinToken: another agent's enrolment racing with this one. */
  const hooks: { beforeTake?: (token: JoinTokenRecord) => void } = {};
  const over = (j: Map<string, JoinTokenRecord>, c: Map<string, AgentCredentialRecord>, notes: string[], inTx: boolean): AgentCredentialStore => {
    const s: AgentCredentialStore = {
      transaction: async (fn) => {
        if (inTx) return fn(s);
        const copyJ = new Map([...j].map(([k, v]) => [k, { ...v }]));
        const copyC = new Map([...c].map(([k, v]) => [k, { ...v }]));
        const pending: string[] = [];
        const out = await fn(over(copyJ, copyC, pending, true));
        joins = j = copyJ;
        creds = c = copyC;
        notified.push(...pending);
        return out;
      },
      nodeExists: async (node) => nodes.includes(node),
      addJoinToken: async (t) => void j.set(t.id, { ...t, usedAt: null, revokedAt: null }),
      joinTokenByHash: async (hash) => [...j.values()].find((t) => t.hash === hash),
      takeJoinToken: async (id, at) => {
        const t = j.get(id)!;
        hooks.beforeTake?.(t);
        if (t.usedAt || t.revokedAt) return false;
        t.usedAt = at;
        return true;
      },
      revokeJoinTokens: async (node, at) => {
        const open = [...j.values()].filter((t) => t.node === node && !t.usedAt && !t.revokedAt);
        for (const t of open) t.revokedAt = at;
        return open.length;
      },
      credentialByHash: async (hash) => [...c.values()].find((r) => r.hash === hash),
      credentialById: async (id) => c.get(id),
      addCredential: async (r) => void c.set(r.id, { lastUsedAt: null, replacesId: null, revokedAt: null, retiresAt: null, ...r }),
      revokeNodeCredentials: async (node, at) => {
        const live = [...c.values()].filter((r) => r.node === node && !r.revokedAt);
        for (const r of live) r.revokedAt = at;
        return live.length;
      },
      revokeCredential: async (id, at) => {
        const r = c.get(id);
        if (!r || r.revokedAt) return 0;
        r.revokedAt = at;
        return 1;
      },
      revokeSuccessors: async (id, at) => {
        const live = [...c.values()].filter((r) => r.replacesId === id && !r.revokedAt);
        for (const r of live) r.revokedAt = at;
        return live.length;
      },
      retireBy: async (id, retiresAt) => {
        const r = c.get(id)!;
        if (!r.retiresAt) r.retiresAt = retiresAt;
      },
      used: async (id, at, settled) => {
        const r = c.get(id)!;
        r.lastUsedAt = at;
        if (settled) r.replacesId = null;
      },
      notifyChanged: async (node) => void notes.push(node),
    };
    return s;
  };
  return { store: over(joins, creds, notified, false), notified, hooks, creds: () => creds };
}

function setup(options: { overlapMs?: number } = {}) {
  const m = memoryStore(['pe1', 'pe2']);
  const clock = { now: 1_700_000_000_000 };
  const events: { event: SecurityEventName; fields: Record<string, unknown> }[] = [];
  const security: SecurityEvents = { record: (event, fields = {}) => void events.push({ event, fields }) };
  const credentials = new AgentCredentials(m.store, security, { rotationOverlapMs: options.overlapMs ?? 300_000, clock: () => new Date(clock.now) });
  return { ...m, clock, events, credentials };
}

async function refused(p: Promise<unknown>, reason: RefusalReason): Promise<AgentRefused> {
  const err = await p.then(
    () => assert.fail(`accepted; expected a refusal for ${reason}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AgentRefused, String(err));
  assert.equal(err.reason, reason);
  return err;
}

test('agent credentials: a join token enrols its node once; a second use is refused', async () => {
  const { credentials } = setup();
  const { token } = await credentials.createJoinToken('pe1', 3600, 'admin');
  const { credential, principal } = await credentials.enrol('pe1', token);
  assert.equal(principal.node, 'pe1');
  assert.deepEqual(await credentials.verify(credential), principal);
  await refused(credentials.enrol('pe1', token), 'used-join-token');
});

test('agent credentials: a join token is for its node only (permission denied), unknown ones and missing ones are refused', async () => {
  const { credentials } = setup();
  const { token } = await credentials.createJoinToken('pe1', 3600, 'admin');
  const wrong = await refused(credentials.enrol('pe2', token), 'wrong-node');
  assert.equal(wrong.denied, true);
  await refused(credentials.enrol('pe1', token + 'x'), 'unknown-join-token');
  await refused(credentials.enrol('pe1', ''), 'no-credential');
  await credentials.enrol('pe1', token);
});

test('agent credentials: a join token expires after its lifetime, to the millisecond', async () => {
  const { credentials, clock } = setup();
  const { token, expiresAt } = await credentials.createJoinToken('pe1', 60, 'admin');
  assert.equal(expiresAt.getTime(), clock.now + 60_000);
  clock.now += 60_000;
  await refused(credentials.enrol('pe1', token), 'expired-join-token');
  clock.now -= 1;
  await credentials.enrol('pe1', token);
});

test('agent credentials: of two agents racing with one join token, only the one whose update finds it unused enrols', async () => {
  const { credentials, hooks, creds } = setup();
  const { token } = await credentials.createJoinToken('pe1', 3600, 'admin');
  // The other agent's transaction committed between this one's read and its update.
  hooks.beforeTake = (t) => void (t.usedAt = new Date(1));
  await refused(credentials.enrol('pe1', token), 'used-join-token');
  assert.equal([...creds().values()].length, 0, 'the loser created no credential');
});

test('agent credentials: a join token for a node that does not exist is a 404', async () => {
  const { credentials } = setup();
  for (const node of ['pe9', '../pe1']) {
    const err = await credentials.createJoinToken(node, 3600, 'admin').then(
      () => assert.fail('made'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof IntentError && err.kind === 'not-found', String(err));
  }
});

test('agent credentials: enrolling again revokes the earlier credential and tells every replica', async () => {
  const { credentials, notified } = setup();
  const first = await credentials.enrol('pe1', (await credentials.createJoinToken('pe1', 3600, 'admin')).token);
  assert.deepEqual(notified, [], 'nothing taken away by a first enrolment');
  const second = await credentials.enrol('pe1', (await credentials.createJoinToken('pe1', 3600, 'admin')).token);
  await refused(credentials.verify(first.credential), 'revoked');
  assert.deepEqual(await credentials.validity(first.principal.credentialId), { valid: false, reason: 'revoked' });
  assert.equal((await credentials.verify(second.credential)).credentialId, second.principal.credentialId);
  assert.deepEqual(notified, ['pe1']);
});

test('agent credentials: a rotated credential keeps working until its successor is first used, which revokes it and notifies', async () => {
  const { credentials, notified, clock } = setup();
  const { credential, principal } = await credentials.enrol('pe1', (await credentials.createJoinToken('pe1', 3600, 'admin')).token);
  const successor = await credentials.rotate(principal);
  clock.now += 1000;
  assert.equal((await credentials.verify(credential)).credentialId, principal.credentialId, 'the old one works while the new one is unused');
  const validity = await credentials.validity(principal.credentialId);
  assert.ok(validity.valid && validity.retiresAt?.getTime() === clock.now - 1000 + 300_000, 'it retires at the end of the overlap');
  assert.deepEqual(notified, []);
  const next = await credentials.verify(successor);
  assert.equal(next.node, 'pe1');
  assert.deepEqual(notified, ['pe1'], 'the hand-over ends the old credential on every replica');
  await refused(credentials.verify(credential), 'revoked');
  await credentials.verify(successor);
  assert.deepEqual(notified, ['pe1'], 'the first use is handed over once');
});

test('agent credentials: an unused successor never extends the overlap; past it the old credential is rotated away', async () => {
  const { credentials, clock } = setup({ overlapMs: 10_000 });
  const { credential, principal } = await credentials.enrol('pe1', (await credentials.createJoinToken('pe1', 3600, 'admin')).token);
  const first = await credentials.rotate(principal);
  clock.now += 6000;
  const second = await credentials.rotate(principal);
  await refused(credentials.verify(first), 'revoked');
  clock.now += 3999;
  await credentials.verify(credential);
  clock.now += 1;
  await refused(credentials.verify(credential), 'rotated');
  assert.equal((await credentials.verify(second)).node, 'pe1', 'the latest successor works');
});

test('agent credentials: revoking a node ends its credentials and unused join tokens, and notifies', async () => {
  const { credentials, notified } = setup();
  const { credential } = await credentials.enrol('pe1', (await credentials.createJoinToken('pe1', 3600, 'admin')).token);
  const unused = (await credentials.createJoinToken('pe1', 3600, 'admin')).token;
  const other = await credentials.enrol('pe2', (await credentials.createJoinToken('pe2', 3600, 'admin')).token);
  assert.deepEqual(await credentials.revokeNode('pe1', 'admin'), { credentials: 1, joinTokens: 1 });
  await refused(credentials.verify(credential), 'revoked');
  await refused(credentials.enrol('pe1', unused), 'revoked');
  assert.equal((await credentials.verify(other.credential)).node, 'pe2', "another node's agent is untouched");
  assert.deepEqual(notified, ['pe1']);
});
