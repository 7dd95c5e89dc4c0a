import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BgpFsm } from './fsm.js';
import { FsmAction, FsmConfig, FsmEvent, IPV4_UNICAST, OpenSummary, VPNV4_UNICAST, VPNV6_UNICAST } from './types.js';
import { LOCAL_ID, config, peerOpen, sent, timers, types } from './test-helpers.js';

/** Runs events in order and returns the actions of the last one. */
function run(fsm: BgpFsm, ...events: FsmEvent[]): FsmAction[] {
  let last: FsmAction[] = [];
  for (const e of events) last = fsm.handle(e);
  return last;
}

function openSent(over: Partial<FsmConfig> = {}): BgpFsm {
  const fsm = new BgpFsm(config(over));
  run(fsm, { type: 'ManualStart' }, { type: 'Tcp_CR_Acked' });
  assert.equal(fsm.state, 'OpenSent');
  return fsm;
}

function established(over: Partial<FsmConfig> = {}, open: Partial<OpenSummary> = {}): BgpFsm {
  const fsm = openSent(over);
  run(fsm, { type: 'BGPOpen', open: peerOpen(open) }, { type: 'KeepAliveMsg' });
  assert.equal(fsm.state, 'Established');
  return fsm;
}

describe('BgpFsm happy paths', () => {
  it('active: Idle -> Connect -> OpenSent -> OpenConfirm -> Established', () => {
    const fsm = new BgpFsm(config());
    let a = fsm.handle({ type: 'ManualStart' });
    assert.deepEqual(types(a), ['startTimer', 'connect', 'stateChange']);
    assert.deepEqual(timers(a), ['start ConnectRetry 120']);
    assert.equal(fsm.state, 'Connect');

    a = fsm.handle({ type: 'Tcp_CR_Acked' });
    assert.deepEqual(types(a), ['stopTimer', 'sendOpen', 'startTimer', 'stateChange']);
    assert.deepEqual(timers(a), ['stop ConnectRetry', 'start Hold 240']); // §8.2.2 large hold time
    const open = a.find((x) => x.type === 'sendOpen');
    assert.deepEqual(open?.type === 'sendOpen' && open.open, {
      version: 4,
      myAs: 65000,
      holdTime: 90,
      bgpId: LOCAL_ID,
      capabilities: config().capabilities,
    });

    a = fsm.handle({ type: 'BGPOpen', open: peerOpen({ holdTime: 30 }) });
    assert.deepEqual(types(a), ['sendKeepalive', 'startTimer', 'startTimer', 'stateChange']);
    assert.deepEqual(timers(a), ['start Keepalive 10', 'start Hold 30']);
    assert.equal(fsm.state, 'OpenConfirm');

    a = fsm.handle({ type: 'KeepAliveMsg' });
    assert.deepEqual(types(a), ['startTimer', 'stateChange', 'sessionEstablished']);
    const up = a.at(-1);
    assert.ok(up?.type === 'sessionEstablished');
    assert.deepEqual(up.session, {
      remoteAs: 65001,
      remoteBgpId: peerOpen().bgpId,
      holdTime: 30,
      keepaliveTime: 10,
      families: [IPV4_UNICAST, VPNV4_UNICAST],
      fourOctetAs: true,
      routeRefresh: true,
      extendedMessage: false,
    });
  });

  it('passive: waits in Active without connecting, then takes the incoming connection', () => {
    const fsm = new BgpFsm(config());
    let a = fsm.handle({ type: 'ManualStart_with_PassiveTcpEstablishment' });
    assert.deepEqual(a, [{ type: 'stateChange', from: 'Idle', to: 'Active', event: 'ManualStart_with_PassiveTcpEstablishment' }]);
    a = fsm.handle({ type: 'TcpConnectionConfirmed' });
    assert.deepEqual(types(a), ['sendOpen', 'startTimer', 'stateChange']);
    run(fsm, { type: 'BGPOpen', open: peerOpen() }, { type: 'KeepAliveMsg' });
    assert.equal(fsm.state, 'Established');
  });

  it('passive: a failed OpenSent connection goes back to Active without a ConnectRetryTimer', () => {
    const fsm = new BgpFsm(config());
    run(fsm, { type: 'ManualStart_with_PassiveTcpEstablishment' }, { type: 'TcpConnectionConfirmed' });
    const a = fsm.handle({ type: 'TcpConnectionFails' });
    assert.equal(fsm.state, 'Active');
    assert.deepEqual(timers(a), ['stop Hold']);
  });

  it('DelayOpen: waits after TCP is up; an early OPEN is answered with OPEN + KEEPALIVE (event 20)', () => {
    const fsm = new BgpFsm(config({ delayOpenTime: 5 }));
    let a = run(fsm, { type: 'ManualStart' }, { type: 'Tcp_CR_Acked' });
    assert.deepEqual(timers(a), ['stop ConnectRetry', 'start DelayOpen 5']);
    assert.equal(fsm.state, 'Connect');
    a = fsm.handle({ type: 'BGPOpen', open: peerOpen() });
    assert.deepEqual(types(a), ['stopTimer', 'sendOpen', 'sendKeepalive', 'startTimer', 'startTimer', 'stateChange']);
    assert.equal(fsm.state, 'OpenConfirm');
  });

  it('DelayOpen: expiry sends OPEN and moves to OpenSent', () => {
    const fsm = new BgpFsm(config({ delayOpenTime: 5 }));
    run(fsm, { type: 'ManualStart' }, { type: 'Tcp_CR_Acked' });
    const a = fsm.handle({ type: 'DelayOpenTimer_Expires' });
    assert.deepEqual(types(a), ['sendOpen', 'startTimer', 'stateChange']);
    assert.equal(fsm.state, 'OpenSent');
  });
});

