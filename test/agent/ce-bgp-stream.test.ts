// The PE-CE BGP relay without a switch: the listener helper (run here on a
// loopback address and a free port instead of a punt namespace's port 179)
// and the agent's unix-socket relay, against the fake controller's
// RelayCeSession, and the listener's close command. The packet path
// through Open vSwitch is ce-bgp-relay.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import type { NodeDesiredState } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { Agent } from '../../services/agent/agent.js';
import { ControllerLink } from '../../services/agent/controller-link.js';
import { CeBgpRelay, isListed } from '../../services/agent/ce-bgp/relay.js';
import { CLOSE_WAIT_MS } from '../../services/agent/ce-bgp/listener.js';
import { SoftDriver } from '../../services/agent/drivers/soft.js';
import { waitUntil } from '../../services/lab/processes.js';
import { FakeController } from './fake-controller.js';

const LISTENER = fileURLToPath(new URL('../../services/agent/ce-bgp/listener.js', import.meta.url));

function state(sessions: { ceAddress: string; peAddress: string }[]): NodeDesiredState {
  return {
    node: 'PE1',
    generation: 1,
    vrfs: [{ name: 'red', tableId: 1001, rd: '65000:1', importRouteTargets: [], exportRouteTargets: [], vpn: 'red', interfaces: [{ name: 'cust0', vlan: 100, addresses: ['127.0.0.1/8'], bgpSessions: sessions }] }],
    vrfRoutes: [],
    lfibEntries: [],
    transportPaths: [],
  } as unknown as NodeDesiredState;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

test('isListed: the VRF, interface, VLAN and (CE, PE) pair must all match; addresses compare canonically', () => {
  const s = state([{ ceAddress: '2001:db8::2', peAddress: '2001:db8::1' }]);
  const open = { node: 'PE1', vrf: 'red', interface: 'cust0', vlan: 100, ceAddress: '2001:0db8::0002', peAddress: '2001:db8::1' };
  assert.ok(isListed(s.vrfs, open));
  assert.ok(!isListed(s.vrfs, { ...open, vlan: 0 }));
  assert.ok(!isListed(s.vrfs, { ...open, vrf: 'blue' }));
  assert.ok(!isListed(s.vrfs, { ...open, interface: 'cust1' }));
  assert.ok(!isListed(s.vrfs, { ...open, ceAddress: '2001:db8::3' }));
  assert.ok(!isListed(s.vrfs, { ...open, peAddress: '2001:db8::2' }));
  assert.ok(!isListed([], open));
});

test('relay: a listener\u2019s connection becomes a RelayCeSession (open, then bytes both ways with backpressure); either end closing ends the other; an unlisted or delisted session is cut', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'l3vpn-ce-relay-'));
  const controller = new FakeController('PE1', 'tok');
  await controller.start();
  let desired = state([{ ceAddress: '127.0.0.1', peAddress: '127.0.0.1' }]);
  const agent = new Agent({ node: 'PE1', driver: new SoftDriver() });
  const link = new ControllerLink({ agent, address: `127.0.0.1:${controller.port}`, credentials: credentials.createInsecure(), token: 'tok', resyncMs: 60_000 });
  const socketPath = join(dir, 'relay.sock');
  const relay = await new CeBgpRelay({ socketPath, node: 'PE1', vrfs: () => desired.vrfs, open: () => link.relayCeSession(), pruneMs: 100 }).start();
  const port = await freePort();
  const listener = spawn(process.execPath, [LISTENER, '--socket', socketPath, '--vrf', 'red', '--interface', 'cust0', '--vlan', '100', '--listen', '127.0.0.1', '--port', String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const sockets: Socket[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      listener.stdout!.on('data', (b: Buffer) => b.toString().includes('listening') && resolve());
      listener.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
    });
    const dial = (allowHalfOpen = false) => {
      const s = connect({ port, host: '127.0.0.1', allowHalfOpen });
      sockets.push(s);
      let got = Buffer.alloc(0);
      let closed = false;
      let ended = false;
      let reset = false;
      s.on('data', (d) => (got = Buffer.concat([got, d])));
      s.on('end', () => (ended = true));
      s.on('close', () => (closed = true));
      s.on('error', (err: NodeJS.ErrnoException) => (reset ||= err.code === 'ECONNRESET'));
      return { s, got: () => got, closed: () => closed, ended: () => ended, reset: () => reset };
    };
    const answers: string[] = [];
    createInterface({ input: listener.stdout! }).on('line', (l) => answers.push(l));

    // Open first, with the node's credential (the fake controller checks it), then the CE's bytes and the answer.
    const a = dial();
    a.s.write('hello');
    await waitUntil('the answer', () => a.got().toString() === 'echo:hello', 5000, 20);
    assert.deepEqual(controller.ceSessions[0]!.open, { node: 'PE1', vrf: 'red', interface: 'cust0', vlan: 100, ceAddress: '127.0.0.1', peAddress: '127.0.0.1' });

    // 8 MB each way while the CE reads nothing for a while (each leg paced by the next): nothing lost, nothing reordered.
    controller.ceReply = (d) => d;
    const b = dial();
    b.s.pause();
    const big = Buffer.alloc(8 << 20, 7);
    b.s.write(big);
    await waitUntil('8 MB at the controller', () => controller.ceSessions[1]?.received.length === big.length, 20_000, 20);
    b.s.resume();
    await waitUntil('8 MB back at the CE', () => b.got().length === big.length, 20_000, 20);
    assert.ok(b.got().every((x) => x === 7));

    // The CE closes: the stream ends. The controller ends a stream: the CE's connection closes.
    a.s.end();
    await waitUntil('stream 0 ended', () => controller.ceSessions[0]!.ended, 5000, 20);
    controller.ceSessions[1]!.call.end();
    await waitUntil('CE connection 1 closed', () => b.closed(), 5000, 20);

    // Delisted: cut within the prune period.
    const c = dial();
    c.s.write('x');
    await waitUntil('stream 2 open', () => controller.ceSessions.length === 3, 5000, 20);
    desired = state([]);
    await waitUntil('the delisted session cut', () => c.closed() && controller.ceSessions[2]!.ended, 5000, 20);

    // Not listed at all: closed without a stream.
    const d = dial();
    d.s.write('x');
    await waitUntil('the unlisted connection closed', () => d.closed(), 5000, 20);
    assert.equal(controller.ceSessions.length, 3);
    assert.ok(relay.refused >= 1);

    // "close <ce> <pe>" (the agent removing a session): the CE gets our FIN, and the answer comes once the CE has closed its side.
    desired = state([{ ceAddress: '127.0.0.1', peAddress: '127.0.0.1' }]);
    const e = dial();
    e.s.write('y');
    await waitUntil('stream 3 open', () => controller.ceSessions.length === 4, 5000, 20);
    listener.stdin!.write('close 127.0.0.1 127.0.0.1\n');
    await waitUntil('the close answered', () => answers.includes('closed 127.0.0.1 127.0.0.1'), 5000, 10);
    assert.ok(e.closed() && e.ended() && !e.reset(), 'the CE saw an orderly end of stream before the answer');
    // A CE that keeps its side open: given up on after CLOSE_WAIT_MS, and only then answered.
    const f = dial(true);
    f.s.write('z');
    await waitUntil('stream 4 open', () => controller.ceSessions.length === 5, 5000, 20);
    answers.length = 0;
    const asked = Date.now();
    listener.stdin!.write('close 127.0.0.1 127.0.0.1\n');
    await waitUntil('the close answered', () => answers.includes('closed 127.0.0.1 127.0.0.1'), 5000, 10);
    assert.ok(Date.now() - asked >= CLOSE_WAIT_MS - 50, `answered after ${Date.now() - asked} ms, before the CE's grace`);
    assert.ok(f.ended(), 'our FIN reached the CE');
    // A session with no connection: answered at once.
    answers.length = 0;
    listener.stdin!.write('close 127.0.0.9 127.0.0.1\n');
    await waitUntil('the empty close answered', () => answers.includes('closed 127.0.0.9 127.0.0.1'), 1000, 10);

    // The agent goes (the listener's stdin closes): the listener goes with it.
    const exited = new Promise((r) => listener.once('exit', r));
    listener.stdin!.end();
    await exited;
  } finally {
    for (const s of sockets) s.destroy();
    listener.kill();
    await relay.close();
    await link.stop();
    controller.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
