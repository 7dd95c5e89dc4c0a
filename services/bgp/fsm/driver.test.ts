import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, FsmDriver, PeerConnection, PeerConnections } from './driver.js';
import { BgpFsm } from './fsm.js';
import { parseBgpId } from './negotiate.js';
import { FsmAction, FsmConfig } from './types.js';
import { config, peerOpen } from './test-helpers.js';

function driver(over: Partial<FsmConfig> = {}, jitter: (() => number) | false = false) {
  const clock = new FakeClock();
  const actions: FsmAction[] = [];
  const d = new FsmDriver(new BgpFsm(config(over)), { clock, jitter, onAction: (a) => actions.push(a) });
  const count = (type: FsmAction['type']) => actions.filter((a) => a.type === type).length;
  return { clock, d, actions, count };
}

function establish(d: FsmDriver, holdTime = 90) {
  d.dispatch({ type: 'ManualStart' });
  d.dispatch({ type: 'Tcp_CR_Acked' });
  d.dispatch({ type: 'BGPOpen', open: peerOpen({ holdTime }) });
  d.dispatch({ type: 'KeepAliveMsg' });
  assert.equal(d.state, 'Established');
}

describe('FsmDriver', () => {
  it('retries the connection every ConnectRetryTime', () => {
    const { clock, d, count } = driver();
    d.dispatch({ type: 'ManualStart' });
    assert.equal(count('connect'), 1);
    clock.advance(119_999);
    assert.equal(count('connect'), 1);
    clock.advance(1);
    assert.equal(count('connect'), 2);
    clock.advance(120_000);
    assert.equal(count('connect'), 3);
  });

  it('applies jitter in [0.75, 1] to the connect retry (RFC 4271 §10)', () => {
    const { clock, d, count } = driver({}, () => 0);
    d.dispatch({ type: 'ManualStart' });
    clock.advance(90_000);
    assert.equal(count('connect'), 2);
  });

  it('sends a KEEPALIVE every hold/3 and expires the hold timer after silence', () => {
    const { clock, d, actions, count } = driver();
    establish(d);
    const initial = count('sendKeepalive'); // the one confirming the OPEN
    clock.advance(60_000);
    d.dispatch({ type: 'KeepAliveMsg' }); // peer alive at t=60
    assert.equal(count('sendKeepalive'), initial + 2);
    clock.advance(89_999);
    assert.equal(d.state, 'Established');
    clock.advance(1);
    assert.equal(d.state, 'Idle');
    const n = actions.find((a) => a.type === 'sendNotification');
    assert.ok(n?.type === 'sendNotification');
    assert.deepEqual([n.notification.code, n.notification.subcode], [4, 0]);
    assert.equal(clock.size, 0);
  });

  it('negotiated hold time 0: no KEEPALIVEs and no expiry, ever', () => {
    const { clock, d, count } = driver({ holdTime: 0 });
    establish(d, 90);
    const initial = count('sendKeepalive');
    clock.advance(24 * 3600_000);
    assert.equal(count('sendKeepalive'), initial);
    assert.equal(d.state, 'Established');
    assert.equal(clock.size, 0);
  });

  it('restarts automatically after the idle hold time', () => {
    const { clock, d, count } = driver({ idleHoldTime: 5 });
    d.dispatch({ type: 'ManualStart' });
    d.dispatch({ type: 'TcpConnectionFails' });
    assert.equal(d.state, 'Idle');
    clock.advance(5_000);
    assert.equal(d.state, 'Connect');
    assert.equal(count('connect'), 2);
  });
});

/** Two speakers' worth of glue: records every action per connection. */
function peer(localId: string) {
  const clock = new FakeClock();
  const log: { id: number; action: FsmAction }[] = [];
  const peers = new PeerConnections({
    localBgpId: parseBgpId(localId),
    localAs: 65000,
    makeFsm: () => new BgpFsm(config({ localBgpId: parseBgpId(localId), idleHoldTime: 5 })),
    clock,
    jitter: false,
    onAction: (action, conn) => log.push({ id: conn.id, action }),
  });
  const notifications = (c: PeerConnection) =>
    log.flatMap((e) => (e.id === c.id && e.action.type === 'sendNotification' ? [[e.action.notification.code, e.action.notification.subcode]] : []));
  return { clock, peers, log, notifications };
}

/** Both sides connected at once: our outbound in OpenSent, the peer's inbound in OpenSent. */
function collide(localId: string) {
  const p = peer(localId);
  const out = p.peers.start();
  p.peers.dispatch(out.id, { type: 'Tcp_CR_Acked' });
  const inb = p.peers.accept();
  assert.ok(inb && inb !== out);
  assert.equal(out.direction, 'outbound');
  assert.equal(inb.direction, 'inbound');
  assert.equal(out.driver.state, 'OpenSent');
  assert.equal(inb.driver.state, 'OpenSent');
  return { ...p, out, inb };
}