describe('BgpFsm OPEN validation (in OpenSent)', () => {
  const cases: [string, Partial<OpenSummary>, Partial<FsmConfig>, [number, number]][] = [
    ['unsupported version', { version: 3 }, {}, [2, 1]],
    ['peer AS mismatch', { myAs: 65002 }, {}, [2, 2]],
    ['hold time 1', { holdTime: 1 }, {}, [2, 6]],
    ['hold time 2', { holdTime: 2 }, {}, [2, 6]],
    ['BGP identifier 0', { bgpId: 0 }, {}, [2, 3]],
    ['iBGP peer with our BGP identifier', { bgpId: LOCAL_ID, myAs: 65000 }, { peerAs: 65000 }, [2, 3]],
    ['no family in common', { capabilities: { multiprotocol: [VPNV6_UNICAST], fourOctetAs: true, routeRefresh: false } }, {}, [2, 7]],
  ];
  for (const [name, open, cfg, expected] of cases) {
    it(`${name} -> NOTIFICATION ${expected.join('/')} and Idle`, () => {
      const fsm = openSent(cfg);
      const a = fsm.handle({ type: 'BGPOpen', open: peerOpen(open) });
      assert.deepEqual(sent(a), [expected]);
      assert.deepEqual(types(a), ['sendNotification', 'stopTimer', 'releaseResources', 'dropConnection', 'stateChange']);
      assert.equal(fsm.state, 'Idle');
      assert.equal(fsm.connectRetryCounter, 1);
    });
  }

  it('unsupported version carries the largest supported version (§6.2)', () => {
    const a = openSent().handle({ type: 'BGPOpen', open: peerOpen({ version: 5 }) });
    const n = a.find((x) => x.type === 'sendNotification');
    assert.ok(n?.type === 'sendNotification');
    assert.deepEqual([...n.notification.data], [0, 4]);
  });

  it('no common family: Unsupported Capability lists our multiprotocol capabilities (RFC 5492 §3)', () => {
    // The peer sends no MP capability: it speaks IPv4 unicast only (RFC 4760 §8).
    const fsm = openSent({ capabilities: { multiprotocol: [VPNV4_UNICAST], fourOctetAs: true, routeRefresh: true } });
    const a = fsm.handle({ type: 'BGPOpen', open: peerOpen({ capabilities: { multiprotocol: [], fourOctetAs: true, routeRefresh: true } }) });
    const n = a.find((x) => x.type === 'sendNotification');
    assert.ok(n?.type === 'sendNotification');
    assert.deepEqual([n.notification.code, n.notification.subcode], [2, 7]);
    assert.deepEqual([...n.notification.data], [1, 4, 0, 1, 0, 128]);
  });

  it('accepts the same BGP identifier from an external peer (RFC 6286 §2.2) and hold time 0', () => {
    const fsm = openSent();
    fsm.handle({ type: 'BGPOpen', open: peerOpen({ bgpId: LOCAL_ID, holdTime: 0 }) });
    assert.equal(fsm.state, 'OpenConfirm');
  });
});

