// services/bgp against a raw TCP socket speaking hand-built bytes: every
// error a peer can make draws the NOTIFICATION RFC 4271 §6 / RFC 7606 name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { MessageSplitter } from '../../services/bgp/wire/splitter.js';
import { startTestBgp, type StartedBgp } from './support.js';
import { eventually } from '../support/eventually.js';

const US = '127.0.21.1';
const PEER_AS = 65010; // 0xfdf2

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** A whole message: marker, length, type, body. */
function message(type: number, body: string): Buffer {
  const b = hex(body);
  const head = Buffer.alloc(19, 0xff);
  head.writeUInt16BE(19 + b.length, 16);
  head[18] = type;
  return Buffer.concat([head, b]);
}

/** OPEN: version, AS, hold time, id 10.21.0.<n>, capabilities MP IPv4 unicast + 4-octet AS. */
function open(opts: { version?: number; as?: number; hold?: number; gracefulRestart?: boolean } = {}): Buffer {
  const as = opts.as ?? PEER_AS;
  let caps = `02 06 01 04 0001 00 01   02 06 41 04 ${as.toString(16).padStart(8, '0')}   02 02 02 00`;
  // Graceful restart (RFC 4724 §3): restart time 5 s, IPv4 unicast with forwarding preserved.
  if (opts.gracefulRestart) caps += '   02 08 40 06 0005 0001 01 80';
  const v = (opts.version ?? 4).toString(16).padStart(2, '0');
  const paramsLength = hex(caps).length.toString(16).padStart(2, '0');
  return message(1, `${v} ${as.toString(16).padStart(4, '0')} ${(opts.hold ?? 90).toString(16).padStart(4, '0')} 0a150009 ${paramsLength} ${caps}`);
}

const KEEPALIVE = message(4, '');
const ATTRS = '40 01 01 00   40 02 06 02 01 0000fdf2   40 03 04 c6336401';
/** 10.99.0.0/24 via 198.51.100.1, AS_PATH 65010. */
const UPDATE_OK = message(2, `0000 0014 ${ATTRS} 18 0a6300`);

interface Notification {
  code: number;
  subcode: number;
  data: Buffer;
}

