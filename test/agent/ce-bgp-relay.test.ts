// PE-CE BGP relayed by the ovs agent, with real packets (BGP as a service:
// the CE peers with its PE's address and changes nothing). The two-VPN lab
// (PE1 -> P -> PE2); red is dual stack with BGP sessions on PE1 over IPv4
// and IPv6, blue uses the same addresses on another port with its own
// session. PE1's agent follows a fake controller over ControllerLink; the
// CEs open TCP connections to port 179 of their gateway, and the fake
// controller must see each as a RelayCeSession naming the right VRF and
// attachment, with bytes both ways. Names: l3ov-g* namespaces, l3ovg*
// bridges and veths, l3bgp-<owner>-* punt namespaces.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { computeDesiredStates } from '../../services/common/desired-state/index.js';
import type { DesiredStateInput } from '../../services/common/desired-state/types.js';
import type { CeBgpSession, NodeDesiredState } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { Agent } from '../../services/agent/agent.js';
import { ControllerLink, type LinkEvent } from '../../services/agent/controller-link.js';
import { CeBgpRelay } from '../../services/agent/ce-bgp/relay.js';
import { OvsDriver } from '../../services/agent/drivers/ovs/driver.js';
import { waitUntil } from '../../services/lab/processes.js';
import { simulateSelectedRoutes } from '../support/simulated-routes.js';
import { skipOrFail } from '../support/tools.js';
import { FakeController } from './fake-controller.js';
import { labMissing, type LabSpec, PacketLab } from './ovs-harness.js';
import { twoVpnNetwork } from './two-vpn-network.js';

const v6 = (n: number, loopback: number) => ({ address: `2001:db8:${n}::2/64`, gateway: `2001:db8:${n}::1`, loopback: `2001:db8:a${n}::${loopback}` });

const SPEC: LabSpec = {
  nodes: [
    { id: 'PE1', bridge: 'l3ovgb1', portPrefix: 'l3ovg1', interfaces: ['core0', 'red0', 'blu0'] },
    { id: 'P', bridge: 'l3ovgbp', portPrefix: 'l3ovgp', interfaces: ['core0', 'core1'] },
    { id: 'PE2', bridge: 'l3ovgb2', portPrefix: 'l3ovg2', interfaces: ['core0', 'red0', 'blu0'] },
  ],
  core: [
    ['l3ovg1core0', 'l3ovgpcore0'],
    ['l3ovgpcore1', 'l3ovg2core0'],
  ],
  ces: [
    { ns: 'l3ov-g1r', port: 'l3ovg1red0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.1', ipv6: v6(1, 1) },
    { ns: 'l3ov-g2r', port: 'l3ovg2red0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.1', ipv6: v6(2, 1) },
    { ns: 'l3ov-g1b', port: 'l3ovg1blu0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.2' },
    { ns: 'l3ov-g2b', port: 'l3ovg2blu0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.2' },
  ],
};

/** twoVpnNetwork with red dual stack (an IPv6 label beside each VRF label). */
function input(): DesiredStateInput {
  const net = twoVpnNetwork();
  const [red, blue] = net.vpns as [DesiredStateInput['vpns'][number], DesiredStateInput['vpns'][number]];
  const v6site = (id: string, pe: string, n: number) => ({ id, pe, interface: 'red0', peAddress: `2001:db8:${n}::1/64`, ceAddress: `2001:db8:${n}::2`, staticPrefixes: [`2001:db8:a${n}::/48`] });
  return {
    ...net,
    vpns: [{ ...red, vrfs: red.vrfs.map((v) => ({ ...v, vrfLabelIpv6: v.vrfLabel! + 2 })), sites: [...red.sites, v6site('red-a:v6', 'PE1', 1), v6site('red-b:v6', 'PE2', 2)] }, blue],
  };
}

const RED_V4: CeBgpSession = { ceAddress: '192.168.1.2', peAddress: '192.168.1.1' };
const RED_V6: CeBgpSession = { ceAddress: '2001:db8:1::2', peAddress: '2001:db8:1::1' };
const BLUE_V4: CeBgpSession = { ceAddress: '192.168.1.2', peAddress: '192.168.1.1' };

/** PE1's desired state with these sessions on red0 (red) and blu0 (blue), as generation `generation`. */
function pe1State(base: NodeDesiredState, generation: number, red: CeBgpSession[], blue: CeBgpSession[]): NodeDesiredState {
  const state = structuredClone(base);
  state.generation = generation;
  for (const v of state.vrfs) {
    for (const i of v.interfaces) {
      if (v.name === 'red' && i.name === 'red0') i.bgpSessions = red;
      if (v.name === 'blue' && i.name === 'blu0') i.bgpSessions = blue;
    }
  }
  return state;
}

