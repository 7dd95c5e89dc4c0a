// Relayed PE-CE peers (BgpService.RelayPeerSession): their settings, their
// "<address>%<vrf>" names, and a relayed connection as the speaker sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createLogger } from '../../common/logger.js';
import { PeerConfigError, needsReset, normalisePeerName, peerConfig, peerKey, splitPeerName, type PeerConfigInput } from './config.js';
import { Speaker, SpeakerError } from './speaker.js';
import type { Conduit } from './transport.js';
import { MessageType } from '../wire/constants.js';

const red: PeerConfigInput = { address: '10.0.0.2', remoteAs: 65001, vrf: 'red@pe1', relayed: true };
const blue: PeerConfigInput = { ...red, vrf: 'blue@pe1' };

const refused = (input: PeerConfigInput, field: string) =>
  assert.throws(
    () => peerConfig(input),
    (e: Error) => e instanceof PeerConfigError && e.field === field,
    `${JSON.stringify(input)} refused naming ${field}`,
  );

test('relayed and route_label: PE-CE only, label in 16..1048575, relayed implies passive', () => {
  const c = peerConfig({ ...red, routeLabel: 3000 });
  assert.equal(c.relayed, true);
  assert.equal(c.passive, true, 'a relayed session is never dialled');
  assert.equal(c.routeLabel, 3000);
  const d = peerConfig({ address: '10.0.0.2', remoteAs: 65001, vrf: 'red@pe1' });
  assert.deepEqual([d.relayed, d.routeLabel, d.passive], [false, undefined, false]);
  assert.equal(peerConfig({ ...red, routeLabel: 0 }).routeLabel, undefined, '0: the label mode decides');
  refused({ address: '10.0.0.2', remoteAs: 65001, relayed: true }, 'relayed');
  refused({ address: '10.0.0.2', remoteAs: 65001, routeLabel: 100 }, 'route_label');
  refused({ ...red, routeLabel: 15 }, 'route_label');
  refused({ ...red, routeLabel: 1048576 }, 'route_label');
  refused({ ...red, routeLabel: 16.5 }, 'route_label');
  assert.equal(peerConfig({ ...red, routeLabel: 16 }).routeLabel, 16);
  assert.equal(peerConfig({ ...red, routeLabel: 1048575 }).routeLabel, 1048575);
});

test('a change of relayed or route_label needs a new session', () => {
  const a = peerConfig({ ...red, routeLabel: 100 });
  assert.equal(needsReset(a, peerConfig({ ...red, routeLabel: 100 })), false);
  assert.equal(needsReset(a, peerConfig({ ...red, routeLabel: 101 })), true);
  assert.equal(needsReset(a, peerConfig({ ...red })), true);
  assert.equal(needsReset(peerConfig({ ...red, relayed: false }), peerConfig(red)), true);
});

test('peer names: a relayed peer is "<address>%<vrf>", any other its address', () => {
  assert.equal(peerKey(peerConfig(red)), '10.0.0.2%red@pe1');
  assert.equal(peerKey(peerConfig({ ...red, relayed: false })), '10.0.0.2');
  assert.equal(peerKey(peerConfig({ address: '2001:DB8::2', remoteAs: 65001, vrf: 'v6', relayed: true })), '2001:db8::2%v6');
  assert.deepEqual(splitPeerName('10.0.0.2%red@pe1'), { address: '10.0.0.2', zone: 'red@pe1' });
  assert.deepEqual(splitPeerName('10.0.0.2'), { address: '10.0.0.2', zone: undefined });
  assert.equal(normalisePeerName('2001:DB8:0::2%red'), '2001:db8::2%red');
  assert.equal(normalisePeerName('10.0.0.2%'), undefined);
  assert.equal(normalisePeerName('nope%red'), undefined);
});

function speaker(): Speaker {
  return new Speaker(
    { as: 65000, routerId: '10.255.0.1', listenAddress: '127.0.0.1', port: 0, gracefulRestartTime: 120, idleHoldTime: 1, idleHoldMaxTime: 2 },
    createLogger('relayed-test', 'error'),
  );
}