describe('BgpFsm timers', () => {
  it('hold time is the smaller of both; keepalive a third of it', () => {
    const fsm = openSent({ holdTime: 90 });
    const a = fsm.handle({ type: 'BGPOpen', open: peerOpen({ holdTime: 180 }) });
    assert.deepEqual(timers(a), ['start Keepalive 30', 'start Hold 90']);
  });

  it('negotiated hold time 0: no hold timer, no keepalives', () => {
    const fsm = openSent({ holdTime: 0 });
    let a = fsm.handle({ type: 'BGPOpen', open: peerOpen({ holdTime: 90 }) });
    assert.deepEqual(timers(a), ['stop Hold']); // the large OpenSent hold timer
    assert.deepEqual(types(a), ['sendKeepalive', 'stopTimer', 'stateChange']); // one KEEPALIVE confirms the OPEN
    a = fsm.handle({ type: 'KeepAliveMsg' });
    assert.deepEqual(timers(a), []);
    assert.equal(fsm.state, 'Established');
    assert.equal(fsm.session?.keepaliveTime, 0);
    assert.equal(fsm.runningTimers.size, 0);
    assert.deepEqual(timers(fsm.handle({ type: 'UpdateSent' })), []);
    assert.deepEqual(timers(fsm.handle({ type: 'UpdateMsg', update: {} })), []);
  });

  it('keepalive scheduling in Established', () => {
    const fsm = established();
    let a = fsm.handle({ type: 'KeepaliveTimer_Expires' });
    assert.deepEqual(types(a), ['sendKeepalive', 'startTimer']);
    assert.deepEqual(timers(a), ['start Keepalive 30']);
    a = fsm.handle({ type: 'UpdateSent' }); // §4.4
    assert.deepEqual(timers(a), ['start Keepalive 30']);
    a = fsm.handle({ type: 'KeepAliveMsg' });
    assert.deepEqual(timers(a), ['start Hold 90']);
    a = fsm.handle({ type: 'UpdateMsg', update: 'u1' });
    assert.deepEqual(a, [
      { type: 'startTimer', timer: 'Hold', seconds: 90 },
      { type: 'deliverUpdate', update: 'u1' },
    ]);
  });

  it('keepalive timer also runs in OpenConfirm', () => {
    const fsm = openSent();
    fsm.handle({ type: 'BGPOpen', open: peerOpen() });
    assert.deepEqual(types(fsm.handle({ type: 'KeepaliveTimer_Expires' })), ['sendKeepalive', 'startTimer']);
  });

  it('hold timer expiry sends Hold Timer Expired (4/0) in OpenSent, OpenConfirm and Established', () => {
    const a1 = openSent().handle({ type: 'HoldTimer_Expires' });
    assert.deepEqual(sent(a1), [[4, 0]]);
    const confirm = openSent();
    confirm.handle({ type: 'BGPOpen', open: peerOpen() });
    assert.deepEqual(sent(confirm.handle({ type: 'HoldTimer_Expires' })), [[4, 0]]);
    const est = established();
    const a3 = est.handle({ type: 'HoldTimer_Expires' });
    assert.deepEqual(sent(a3), [[4, 0]]);
    assert.deepEqual(
      a3.find((x) => x.type === 'releaseResources'),
      { type: 'releaseResources', routes: { kind: 'delete' } },
    );
    assert.equal(est.state, 'Idle');
    assert.equal(est.runningTimers.size, 0);
  });

  it('ignores the expiry of a timer it has stopped (stale callback)', () => {
    const fsm = openSent();
    assert.deepEqual(fsm.handle({ type: 'ConnectRetryTimer_Expires' }), []);
    assert.equal(fsm.state, 'OpenSent');
  });
});