// A CE's BGP speaker, as far as TCP goes: connects (from `source` when given), sends its message, prints what comes back.
const CLIENT = `
const net = require('node:net');
const [host, port, message, source] = process.argv.slice(2);
const s = net.connect({ host, port: Number(port), ...(source ? { localAddress: source } : {}) });
let total = 0;
s.setTimeout(Number(process.env.CONNECT_TIMEOUT_MS || 0) || 0, () => { process.stdout.write('TIMEOUT\\n'); process.exit(0); });
s.on('connect', () => {
  s.setTimeout(0);
  process.stdout.write('CONNECTED\\n');
  s.write(message.startsWith('bulk:') ? Buffer.alloc(Number(message.slice(5)), 120) : message);
});
s.on('data', (d) => {
  total += d.length;
  process.stdout.write(message.startsWith('bulk:') ? 'TOTAL ' + total + '\\n' : 'DATA ' + d.toString() + '\\n');
});
process.stdin.on('data', () => s.end());
s.on('close', () => { process.stdout.write('CLOSED\\n'); process.exit(0); });
s.on('error', (e) => process.stdout.write('ERROR ' + e.code + '\\n'));
`;

interface Client {
  child: ChildProcess;
  out: () => string;
}

const skip = skipOrFail(labMissing());
let lab: PacketLab;
let dir: string;
const clients: ChildProcess[] = [];

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'l3vpn-ce-bgp-'));
  writeFileSync(join(dir, 'client.cjs'), CLIENT);
  lab = await PacketLab.start(SPEC);
});

after(async () => {
  for (const c of clients) if (c.exitCode === null) c.kill('SIGKILL');
  await lab?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function client(ns: string, host: string, port: number, message: string, o: { source?: string; connectTimeoutMs?: number } = {}): Client {
  const args = ['netns', 'exec', ns, process.execPath, join(dir, 'client.cjs'), host, String(port), message, ...(o.source ? [o.source] : [])];
  const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, CONNECT_TIMEOUT_MS: String(o.connectTimeoutMs ?? 0) } });
  clients.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  return { child, out: () => out };
}

/** This lab's agents' punt namespace tag (per bridge): other agents on the machine have their own. */
const ownerTag = () => createHash('sha256').update(`l3ovgb1\u0000${lab.netns}`).digest('hex').slice(0, 6);
const punts = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(`l3bgp-${ownerTag()}-`));

