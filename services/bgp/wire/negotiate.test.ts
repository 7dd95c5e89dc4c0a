import { test } from 'node:test';
import assert from 'node:assert/strict';
import { negotiate } from './negotiate.js';
import { OpenMessage } from './open.js';

const open = (caps: OpenMessage['capabilities'], holdTime = 90): OpenMessage => ({ type: 'open', version: 4, myAs: 65001, holdTime, bgpId: '10.0.0.1', capabilities: caps });

test('negotiation takes the common families, the smaller hold time and both-sided options', () => {
  const a = open([
    { kind: 'multiprotocol', afi: 1, safi: 128 },
    { kind: 'multiprotocol', afi: 2, safi: 128 },
    { kind: 'four-octet-as', as: 65001 },
    { kind: 'extended-message' },
  ]);
  const b = open(
    [
      { kind: 'multiprotocol', afi: 1, safi: 128 },
      { kind: 'four-octet-as', as: 65002 },
      { kind: 'route-refresh', code: 128 },
      { kind: 'graceful-restart', restarting: true, notification: false, restartTime: 120, families: [] },
    ],
    30,
  );
  const s = negotiate(a, b);
  assert.deepEqual(s.families, [{ afi: 1, safi: 128 }]);
  assert.equal(s.holdTime, 30);
  assert.equal(s.keepaliveTime, 10);
  assert.equal(s.fourOctetAs, true);
  assert.equal(s.maxMessageLength, 4096);
  assert.equal(s.routeRefresh, true);
  assert.deepEqual(s.peerGracefulRestart, { restarting: true, restartTime: 120, families: [] });
  assert.deepEqual(negotiate(open([]), open([])).families, [{ afi: 1, safi: 1 }]);
});