describe('BgpFsm connect retry and restart', () => {
  it('ConnectRetryTimer expiry in Connect retries the connection', () => {
    const fsm = new BgpFsm(config());
    fsm.handle({ type: 'ManualStart' });
    const a = fsm.handle({ type: 'ConnectRetryTimer_Expires' });
    assert.deepEqual(types(a), ['dropConnection', 'startTimer', 'connect']);
    assert.deepEqual(timers(a), ['start ConnectRetry 120']); // no backoff by default
    assert.equal(fsm.state, 'Connect');
  });

  it('connect-retry backoff doubles up to connectRetryMaxTime', () => {
    const fsm = new BgpFsm(config({ connectRetryTime: 30, connectRetryMaxTime: 200 }));
    const seen = [timers(fsm.handle({ type: 'ManualStart' }))[0]];
    for (let i = 0; i < 4; i++) seen.push(timers(fsm.handle({ type: 'ConnectRetryTimer_Expires' }))[0]);
    assert.deepEqual(seen, [
      'start ConnectRetry 30',
      'start ConnectRetry 60',
      'start ConnectRetry 120',
      'start ConnectRetry 200',
      'start ConnectRetry 200',
    ]);
  });

  it('OpenSent TCP failure -> Active with ConnectRetryTimer; its expiry -> Connect', () => {
    const fsm = openSent();
    let a = fsm.handle({ type: 'TcpConnectionFails' });
    assert.equal(fsm.state, 'Active');
    assert.deepEqual(timers(a), ['stop Hold', 'start ConnectRetry 120']);
    a = fsm.handle({ type: 'ConnectRetryTimer_Expires' });
    assert.deepEqual(types(a), ['startTimer', 'connect', 'stateChange']);
    assert.equal(fsm.state, 'Connect');
  });

  it('TCP failure in Connect -> Idle; automatic restart after an idle hold that backs off', () => {
    const fsm = new BgpFsm(config({ idleHoldTime: 5, idleHoldMaxTime: 20 }));
    fsm.handle({ type: 'ManualStart' });
    const holds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const a = fsm.handle({ type: 'TcpConnectionFails' });
      assert.equal(fsm.state, 'Idle');
      holds.push(...timers(a).filter((t) => t.includes('IdleHold')));
      assert.deepEqual(types(fsm.handle({ type: 'IdleHoldTimer_Expires' })), ['startTimer', 'connect', 'stateChange']);
      assert.equal(fsm.state, 'Connect');
    }
    assert.deepEqual(holds, ['start IdleHold 5', 'start IdleHold 10', 'start IdleHold 20', 'start IdleHold 20']);
  });

  it('without idleHoldTime the FSM stays Idle after a failure (AllowAutomaticStart false)', () => {
    const fsm = openSent();
    const a = fsm.handle({ type: 'HoldTimer_Expires' });
    assert.ok(!timers(a).some((t) => t.startsWith('start')));
  });

  it('ManualStop in Idle cancels a pending automatic restart', () => {
    const fsm = new BgpFsm(config({ idleHoldTime: 5 }));
    run(fsm, { type: 'ManualStart' }, { type: 'TcpConnectionFails' });
    assert.deepEqual(fsm.handle({ type: 'ManualStop' }), [{ type: 'stopTimer', timer: 'IdleHold' }]);
  });

  it('Idle refuses an incoming connection', () => {
    assert.deepEqual(new BgpFsm(config()).handle({ type: 'TcpConnectionConfirmed' }), [{ type: 'dropConnection' }]);
  });
});

