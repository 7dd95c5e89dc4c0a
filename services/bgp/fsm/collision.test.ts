import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CollisionResolver, ConnectionView, collisionWinner } from './collision.js';
import { parseBgpId } from './negotiate.js';

const low = parseBgpId('10.0.0.1');
const high = parseBgpId('192.0.2.1'); // above 2^31: a signed comparison would get it wrong

describe('collisionWinner (RFC 4271 §6.8)', () => {
  it('the connection initiated by the higher BGP identifier survives', () => {
    assert.equal(collisionWinner(high, low, 65000, 65001), 'outbound');
    assert.equal(collisionWinner(low, high, 65000, 65001), 'inbound');
  });

  it('equal identifiers: the larger AS wins (RFC 6286 §2.3)', () => {
    assert.equal(collisionWinner(low, low, 65002, 65001), 'outbound');
    assert.equal(collisionWinner(low, low, 65000, 65001), 'inbound');
  });
});

describe('CollisionResolver', () => {
  const opened = (over: Partial<ConnectionView> = {}): ConnectionView => ({
    direction: 'inbound',
    state: 'OpenConfirm',
    remoteBgpId: high,
    remoteAs: 65001,
    ...over,
  });

  it('local identifier lower: closes our outbound connection', () => {
    const r = new CollisionResolver({ localBgpId: low, localAs: 65000 });
    const outbound = opened({ direction: 'outbound' });
    const inbound = opened({ direction: 'inbound' });
    assert.equal(r.resolve(inbound, outbound), outbound);
    assert.equal(r.resolve(outbound, inbound), outbound);
  });

  it('local identifier higher: closes the peer-initiated connection', () => {
    const r = new CollisionResolver({ localBgpId: parseBgpId('200.0.0.1'), localAs: 65000 });
    const outbound = opened({ direction: 'outbound' });
    const inbound = opened({ direction: 'inbound' });
    assert.equal(r.resolve(inbound, outbound), inbound);
    assert.equal(r.resolve(outbound, inbound), inbound);
  });

  it('resolves against OpenSent (identifier known from the OPEN just received)', () => {
    const r = new CollisionResolver({ localBgpId: low, localAs: 65000 });
    const sent = opened({ direction: 'outbound', state: 'OpenSent', remoteBgpId: undefined });
    assert.equal(r.resolve(opened(), sent), sent);
  });

  it('an Established connection always wins unless configured otherwise', () => {
    const est = opened({ direction: 'inbound', state: 'Established' });
    const fresh = opened({ direction: 'outbound' });
    assert.equal(new CollisionResolver({ localBgpId: parseBgpId('200.0.0.1'), localAs: 65000 }).resolve(fresh, est), fresh);
    const r = new CollisionResolver({ localBgpId: parseBgpId('200.0.0.1'), localAs: 65000, collisionDetectEstablishedState: true });
    assert.equal(r.resolve(fresh, est), est);
  });

  it('no collision with a connection still in Idle/Connect/Active or from another speaker', () => {
    const r = new CollisionResolver({ localBgpId: low, localAs: 65000 });
    for (const state of ['Idle', 'Connect', 'Active'] as const) {
      assert.equal(r.resolve(opened(), opened({ direction: 'outbound', state, remoteBgpId: undefined })), undefined);
    }
    assert.equal(r.resolve(opened(), opened({ direction: 'outbound', remoteBgpId: parseBgpId('10.9.9.9') })), undefined);
  });
});