class RawPeer {
  readonly received: Buffer[] = [];
  private readonly splitter = new MessageSplitter();
  private waiters: (() => void)[] = [];
  closed = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      for (const m of this.splitter.push(chunk).messages) this.received.push(Buffer.from(m));
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static connect(local: string, port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: US, port, localAddress: local }, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits for the first received message of a type. */
  async next(type: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((m) => m[18] === type);
      if (i >= 0) return this.received.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`closed before a message of type ${type}; got types ${this.received.map((m) => m[18]).join(',')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message of type ${type} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async notification(timeoutMs = 5000): Promise<Notification> {
    const m = await this.next(3, timeoutMs);
    return { code: m[19]!, subcode: m[20]!, data: m.subarray(21) };
  }

  /** Our OPEN and KEEPALIVE exchange: the session is Established after this. */
  async establish(hold = 90, gracefulRestart = false): Promise<void> {
    await this.next(1);
    this.send(open({ hold, gracefulRestart }), KEEPALIVE);
    await this.next(4);
  }

  close(): void {
    this.socket.destroy();
  }
}

test('services/bgp answers malformed and unexpected input with the exact NOTIFICATION', { timeout: 30_000 }, async (t) => {
  const locals = Array.from({ length: 12 }, (_, i) => `127.0.21.${i + 2}`);
  const bgp: StartedBgp = await startTestBgp(
    { BGP_AS: '65000', BGP_ROUTER_ID: '10.255.21.1', BGP_LISTEN_ADDRESS: US, BGP_PORT: '0' },
    locals.map((address) => ({ address, 'remote-as': PEER_AS, passive: true, families: ['ipv4-unicast', 'vpn-ipv4'] })),
  );
  t.after(() => bgp.stop());
  const port = bgp.svc.bgpPort;
  let n = 0;
  const peer = async () => {
    const p = await RawPeer.connect(locals[n++]!, port);
    t.after(() => p.close());
    return p;
  };
  const expect = (got: Notification, code: number, subcode: number, data?: string) => {
    assert.deepEqual([got.code, got.subcode], [code, subcode]);
    if (data !== undefined) assert.equal(got.data.toString('hex'), data.replace(/\s+/g, ''));
  };

  await t.test('a connection from an address that is not a neighbour: Cease 6/5 Connection Rejected', async () => {
    const p = await RawPeer.connect('127.0.21.200', port);
    t.after(() => p.close());
    expect(await p.notification(), 6, 5, '');
  });

  await t.test('bad marker: 1/1 Connection Not Synchronized', async () => {
    const p = await peer();
    await p.next(1);
    const bad = KEEPALIVE.subarray();
    const copy = Buffer.from(bad);
    copy.fill(0, 0, 16);
    p.send(copy);
    expect(await p.notification(), 1, 1);
  });

  await t.test('bad OPEN version: 2/1 with the version we support', async () => {
    const p = await peer();
    await p.next(1);
    p.send(open({ version: 3 }));
    expect(await p.notification(), 2, 1, '0004');
  });

  await t.test('wrong peer AS: 2/2', async () => {
    const p = await peer();
    await p.next(1);
    p.send(open({ as: 65011 }));
    expect(await p.notification(), 2, 2);
  });

  await t.test('hold time 1: 2/6 Unacceptable Hold Time', async () => {
    const p = await peer();
    await p.next(1);
    p.send(open({ hold: 1 }));
    expect(await p.notification(), 2, 6);
  });

  await t.test('UPDATE errors: treat-as-withdraw keeps the session; a malformed attribute list resets it with 3/1', async () => {
    const p = await peer();
    const address = locals[n - 1]!;
    await p.establish();
    const rib = () => bgp.svc.speaker.peer(address).adjRibIn.table.count({ afi: 1, safi: 1 });
    p.send(UPDATE_OK);
    await eventually('route installed', () => rib() === 1, { intervalMs: 10 });
    // RFC 7606 §7.1: an ORIGIN of 5 withdraws the route and nothing else.
    p.send(message(2, `0000 0014 40 01 01 05 40 02 06 02 01 0000fdf2 40 03 04 c6336401 18 0a6300`));
    await eventually('route treated as withdrawn', () => rib() === 0, { intervalMs: 10 });
    assert.equal(bgp.svc.speaker.peer(address).state, 'Established');
    assert.equal(p.received.some((m) => m[18] === 3), false, 'no NOTIFICATION for treat-as-withdraw');
    // Total Path Attribute Length past the end of the message (RFC 4271 §6.3).
    p.send(message(2, `0000 00ff ${ATTRS}`));
    expect(await p.notification(), 3, 1);
  });

  await t.test('unrecognized well-known attribute: 3/2 with the attribute as data', async () => {
    const p = await peer();
    await p.establish();
    p.send(message(2, `0000 0017 ${ATTRS} 40 63 00 18 0a6300`));
    expect(await p.notification(), 3, 2, '406300');
  });

  await t.test('MP_REACH_NLRI whose next hop overruns it: 3/9 (RFC 7606 §7.11 session reset)', async () => {
    const p = await peer();
    await p.establish();
    // MP_REACH_NLRI for VPN-IPv4 whose next-hop length overruns the attribute.
    p.send(message(2, `0000 0019 ${ATTRS.replace('40 03 04 c6336401', '')} 80 0e 09 0001 80 20 000000000000`));
    const got = await p.notification();
    expect(got, 3, 9);
  });

  await t.test('ROUTE-REFRESH is answered by re-sending what we advertise; End-of-RIB follows the initial advertisement', async () => {
    const p = await peer();
    await p.establish();
    // Initial advertisement of an empty table: just the IPv4 unicast End-of-RIB (RFC 4724 §2).
    const eor = await p.next(2);
    assert.equal(eor.toString('hex'), message(2, '0000 0000').toString('hex'));
    await bgp.client.addPath({ path: { family: 1, rd: '', prefix: '10.77.0.0/16', labels: [], nextHop: '198.51.100.7', routeTargets: [], routeOrigins: [], extendedCommunities: [], communities: [], asPath: [], origin: 0, atomicAggregate: false, originatorId: '', clusterList: [], unknownAttributes: [], source: '', stale: false } });
    const first = await p.next(2);
    p.send(message(5, '0001 00 01'));
    const again = await p.next(2);
    assert.equal(again.toString('hex'), first.toString('hex'));
    assert.ok(again.toString('hex').endsWith('100a4d'), 'carries 10.77.0.0/16');
    await bgp.client.deletePath({ family: 1, rd: '', prefix: '10.77.0.0/16' });
  });

  await t.test('graceful restart (receiving side): routes kept stale across a TCP reset, swept at End-of-RIB', async () => {
    const address = locals[n]!;
    const rib = () => bgp.svc.speaker.peer(address).adjRibIn;
    const v4 = { afi: 1, safi: 1 };
    let p = await peer();
    await p.establish(90, true);
    p.send(UPDATE_OK, message(2, `0000 0014 ${ATTRS} 18 0a6400`)); // 10.99.0.0/24 and 10.100.0.0/24
    await eventually('two routes', () => rib().table.count(v4) === 2, { intervalMs: 10 });
    p.close(); // no NOTIFICATION: the peer is restarting
    await eventually('routes kept as stale', () => rib().staleCount(v4) === 2, { intervalMs: 10 });
    p = await RawPeer.connect(address, port);
    t.after(() => p.close());
    await p.establish(90, true);
    p.send(UPDATE_OK); // only 10.99.0.0/24 comes back
    await eventually('re-announced route fresh', () => rib().staleCount(v4) === 1, { intervalMs: 10 });
    assert.equal(rib().table.count(v4), 2);
    p.send(message(2, '0000 0000')); // End-of-RIB
    await eventually('stale route swept', () => rib().table.count(v4) === 1 && rib().staleCount(v4) === 0, { intervalMs: 10 });
  });

  await t.test('hold timer expiry: 4/0', async () => {
    const p = await peer();
    await p.establish(3);
    // Say nothing more: our hold timer (3 s, the smaller proposal) runs out.
    expect(await p.notification(6000), 4, 0);
    const status = (await bgp.peer(locals[n - 1]!)).status!;
    assert.deepEqual([status.lastNotificationSent?.code, status.lastNotificationSent?.subcode], [4, 0]);
    assert.ok(status.sent!.keepalive >= 2, 'we kept sending KEEPALIVEs every second');
  });
});


test('PE-CE on the wire: allowas-in counts our AS, max-prefix sends Cease 6/1 with AFI/SAFI/limit and holds the session down', { timeout: 30_000 }, async (t) => {
  const PE = '127.0.62.1';
  const CE = '127.0.62.2';
  const bgp: StartedBgp = await startTestBgp({ BGP_AS: '65000', BGP_ROUTER_ID: '10.255.62.1', BGP_LISTEN_ADDRESS: PE, BGP_PORT: '0' }, [
    { address: CE, 'remote-as': PEER_AS, passive: true, families: ['ipv4-unicast'], vrf: 'red', 'allowas-in': 1, 'max-prefix': { limit: 2, action: 'limit' } },
  ]);
  t.after(() => bgp.stop());
  await bgp.client.addVrf({ vrf: { name: 'red', rd: '65000:1', importRouteTargets: ['65000:100'], exportRouteTargets: ['65000:100'], labelMode: 1, label: 500, ipv6Label: 0, owner: '' } });
  const connectCe = async () => {
    const s = await new Promise<Socket>((resolve, reject) => {
      const c = connect({ host: PE, port: bgp.svc.bgpPort, localAddress: CE }, () => resolve(c));
      c.once('error', reject);
    });
    const p = new RawPeer(s);
    t.after(() => p.close());
    return p;
  };
  /** An UPDATE for 10.99.<n>.0/24 (each n) via 198.51.100.1 with the AS_PATH given (4-octet ASNs). */
  const update = (asns: number[], ...ns: number[]) => {
    const path = asns.map((a) => a.toString(16).padStart(8, '0')).join('');
    const asPath = `40 02 ${(2 + 4 * asns.length).toString(16).padStart(2, '0')} 02 ${asns.length.toString(16).padStart(2, '0')} ${path}`;
    const attrs = `40 01 01 00 ${asPath} 40 03 04 c6336401`;
    const len = hex(attrs).length.toString(16).padStart(4, '0');
    return message(2, `0000 ${len} ${attrs} ${ns.map((n) => `18 0a63${n.toString(16).padStart(2, '0')}`).join(' ')}`);
  };
  const counts = async () => {
    const s = (await bgp.peer(CE)).status!;
    const f = s.prefixes[0]!;
    return { received: f.received, accepted: f.accepted, warning: s.maxPrefixWarning, exceeded: s.maxPrefixExceeded };
  };

  const p = await connectCe();
  await p.establish();
  // A sister site through another PE: 65010 65000 65010, one occurrence of our AS, allowed.
  // Then two occurrences: a loop even with allowas-in 1 (counted as received, not accepted).
  p.send(update([PEER_AS, 65000, PEER_AS], 1), update([PEER_AS, 65000, 65000], 2));
  await eventually('one accepted, one refused', async () => {
    const c = await counts();
    return c.received === 2 && c.accepted === 1 ? c : undefined;
  });
  assert.deepEqual(await counts(), { received: 2, accepted: 1, warning: false, exceeded: false });
  // The warning mark (75 % of 2 = 2) with the second accepted route.
  p.send(update([PEER_AS], 3));
  await eventually('warning flagged', async () => (await counts()).warning);
  // Past the limit: RFC 4486 §4, Cease / Maximum Number of Prefixes Reached, AFI 1, SAFI 1, bound 2.
  p.send(update([PEER_AS], 4));
  const n = await p.notification();
  assert.deepEqual([n.code, n.subcode, n.data.toString('hex')], [6, 1, '0001' + '01' + '00000002']);
  await eventually('connection closed', () => p.closed);
  const held = (await bgp.peer(CE)).status!;
  assert.equal(held.maxPrefixExceeded, true);
  assert.equal(held.prefixes[0]!.accepted, 0, 'its routes are gone');
  // Held down: a new connection is refused (closed without an OPEN) until an operator resets it.
  const refused = await connectCe();
  await eventually('refused connection closed', () => refused.closed);
  assert.equal(refused.received.length, 0);
  await bgp.client.resetPeer({ address: CE, communication: '' });
  const again = await connectCe();
  await again.establish();
  assert.equal((await bgp.peer(CE)).status!.maxPrefixExceeded, false);
});

/** The graceful restart capability (code 64) of an OPEN message, decoded (RFC 4724 §3). */
function grCapability(openMessage: Buffer): { restarting: boolean; restartTime: number; families: { afi: number; safi: number; forwarding: boolean }[] } | undefined {
  const params = openMessage.subarray(29, 29 + openMessage[28]!);
  for (let o = 0; o + 2 <= params.length; o += 2 + params[o + 1]!) {
    if (params[o] !== 2) continue;
    const caps = params.subarray(o + 2, o + 2 + params[o + 1]!);
    for (let c = 0; c + 2 <= caps.length; c += 2 + caps[c + 1]!) {
      if (caps[c] !== 64) continue;
      const v = caps.subarray(c + 2, c + 2 + caps[c + 1]!);
      const families = [];
      for (let f = 2; f + 4 <= v.length; f += 4) families.push({ afi: v.readUInt16BE(f), safi: v[f + 2]!, forwarding: (v[f + 3]! & 0x80) !== 0 });
      return { restarting: (v[0]! & 0x80) !== 0, restartTime: v.readUInt16BE(0) & 0x0fff, families };
    }
  }
  return undefined;
}

test('restarting speaker (RFC 4724 §4.1): the Restart State bit and every family with its Forwarding State bit (to peers we dial); End-of-RIB held until CompleteRestart, then sent; later OPENs without the R bit', { timeout: 30_000 }, async (t) => {
  const [first, second, passive] = ['127.0.21.40', '127.0.21.41', '127.0.21.42'];
  // Peers we dial (they connect first here: ours are refused, nothing listens on their port 179).
  const bgp: StartedBgp = await startTestBgp(
    { BGP_AS: '65000', BGP_ROUTER_ID: '10.255.21.1', BGP_LISTEN_ADDRESS: US, BGP_PORT: '0', BGP_GRACEFUL_RESTART_TIME: '90', BGP_RESTART_DEFERRAL_SECONDS: '30' },
    [
      ...[first, second].map((address) => ({ address, 'remote-as': PEER_AS, families: ['ipv4-unicast', 'vpn-ipv4'], 'connect-retry-time': 60 })),
      { address: passive, 'remote-as': PEER_AS, passive: true, families: ['ipv4-unicast', 'vpn-ipv4'] },
    ],
  );
  t.after(() => bgp.stop());
  assert.equal((await bgp.client.getGlobal({})).restarting, true);
  const p = await RawPeer.connect(first, bgp.svc.bgpPort);
  t.after(() => p.close());
  const ours = await p.next(1);
  assert.deepEqual(grCapability(ours), {
    restarting: true,
    restartTime: 90,
    families: [
      { afi: 1, safi: 1, forwarding: true },
      { afi: 1, safi: 128, forwarding: true },
    ],
  });
  p.send(open({ gracefulRestart: true }), KEEPALIVE);
  await p.next(4);
  await assert.rejects(p.next(2, 1000), /no message of type 2/, 'no End-of-RIB while restarting');

  assert.deepEqual(await bgp.client.completeRestart({}), { wasRestarting: true });
  // The session negotiated IPv4 unicast only (the raw peer's OPEN): its End-of-RIB.
  assert.equal((await p.next(2)).toString('hex'), message(2, '0000 0000').toString('hex'));
  assert.equal((await bgp.client.getGlobal({})).restarting, false);
  assert.deepEqual(await bgp.client.completeRestart({}), { wasRestarting: false });

  // A peer we never dial gets no families: a helper waiting for us to reconnect would wait its whole Restart Time.
  const waiting = await RawPeer.connect(passive, bgp.svc.bgpPort);
  t.after(() => waiting.close());
  assert.deepEqual(grCapability(await waiting.next(1))?.families, []);

  const later = await RawPeer.connect(second, bgp.svc.bgpPort);
  t.after(() => later.close());
  assert.equal(grCapability(await later.next(1))?.restarting, false);
  later.send(open({ gracefulRestart: true }), KEEPALIVE);
  await later.next(4);
  assert.equal((await later.next(2)).toString('hex'), message(2, '0000 0000').toString('hex'), 'End-of-RIB at once');
});

test('LOCAL_PREF from an eBGP peer is ignored (RFC 4271 §5.1.5): not in its path, and our iBGP peers get the default 100, not its value', { timeout: 30_000 }, async (t) => {
  const [external, internal] = ['127.0.21.50', '127.0.21.51'];
  const bgp: StartedBgp = await startTestBgp({ BGP_AS: '65000', BGP_ROUTER_ID: '10.255.21.1', BGP_LISTEN_ADDRESS: US, BGP_PORT: '0' }, [
    { address: external, 'remote-as': PEER_AS, passive: true, families: ['ipv4-unicast'] },
    { address: internal, 'remote-as': 65000, passive: true, families: ['ipv4-unicast'], 'route-reflector-client': true },
  ]);
  t.after(() => bgp.stop());
  const ibgp = await RawPeer.connect(internal, bgp.svc.bgpPort);
  t.after(() => ibgp.close());
  await ibgp.next(1);
  ibgp.send(open({ as: 65000 }), KEEPALIVE);
  await ibgp.next(4);
  await ibgp.next(2); // End-of-RIB of the empty table
  const ebgp = await RawPeer.connect(external, bgp.svc.bgpPort);
  t.after(() => ebgp.close());
  await ebgp.establish();
  // 10.99.0.0/24 from AS 65010 with LOCAL_PREF 500 (40 05 04 000001f4).
  ebgp.send(message(2, `0000 001b ${ATTRS} 40 05 04 000001f4 18 0a6300`));
  const path = await eventually('the route in the eBGP peer\'s Adj-RIB-In', () => [...bgp.svc.speaker.peer(external).adjRibIn.table.paths({ afi: 1, safi: 1 })][0], { intervalMs: 10 });
  assert.equal(path.attributes.localPref, undefined, 'its LOCAL_PREF was ignored');
  const sent = await ibgp.next(2);
  const hexed = sent.toString('hex');
  assert.ok(hexed.includes('40050400000064'), `LOCAL_PREF 100 to the iBGP peer: ${hexed}`);
  assert.ok(!hexed.includes('400504000001f4'), 'not the eBGP peer\'s 500');
  assert.ok(hexed.endsWith('180a6300'), 'for 10.99.0.0/24');
});

test('a VPN-IPv4 route with a two-label stack, Multiple Labels not negotiated: treated as withdrawn (RFC 8277 §2.2, RFC 7606), whatever the RD type; the session and its other routes stay', { timeout: 30_000 }, async (t) => {
  const address = '127.0.21.60';
  const bgp: StartedBgp = await startTestBgp({ BGP_AS: '65000', BGP_ROUTER_ID: '10.255.21.1', BGP_LISTEN_ADDRESS: US, BGP_PORT: '0' }, [
    { address, 'remote-as': PEER_AS, passive: true, families: ['vpn-ipv4'] },
  ]);
  t.after(() => bgp.stop());
  const p = await RawPeer.connect(address, bgp.svc.bgpPort);
  t.after(() => p.close());
  await p.next(1);
  // OPEN: MP VPN-IPv4 (1/128) and 4-octet AS; no Multiple Labels capability (RFC 8277 §2.1, code 8).
  const caps = `02 06 01 04 0001 0080   02 06 41 04 ${PEER_AS.toString(16).padStart(8, '0')}`;
  p.send(message(1, `04 ${PEER_AS.toString(16).padStart(4, '0')} 005a 0a150009 ${(hex(caps).length).toString(16).padStart(2, '0')} ${caps}`), KEEPALIVE);
  await p.next(4);
  /** An UPDATE whose MP_REACH_NLRI (next hop RD 0 + 198.51.100.1) carries `nlri` (hex). */
  const reach = (nlri: string) => {
    const value = `0001 80 0c 0000000000000000 c6336401 00 ${nlri}`;
    const attrs = `40 01 01 00   40 02 06 02 01 0000fdf2   80 0e ${hex(value).length.toString(16).padStart(2, '0')} ${value}`;
    return message(2, `0000 ${hex(attrs).length.toString(16).padStart(4, '0')} ${attrs}`);
  };
  const vpnRoutes = () => bgp.svc.speaker.peer(address).adjRibIn.table.count({ afi: 1, safi: 128 });
  // One label (300, bottom of stack), RD 192.0.2.1:7 (type 1), 10.98.0.0/24: installed.
  p.send(reach('70 0012c1 0001c00002010007 0a6200'));
  await eventually('the one-label route installed', () => vpnRoutes() === 1, { intervalMs: 10 });
  // Two labels (100, then 200 with the S bit), RD 65000:1 (type 0) and RD 65010.1:5 as type 2, other prefixes: not installed.
  p.send(reach('88 000640 000c81 0000fde800000001 0a6300'), reach('88 000640 000c81 00020000fdf20005 0a6400'));
  // The same destination as the installed route, now with two labels: it is withdrawn, not kept.
  p.send(reach('88 000640 000c81 0001c00002010007 0a6200'));
  await eventually('the one-label route withdrawn by its two-label announcement', () => vpnRoutes() === 0, { intervalMs: 10 });
  // Still up: a one-label route after all that is installed, and no NOTIFICATION came.
  p.send(reach('70 0012c1 0000fde800000001 0a6500'));
  await eventually('a later one-label route installed', () => vpnRoutes() === 1, { intervalMs: 10 });
  assert.equal(p.received.some((m) => m[18] === 3), false, 'no NOTIFICATION');
  assert.equal(p.closed, false);
  assert.equal(bgp.svc.speaker.peer(address).state, 'Established');
});