describe('PeerConnections collision resolution', () => {
  it('local BGP identifier lower (peer 10.0.0.2): our outbound connection is closed with Cease/7', () => {
    const { peers, out, inb, notifications, clock } = collide('10.0.0.1');
    peers.dispatch(out.id, { type: 'BGPOpen', open: peerOpen() });
    assert.equal(out.driver.state, 'Idle');
    assert.deepEqual(notifications(out), [[6, 7]]);
    peers.dispatch(inb.id, { type: 'BGPOpen', open: peerOpen() });
    peers.dispatch(inb.id, { type: 'KeepAliveMsg' });
    assert.equal(inb.driver.state, 'Established');
    assert.equal(peers.state, 'Established');
    // The primary is parked while the peer's connection carries the session ...
    for (let t = 0; t < 3600; t += 30) {
      clock.advance(30_000);
      peers.dispatch(inb.id, { type: 'KeepAliveMsg' });
    }
    assert.equal(out.driver.state, 'Idle');
    assert.equal(inb.driver.state, 'Established');
    // ... and comes back when that session ends.
    peers.dispatch(inb.id, { type: 'TcpConnectionFails' });
    assert.equal(peers.list().length, 1);
    assert.equal(out.driver.state, 'Connect');
  });

  it('local BGP identifier higher: the peer-initiated connection is closed with Cease/7', () => {
    const { peers, out, inb, notifications } = collide('10.0.0.3');
    peers.dispatch(out.id, { type: 'BGPOpen', open: peerOpen() });
    assert.equal(out.driver.state, 'OpenConfirm');
    assert.deepEqual(notifications(inb), [[6, 7]]);
    assert.deepEqual(peers.list(), [out]); // the loser is gone
    peers.dispatch(out.id, { type: 'KeepAliveMsg' });
    assert.equal(out.driver.state, 'Established');
  });

  it('the OPEN arriving first on the inbound connection resolves the same way', () => {
    const { peers, out, inb, notifications } = collide('10.0.0.1');
    peers.dispatch(inb.id, { type: 'BGPOpen', open: peerOpen() });
    assert.equal(inb.driver.state, 'OpenConfirm');
    assert.deepEqual(notifications(out), [[6, 7]]);
    assert.deepEqual(notifications(inb), []);
  });

  it('a new connection colliding with an Established session is closed', () => {
    const { peers, out, notifications } = collide('10.0.0.3');
    peers.dispatch(out.id, { type: 'BGPOpen', open: peerOpen() });
    peers.dispatch(out.id, { type: 'KeepAliveMsg' });
    const late = peers.accept();
    assert.ok(late);
    peers.dispatch(late.id, { type: 'BGPOpen', open: peerOpen() });
    assert.deepEqual(notifications(late), [[6, 7]]);
    assert.equal(out.driver.state, 'Established');
  });

  it('a passive peer hands the accepted connection to its waiting FSM', () => {
    const p = peer('10.0.0.1');
    const passive = new PeerConnections({
      localBgpId: parseBgpId('10.0.0.1'),
      localAs: 65000,
      makeFsm: () => new BgpFsm(config()),
      passive: true,
      clock: p.clock,
      jitter: false,
      onAction: () => {},
    });
    const primary = passive.start();
    assert.equal(primary.driver.state, 'Active');
    assert.equal(passive.accept(), primary);
    assert.equal(primary.driver.state, 'OpenSent');
  });

  it('ManualStop of the peer closes every connection with Cease/2', () => {
    const { peers, out, inb, notifications } = collide('10.0.0.1');
    peers.stop();
    assert.deepEqual(notifications(out), [[6, 2]]);
    assert.deepEqual(notifications(inb), [[6, 2]]);
    assert.equal(peers.state, 'Idle');
    assert.equal(peers.accept(), undefined); // Idle refuses
  });

  it('takes an incoming connection while the primary waits out its automatic-restart backoff', () => {
    const clock = new FakeClock();
    const peers = new PeerConnections({
      localBgpId: parseBgpId('10.0.0.1'),
      localAs: 65000,
      makeFsm: () => new BgpFsm(config({ idleHoldTime: 30 })),
      clock,
      jitter: false,
      onAction: () => {},
    });
    const primary = peers.start();
    primary.driver.dispatch({ type: 'TcpConnectionFails' });
    assert.equal(primary.driver.state, 'Idle');
    const bound: number[] = [];
    const inbound = peers.accept((c) => bound.push(c.id));
    assert.ok(inbound && inbound !== primary);
    assert.deepEqual(bound, [inbound.id], 'bound before its OPEN is sent');
    assert.equal(inbound.driver.state, 'OpenSent');
    inbound.driver.dispatch({ type: 'BGPOpen', open: peerOpen() });
    inbound.driver.dispatch({ type: 'KeepAliveMsg' });
    assert.equal(peers.state, 'Established');
    assert.equal(primary.driver.fsm.runningTimers.has('IdleHold'), false, 'parked: no restart of its own');
  });
});
