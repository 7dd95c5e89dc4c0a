import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOpen } from '../fsm/negotiate.js';
import { decodeOpen, type OpenMessage } from '../wire/open.js';
import { encodeOpenSummary, openSummary, sessionOptions } from './open-summary.js';
import type { OpenSummary } from '../fsm/types.js';

const ours: OpenSummary = {
  version: 4,
  myAs: 4200000001,
  holdTime: 90,
  bgpId: 0x0a000001,
  capabilities: {
    multiprotocol: [{ afi: 1, safi: 128 }, { afi: 2, safi: 128 }],
    fourOctetAs: true,
    routeRefresh: true,
    gracefulRestart: { restarting: false, restartTime: 120, families: [] },
  },
};

function roundTrip(o: OpenSummary): OpenMessage {
  const bytes = encodeOpenSummary(o);
  const m = decodeOpen(bytes.subarray(19));
  assert.ok('type' in m);
  return m;
}

test('our OPEN encodes to what the FSM advertised and decodes back to the same summary', () => {
  const wire = roundTrip(ours);
  assert.equal(wire.myAs, 23456, 'AS_TRANS in the 2-octet field (RFC 6793 §4.1)');
  assert.deepEqual(openSummary(wire), { ...ours, capabilities: { ...ours.capabilities } });
});

test("the peer's AS comes from the 4-octet capability; 0 or AS_TRANS there fails Bad Peer AS", () => {
  const params = { localAs: 65000, localBgpId: 1, peerAs: 4200000001, holdTime: 90, capabilities: ours.capabilities };
  assert.ok(checkOpen(params, openSummary(roundTrip(ours))).ok);
  for (const bogus of [0, 23456]) {
    const wire = roundTrip(ours);
    const tampered: OpenMessage = { ...wire, capabilities: wire.capabilities.map((c) => (c.kind === 'four-octet-as' ? { ...c, as: bogus } : c)) };
    const r = checkOpen(params, openSummary(tampered));
    assert.ok(!r.ok);
    assert.deepEqual([r.notification.code, r.notification.subcode], [2, 2]);
  }
});

test('session options follow the negotiation: 2-octet AS, extended message', () => {
  const base = { remoteAs: 1, remoteBgpId: 2, holdTime: 90, keepaliveTime: 30, families: [], routeRefresh: true };
  assert.deepEqual(sessionOptions({ ...base, fourOctetAs: false, extendedMessage: false }), { fourOctetAs: false, maxMessageLength: 4096, multipleLabels: 1 });
  assert.equal(sessionOptions({ ...base, fourOctetAs: true, extendedMessage: true }).maxMessageLength, 65535);
});