describe('BgpFsm errors and stops', () => {
  it('unexpected messages: FSM Error with the RFC 6608 subcode of the state', () => {
    assert.deepEqual(sent(openSent().handle({ type: 'KeepAliveMsg' })), [[5, 1]]);
    assert.deepEqual(sent(openSent().handle({ type: 'RouteRefresh', family: IPV4_UNICAST })), [[5, 1]]);
    const confirm = openSent();
    confirm.handle({ type: 'BGPOpen', open: peerOpen() });
    assert.deepEqual(sent(confirm.handle({ type: 'UpdateMsg', update: {} })), [[5, 2]]);
    const confirm2 = openSent();
    confirm2.handle({ type: 'BGPOpen', open: peerOpen() });
    assert.deepEqual(sent(confirm2.handle({ type: 'BGPOpen', open: peerOpen() })), [[5, 2]]);
    assert.deepEqual(sent(established().handle({ type: 'BGPOpen', open: peerOpen() })), [[5, 3]]);
  });

  it('decoder errors: the decoder-chosen NOTIFICATION is sent', () => {
    const n = { code: 3, subcode: 1, data: new Uint8Array(0) };
    const fsm = established();
    assert.deepEqual(sent(fsm.handle({ type: 'UpdateMsgErr', notification: n })), [[3, 1]]);
    assert.equal(fsm.state, 'Idle');
    const h = { code: 1, subcode: 2, data: Uint8Array.of(0, 10) };
    assert.deepEqual(sent(openSent().handle({ type: 'BGPHeaderErr', notification: h })), [[1, 2]]);
  });

  it('in Connect, a header error is only answered with SendNOTIFICATIONwithoutOPEN', () => {
    const h = { code: 1, subcode: 1, data: new Uint8Array(0) };
    const quiet = new BgpFsm(config({ delayOpenTime: 5 }));
    run(quiet, { type: 'ManualStart' }, { type: 'Tcp_CR_Acked' });
    assert.deepEqual(sent(quiet.handle({ type: 'BGPHeaderErr', notification: h })), []);
    const loud = new BgpFsm(config({ delayOpenTime: 5, sendNotificationWithoutOpen: true }));
    run(loud, { type: 'ManualStart' }, { type: 'Tcp_CR_Acked' });
    assert.deepEqual(sent(loud.handle({ type: 'BGPHeaderErr', notification: h })), [[1, 1]]);
  });

  it('a received NOTIFICATION is never answered with one', () => {
    const n = { code: 6, subcode: 2, data: new Uint8Array(0) };
    for (const fsm of [openSent(), established()]) {
      const a = fsm.handle({ type: 'NotifMsg', notification: n });
      assert.deepEqual(sent(a), []);
      assert.equal(fsm.state, 'Idle');
    }
  });

  it('ManualStop in Established sends Cease/2, deletes routes, zeroes the counter and does not restart', () => {
    const fsm = established({ idleHoldTime: 5 });
    const a = fsm.handle({ type: 'ManualStop' });
    assert.deepEqual(types(a), ['sendNotification', 'stopTimer', 'stopTimer', 'releaseResources', 'dropConnection', 'stateChange']);
    assert.deepEqual(sent(a), [[6, 2]]);
    assert.equal(fsm.connectRetryCounter, 0);
    assert.equal(fsm.runningTimers.size, 0);
  });

  it('ManualStop reasons and shutdown communication (RFC 4486, RFC 9003)', () => {
    const shut = established().handle({ type: 'ManualStop', communication: 'maintenance' });
    const n = shut.find((x) => x.type === 'sendNotification');
    assert.ok(n?.type === 'sendNotification');
    assert.equal(n.notification.data[0], 11);
    assert.equal(new TextDecoder().decode(n.notification.data.subarray(1)), 'maintenance');
    assert.deepEqual(sent(established().handle({ type: 'ManualStop', reason: 'deconfigured' })), [[6, 3]]);
    assert.deepEqual(sent(established().handle({ type: 'ManualStop', reason: 'reset' })), [[6, 4]]);
    assert.deepEqual(sent(openSent().handle({ type: 'ManualStop' })), [[6, 2]]);
  });

  it('ManualStop before any OPEN was sent: no NOTIFICATION', () => {
    const fsm = new BgpFsm(config());
    fsm.handle({ type: 'ManualStart' });
    const a = fsm.handle({ type: 'ManualStop' });
    assert.deepEqual(types(a), ['stopTimer', 'releaseResources', 'dropConnection', 'stateChange']);
  });

  it('AutomaticStop sends Cease with the given subcode and does not restart', () => {
    const fsm = established({ idleHoldTime: 5 });
    const a = fsm.handle({ type: 'AutomaticStop', subcode: 1 });
    assert.deepEqual(sent(a), [[6, 1]]);
    assert.ok(!timers(a).includes('start IdleHold 5'));
    assert.equal(fsm.connectRetryCounter, 1);
  });

  it('OpenCollisionDump closes with Cease / Connection Collision Resolution (6/7)', () => {
    const fsm = openSent();
    fsm.handle({ type: 'BGPOpen', open: peerOpen() });
    assert.deepEqual(sent(fsm.handle({ type: 'OpenCollisionDump' })), [[6, 7]]);
    assert.equal(fsm.state, 'Idle');
  });
});