test('PE-CE BGP over the ovs driver: listed sessions (IPv4, IPv6, two VRFs with the same addresses) reach the controller with bytes both ways; nothing else does; removing them closes the connections and the punts', { skip }, async () => {
  const net = input();
  const states = computeDesiredStates(net, simulateSelectedRoutes(net), { generation: 1 });
  const base = states.get('PE1')!.state;
  const controller = new FakeController('PE1', 'pe1-token');
  await controller.start();
  const drivers: OvsDriver[] = [];
  let link: ControllerLink | undefined;
  let relay: CeBgpRelay | undefined;
  let pe1: OvsDriver | undefined;
  /** Generations the link has handled (applied, reported). */
  const handled: number[] = [];
  const onEvent = (e: LinkEvent) => void ((e.type === 'snapshot' || e.type === 'delta') && handled.push(e.generation));
  try {
    for (const n of SPEC.nodes.slice(1)) {
      const driver = await new OvsDriver({ target: lab.target(n), portPrefix: n.portPrefix }).connect();
      drivers.push(driver);
      const r = await new Agent({ node: n.id, driver }).applySnapshot(states.get(n.id)!.state);
      assert.equal(r.failures, 0, n.id);
    }
    const socketPath = join(dir, 'ce-bgp.sock');
    pe1 = await new OvsDriver({
      target: lab.target(SPEC.nodes[0]!),
      portPrefix: 'l3ovg1',
      ceBgp: { bridge: 'l3ovgb1', socketPath, switchNetns: lab.netns, vsctl: ['ovs-vsctl', `--db=unix:${lab.ovs.dir}/db.sock`], env: lab.ovs.env },
    }).connect();
    drivers.push(pe1);
    const agent = new Agent({ node: 'PE1', driver: pe1 });
    link = new ControllerLink({ agent, address: `127.0.0.1:${controller.port}`, credentials: credentials.createInsecure(), token: 'pe1-token', resyncMs: 60_000, backoff: { initialMs: 20, maxMs: 200 }, onEvent });
    relay = await new CeBgpRelay({ socketPath, node: 'PE1', vrfs: () => agent.vrfs(), open: () => link!.relayCeSession(), pruneMs: 200 }).start();
    controller.publish(pe1State(base, 1, [RED_V4, RED_V6], [BLUE_V4]));
    link.start();
    await waitUntil('PE1 applying generation 1', () => handled.includes(1), 30_000, 50);
    assert.deepEqual(agent.report().failures, []);
    assert.equal(punts().length, 2, `a punt namespace per attachment with sessions: ${punts().join(', ')}`);

    // Customer traffic still flows through the VRF beside the punt.
    await waitUntil('red CE1 reaching red CE2', () => lab.ping('l3ov-g1r', '10.2.0.1', 1), 15_000, 100);
    await waitUntil('red CE1 reaching behind red CE2 over IPv6', () => lab.ping('l3ov-g1r', '2001:db8:a2::1', 1), 15_000, 100);
    await waitUntil('blue CE1 reaching blue CE2', () => lab.ping('l3ov-g1b', '10.2.0.2', 1), 15_000, 100);

    // red over IPv4: the open names red's attachment, the CE's bytes reach the controller and its answer the CE.
    const redV4 = client('l3ov-g1r', '192.168.1.1', 179, 'OPEN-red-v4');
    await waitUntil('red CE1 getting the controller\u2019s answer over IPv4', () => redV4.out().includes('DATA echo:OPEN-red-v4'), 15_000, 50);
    const open = (i: number) => controller.ceSessions[i]?.open;
    assert.deepEqual(open(0), { node: 'PE1', vrf: 'red', interface: 'red0', vlan: 0, ceAddress: '192.168.1.2', peAddress: '192.168.1.1' });
    assert.equal(controller.ceSessions[0]!.received.toString(), 'OPEN-red-v4');

    // red over IPv6.
    const redV6 = client('l3ov-g1r', '2001:db8:1::1', 179, 'OPEN-red-v6');
    await waitUntil('red CE1 getting the answer over IPv6', () => redV6.out().includes('DATA echo:OPEN-red-v6'), 15_000, 50);
    assert.deepEqual(open(1), { node: 'PE1', vrf: 'red', interface: 'red0', vlan: 0, ceAddress: '2001:db8:1::2', peAddress: '2001:db8:1::1' });

    // blue: the same addresses on another port reach blue's session, never red's.
    const blue = client('l3ov-g1b', '192.168.1.1', 179, 'OPEN-blue');
    await waitUntil('blue CE1 getting the answer', () => blue.out().includes('DATA echo:OPEN-blue'), 15_000, 50);
    assert.deepEqual(open(2), { node: 'PE1', vrf: 'blue', interface: 'blu0', vlan: 0, ceAddress: '192.168.1.2', peAddress: '192.168.1.1' });
    assert.equal(controller.ceSessions[2]!.received.toString(), 'OPEN-blue');

    // Bulk both ways (backpressure on each leg): 2 MB from the CE, echoed back whole and in order.
    controller.ceReply = (data) => data;
    const bulk = client('l3ov-g1r', '192.168.1.1', 179, 'bulk:2000000');
    await waitUntil('2 MB back at the CE', () => bulk.out().includes('TOTAL 2000000\n'), 60_000, 100);
    assert.equal(controller.ceSessions[3]!.received.length, 2_000_000);
    assert.ok(controller.ceSessions[3]!.received.every((b) => b === 120));
    controller.ceReply = (data) => Buffer.concat([Buffer.from('echo:'), data]);

    // Not listed: another source address of the CE, another port of the PE address: never relayed (nor answered).
    const sessionsBefore = controller.ceSessions.length;
    const otherSource = client('l3ov-g1r', '192.168.1.1', 179, 'x', { source: '10.1.0.1', connectTimeoutMs: 3000 });
    const otherPort = client('l3ov-g1r', '192.168.1.1', 180, 'x', { connectTimeoutMs: 3000 });
    await waitUntil('the unlisted connections timing out', () => otherSource.out().includes('TIMEOUT') && otherPort.out().includes('TIMEOUT'), 15_000, 100);
    assert.ok(!otherSource.out().includes('CONNECTED') && !otherPort.out().includes('CONNECTED'), `${otherSource.out()} | ${otherPort.out()}`);
    assert.equal(controller.ceSessions.length, sessionsBefore, 'no stream for unlisted connections');

    // A listener handing over a session the desired state does not list (blue's CE on red's attachment over IPv6): refused by the agent.
    const refusedBefore = relay.refused;
    await new Promise<void>((resolve) => {
      const s = connect(socketPath, () => s.write(`${JSON.stringify({ vrf: 'blue', interface: 'blu0', vlan: 0, ce: '2001:db8:1::2', pe: '2001:db8:1::1' })}\nhello`));
      s.on('close', () => resolve());
      s.on('error', () => undefined);
    });
    assert.equal(relay.refused, refusedBefore + 1);
    assert.equal(controller.ceSessions.length, sessionsBefore);

    // The CE closing ends the stream.
    bulk.child.stdin!.write('x');
    await waitUntil('the stream of the closed connection ending', () => controller.ceSessions[3]!.ended, 10_000, 50);

    // red's sessions removed: its connections close, its punt goes; blue's stays and still works.
    controller.publish(pe1State(base, 2, [], [BLUE_V4]));
    await waitUntil('PE1 applying generation 2', () => handled.includes(2), 30_000, 50);
    await waitUntil('red CE1\u2019s connections closed', () => redV4.out().includes('CLOSED') && redV6.out().includes('CLOSED'), 10_000, 50);
    await waitUntil('the streams of red\u2019s sessions ended', () => controller.ceSessions[0]!.ended && controller.ceSessions[1]!.ended, 10_000, 50);
    assert.equal(punts().length, 1, punts().join(', '));
    assert.ok(!blue.out().includes('CLOSED'), 'blue\u2019s session is untouched');
    assert.equal(lab.ovs.dumpFlows('l3ovgb1', 'table=0,tcp,tp_dst=179').length, 1, lab.ovs.dumpFlows('l3ovgb1', 'table=0').join('\n'));
    const redAgain = client('l3ov-g1r', '192.168.1.1', 179, 'again', { connectTimeoutMs: 3000 });
    await waitUntil('red\u2019s connection no longer accepted', () => redAgain.out().includes('TIMEOUT') || redAgain.out().includes('CLOSED'), 15_000, 100);
    assert.ok(!redAgain.out().includes('DATA'), redAgain.out());
    assert.ok(lab.ping('l3ov-g1r', '10.2.0.1'), 'red traffic after its punt went');
    assert.deepEqual(agent.report().failures, []);

    // A restarted agent adopts blue's punt (a listener of its own, the namespace kept) and relays again;
    // a namespace of its owner that no entry wants (a previous run's) is removed.
    const owner = ownerTag();
    assert.ok(punts()[0]!.startsWith(`l3bgp-${owner}-`), punts()[0]);
    execFileSync('ip', ['netns', 'add', `l3bgp-${owner}-0123456789a`]);
    await link.stop();
    handled.length = 0;
    await pe1.close();
    await waitUntil('blue\u2019s connection closed with the old agent\u2019s listener', () => blue.out().includes('CLOSED'), 10_000, 50);
    pe1 = await new OvsDriver({
      target: lab.target(SPEC.nodes[0]!),
      portPrefix: 'l3ovg1',
      ceBgp: { bridge: 'l3ovgb1', socketPath, switchNetns: lab.netns, vsctl: ['ovs-vsctl', `--db=unix:${lab.ovs.dir}/db.sock`], env: lab.ovs.env },
    }).connect();
    drivers.push(pe1);
    const agent2 = new Agent({ node: 'PE1', driver: pe1 });
    await relay.close();
    link = new ControllerLink({ agent: agent2, address: `127.0.0.1:${controller.port}`, credentials: credentials.createInsecure(), token: 'pe1-token', resyncMs: 60_000, backoff: { initialMs: 20, maxMs: 200 }, onEvent });
    relay = await new CeBgpRelay({ socketPath, node: 'PE1', vrfs: () => agent2.vrfs(), open: () => link!.relayCeSession(), pruneMs: 200 }).start();
    link.start();
    await waitUntil('the restarted agent applying generation 2', () => handled.includes(2), 30_000, 50);
    assert.deepEqual(agent2.report().failures, []);
    assert.equal(punts().length, 1, `the stale namespace swept: ${punts().join(', ')}`);
    const blue2 = client('l3ov-g1b', '192.168.1.1', 179, 'OPEN-blue-2');
    await waitUntil('blue CE1 relayed by the restarted agent', () => blue2.out().includes('DATA echo:OPEN-blue-2'), 15_000, 50);
    assert.equal(controller.ceSessions.at(-1)!.open?.vrf, 'blue');

    // Every session removed: no punt namespace, no punt port, no punt flow left.
    controller.publish(pe1State(base, 3, [], []));
    await waitUntil('PE1 applying generation 3', () => handled.includes(3), 30_000, 50);
    await waitUntil('blue\u2019s connection closed', () => blue2.out().includes('CLOSED'), 10_000, 50);
    assert.deepEqual(punts(), []);
    assert.ok(!lab.ovs.vsctl('list-ports', 'l3ovgb1').includes('l3b'), lab.ovs.vsctl('list-ports', 'l3ovgb1'));
    assert.equal(lab.ovs.dumpFlows('l3ovgb1', 'table=0,tcp').length, 0);
    assert.ok(lab.ping('l3ov-g1b', '10.2.0.2'), 'blue traffic after its punt went');
  } finally {
    await link?.stop();
    await relay?.close();
    await pe1?.removePunts().catch(() => undefined);
    for (const d of drivers) await d.close();
    controller.stop();
  }
});