/** A byte stream standing for a relay's gRPC stream: what the speaker writes is kept. */
class FakeConduit extends EventEmitter implements Conduit {
  readonly written: Buffer[] = [];
  ended = false;
  constructor(readonly localAddress: string) {
    super();
  }
  get writable() {
    return !this.ended;
  }
  write(bytes: Uint8Array): boolean {
    this.written.push(Buffer.from(bytes));
    return true;
  }
  end(): void {
    this.ended = true;
    setImmediate(() => this.emit('close'));
  }
  destroy(): void {
    this.end();
  }
}

test('two VPNs relayed CEs with one address coexist; each is named, found, deleted on its own', async (t) => {
  const s = speaker();
  t.after(() => s.stop());
  s.addPeer(peerConfig(red));
  s.addPeer(peerConfig(blue));
  // A TCP neighbour with the same address is yet another peer.
  s.addPeer(peerConfig({ address: '10.0.0.2', remoteAs: 65002, adminDown: true }));
  assert.deepEqual(s.listPeers().map((p) => p.address).sort(), ['10.0.0.2', '10.0.0.2%blue@pe1', '10.0.0.2%red@pe1']);
  assert.equal(s.peer('10.0.0.2%red@pe1').config.vrf, 'red@pe1');
  assert.equal(s.peer('10.0.0.2%blue@pe1').config.vrf, 'blue@pe1');
  assert.equal(s.peer('10.0.0.2').config.vrf, undefined);
  assert.equal(s.peer('10.0.0.2%red@pe1').adjRibIn.table.count({ afi: 1, safi: 1 }), 0);
  assert.throws(() => s.addPeer(peerConfig(red)), (e: Error) => e instanceof SpeakerError && e.kind === 'exists' && /10\.0\.0\.2%red@pe1/.test(e.message));
  assert.throws(() => s.peer('10.0.0.2%green@pe1'), (e: Error) => e instanceof SpeakerError && e.kind === 'not-found');
  // An update names the peer by its config: the relayed one in red, not the TCP one.
  s.updatePeer(peerConfig({ ...red, description: 'ce1' }));
  assert.equal(s.peer('10.0.0.2%red@pe1').config.description, 'ce1');
  assert.equal(s.peer('10.0.0.2').config.description, undefined);
  await s.deletePeer('10.0.0.2%red@pe1');
  assert.deepEqual(s.listPeers().map((p) => p.address).sort(), ['10.0.0.2', '10.0.0.2%blue@pe1']);
});

test('a relayed connection: found by VRF and address, refused as TCP would be, its end is the connection lost', async (t) => {
  const s = speaker();
  t.after(() => s.stop());
  s.addPeer(peerConfig(red));
  s.addPeer(peerConfig({ address: '10.0.0.3', remoteAs: 65001, vrf: 'red@pe1' }));
  s.addPeer(peerConfig({ ...red, address: '10.0.0.4', adminDown: true }));
  const kind = (k: string) => (e: Error) => e instanceof SpeakerError && e.kind === k;
  assert.throws(() => s.relay('green@pe1', '10.0.0.2', new FakeConduit('10.0.0.1')), kind('not-found'));
  assert.throws(() => s.relay('red@pe1', '10.0.0.9', new FakeConduit('10.0.0.1')), kind('not-found'));
  assert.throws(() => s.relay('red@pe1', '10.0.0.3', new FakeConduit('10.0.0.1')), kind('precondition'));
  assert.throws(() => s.relay('red@pe1', '10.0.0.4', new FakeConduit('10.0.0.1')), (e: Error) => kind('unavailable')(e) && /administratively down/.test(e.message));

  const c = new FakeConduit('10.0.0.1');
  const peer = s.relay('red@pe1', '10.0.0.2', c);
  assert.equal(peer.address, '10.0.0.2%red@pe1');
  // Accepted like a TCP connection in Active: our OPEN goes out on it.
  assert.equal(c.written.length, 1);
  assert.equal(c.written[0]![18], MessageType.OPEN);
  assert.equal(peer.state, 'OpenSent');
  c.emit('end'); // the relay's half-close: the CE's FIN
  assert.notEqual(peer.state, 'OpenSent');
  assert.equal(c.ended, true, 'the stream is ended when the connection is');
  assert.match(peer.lastError ?? '', /closed/);
});