describe('BgpFsm Established details', () => {
  it('route refresh is delivered only for a negotiated family (RFC 2918 §4)', () => {
    const fsm = established();
    assert.deepEqual(types(fsm.handle({ type: 'RouteRefresh', family: VPNV4_UNICAST })), ['startTimer', 'deliverRouteRefresh']);
    assert.deepEqual(types(fsm.handle({ type: 'RouteRefresh', family: VPNV6_UNICAST })), ['startTimer']);
  });

  it('graceful restart: a TCP failure keeps the routes stale, a NOTIFICATION deletes them', () => {
    const local = { ...config().capabilities, gracefulRestart: { restarting: false, restartTime: 0, families: [] } };
    const remote = {
      ...peerOpen().capabilities,
      gracefulRestart: {
        restarting: false,
        restartTime: 120,
        families: [
          { family: VPNV4_UNICAST, forwardingPreserved: true },
          { family: VPNV6_UNICAST, forwardingPreserved: true }, // not negotiated
        ],
      },
    };
    const fsm = established({ capabilities: local }, { capabilities: remote });
    assert.deepEqual(fsm.session?.gracefulRestart, {
      restartTime: 120,
      peerRestarting: false,
      families: [{ family: VPNV4_UNICAST, forwardingPreserved: true }],
    });
    const a = fsm.handle({ type: 'TcpConnectionFails' });
    assert.deepEqual(a.find((x) => x.type === 'releaseResources'), {
      type: 'releaseResources',
      routes: { kind: 'retainStale', restartTime: 120, families: [VPNV4_UNICAST] },
    });

    const fsm2 = established({ capabilities: local }, { capabilities: remote });
    const b = fsm2.handle({ type: 'NotifMsg', notification: { code: 6, subcode: 4, data: new Uint8Array(0) } });
    assert.deepEqual(b.find((x) => x.type === 'releaseResources'), { type: 'releaseResources', routes: { kind: 'delete' } });
  });

  it('rejects a hold time of 1 or 2 in its own configuration', () => {
    assert.throws(() => new BgpFsm(config({ holdTime: 2 })), RangeError);
  });
});
