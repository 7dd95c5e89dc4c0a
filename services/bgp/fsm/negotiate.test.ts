import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ceaseForStop, checkOpen, formatBgpId, parseBgpId } from './negotiate.js';
import { Capabilities, IPV4_UNICAST, IPV6_UNICAST, VPNV4_UNICAST, VPNV6_UNICAST } from './types.js';
import { LOCAL_ID, peerOpen } from './test-helpers.js';

const params = (capabilities: Capabilities, holdTime = 90) => ({
  localAs: 65000,
  localBgpId: LOCAL_ID,
  peerAs: 65001,
  holdTime,
  capabilities,
});
const caps = (multiprotocol = [VPNV4_UNICAST, VPNV6_UNICAST], more: Partial<Capabilities> = {}): Capabilities => ({
  multiprotocol,
  fourOctetAs: true,
  routeRefresh: true,
  ...more,
});

describe('capability negotiation', () => {
  it('families are the intersection, in local order', () => {
    const r = checkOpen(params(caps([VPNV6_UNICAST, VPNV4_UNICAST, IPV6_UNICAST])), peerOpen({ capabilities: caps([VPNV4_UNICAST, VPNV6_UNICAST]) }));
    assert.ok(r.ok);
    assert.deepEqual(r.session.families, [VPNV6_UNICAST, VPNV4_UNICAST]);
  });

  it('a peer without any multiprotocol capability speaks IPv4 unicast only (RFC 4760 §8)', () => {
    const r = checkOpen(params(caps([IPV4_UNICAST, VPNV4_UNICAST])), peerOpen({ capabilities: caps([]) }));
    assert.ok(r.ok);
    assert.deepEqual(r.session.families, [IPV4_UNICAST]);
  });

  it('4-octet AS and route refresh only when both sides have them', () => {
    const r = checkOpen(params(caps()), peerOpen({ capabilities: caps(undefined, { fourOctetAs: false, routeRefresh: false }) }));
    assert.ok(r.ok);
    assert.equal(r.session.fourOctetAs, false);
    assert.equal(r.session.routeRefresh, false);
    const r2 = checkOpen(params(caps(undefined, { routeRefresh: false })), peerOpen({ capabilities: caps() }));
    assert.ok(r2.ok);
    assert.equal(r2.session.fourOctetAs, true);
    assert.equal(r2.session.routeRefresh, false);
  });

  it('extended message needs both sides (RFC 8654 §3); a configured keepalive only shortens hold/3', () => {
    const one = checkOpen(params(caps(undefined, { extendedMessage: true })), peerOpen({ capabilities: caps() }));
    assert.ok(one.ok);
    assert.equal(one.session.extendedMessage, false);
    const both = checkOpen({ ...params(caps(undefined, { extendedMessage: true })), keepaliveTime: 5 }, peerOpen({ holdTime: 30, capabilities: caps(undefined, { extendedMessage: true }) }));
    assert.ok(both.ok);
    assert.equal(both.session.extendedMessage, true);
    assert.deepEqual([both.session.holdTime, both.session.keepaliveTime], [30, 5]);
    const long = checkOpen({ ...params(caps()), keepaliveTime: 60 }, peerOpen({ holdTime: 30 }));
    assert.ok(long.ok);
    assert.equal(long.session.keepaliveTime, 10);
  });

  it('graceful restart needs the capability on both sides', () => {
    const gr = { restarting: true, restartTime: 90, families: [{ family: VPNV4_UNICAST, forwardingPreserved: false }] };
    const without = checkOpen(params(caps()), peerOpen({ capabilities: caps(undefined, { gracefulRestart: gr }) }));
    assert.ok(without.ok);
    assert.equal(without.session.gracefulRestart, undefined);
    const local = caps(undefined, { gracefulRestart: { restarting: false, restartTime: 0, families: [] } });
    const withGr = checkOpen(params(local), peerOpen({ capabilities: caps(undefined, { gracefulRestart: gr }) }));
    assert.ok(withGr.ok);
    assert.deepEqual(withGr.session.gracefulRestart, {
      restartTime: 90,
      peerRestarting: true,
      families: [{ family: VPNV4_UNICAST, forwardingPreserved: false }],
    });
  });

  it('the BGP identifier is compared as unsigned', () => {
    const high = parseBgpId('200.0.0.1');
    const r = checkOpen({ ...params(caps()), peerAs: 65000, localBgpId: high }, peerOpen({ myAs: 65000, bgpId: high | 0 }));
    assert.ok(!r.ok);
    assert.deepEqual([r.notification.code, r.notification.subcode], [2, 3]);
  });
});

describe('helpers', () => {
  it('parses and formats BGP identifiers', () => {
    assert.equal(parseBgpId('255.255.255.255'), 0xffffffff);
    assert.equal(formatBgpId(parseBgpId('192.0.2.1')), '192.0.2.1');
    assert.throws(() => parseBgpId('1.2.3'));
    assert.throws(() => parseBgpId('1.2.3.256'));
  });

  it('cuts a long shutdown communication at a UTF-8 character boundary', () => {
    const n = ceaseForStop('shutdown', 'é'.repeat(200)); // 400 octets
    assert.deepEqual([n.code, n.subcode], [6, 2]);
    assert.equal(n.data[0], 254);
    assert.equal(n.data.length, 255);
    assert.equal(new TextDecoder('utf-8', { fatal: true }).decode(n.data.subarray(1)), 'é'.repeat(127));
  });

  it('peer de-configured carries no communication', () => {
    assert.equal(ceaseForStop('deconfigured', 'bye').data.length, 0);
  });
});
