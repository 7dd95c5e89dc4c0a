// BFD with FRR's bfdd: proves the agent speaks BFD (RFC 5880 asynchronous
// mode, RFC 5881 single hop) and not a private hello. An OVS bridge
// (ovs driver) has a core port whose veth ends in a namespace where bfdd
// runs on the link's other address; the agent's packets travel through the
// bridge (punted and injected by OpenFlow) as a router's would. The session
// comes up on both sides (`show bfd peers` and the agent's link liveness);
// dropping bfdd's packets (a blackhole route in its namespace: the link
// and both ports stay up) takes it down on our side within the detection
// time, and FRR follows when told so; removing the drop brings both back.
// Names: namespace l3bf-frr, bridge l3bfb1, veth l3bf1core0.
// Run under flock /tmp/l3vpn-net.lock.
import { skipOrFail } from '../support/tools.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinkLivenessState, NodeDesiredState, NodeTransport } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { OvsDriver } from '../../services/agent/drivers/ovs/driver.js';
import { LinkMonitor } from '../../services/agent/liveness.js';
import { eventually } from '../support/eventually.js';
import { labMissing, type LabSpec, PacketLab } from './ovs-harness.js';

const BFDD = '/usr/lib/frr/bfdd';
const FRR_NS = 'l3bf-frr';
const SPEC: LabSpec = {
  nodes: [{ id: 'PE1', bridge: 'l3bfb1', portPrefix: 'l3bf1', interfaces: ['core0'] }],
  core: [],
  // The FRR router hangs off the core port the way a CE does off a CE port: its eth0 is the veth's other end.
  ces: [{ ns: FRR_NS, port: 'l3bf1core0', address: '10.0.9.1/31', gateway: '10.0.9.0', loopback: '10.9.9.9' }],
};
const TIMERS = { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 };

function missing(): string | undefined {
  return labMissing(['vtysh']) ?? (existsSync(BFDD) ? undefined : `${BFDD} is not installed (apt-get install -y frr)`);
}

interface FrrPeer {
  status: string;
  diagnostic?: string;
  'remote-diagnostic'?: string;
}

describe('BFD with FRR bfdd', { skip: skipOrFail(missing()) }, () => {
  let lab: PacketLab;
  let driver: OvsDriver;
  let monitor: LinkMonitor;
  let bfdd: ChildProcess | undefined;
  let dir: string;
  const vtysh = (cmd: string) => execFileSync('vtysh', ['--vty_socket', dir, '-c', cmd], { encoding: 'utf8' });
  const frrPeer = (): FrrPeer | undefined => (JSON.parse(vtysh('show bfd peers json')) as (FrrPeer & { peer: string })[]).find((p) => p.peer === '10.0.9.0');
  const ours = () => monitor.report().links.find((l) => l.interface === 'core0');
  const blackhole = (on: boolean) => execFileSync('ip', ['-n', FRR_NS, 'route', on ? 'add' : 'del', 'blackhole', '10.0.9.0/32']);

  before(async () => {
    const why = missing();
    if (why) throw new Error(why);
    lab = await PacketLab.start(SPEC);
    driver = await new OvsDriver({ target: lab.target(SPEC.nodes[0]!), portPrefix: 'l3bf1' }).connect();
    monitor = new LinkMonitor({ driver, bfd: TIMERS, onChange: () => undefined });
    const state = NodeDesiredState.fromPartial({
      node: 'PE1',
      generation: 1,
      transport: NodeTransport.fromPartial({
        coreLinks: [{ link: 'pe1-frr', interface: 'core0', address: '10.0.9.0/31', neighborNode: 'frr', neighborInterface: 'eth0', neighborAddress: '10.0.9.1' }],
      }),
    });
    await monitor.watch(state);

    // bfdd alone (no zebra: single hop by local address), as user frr (FRR refuses root outside group frrvty).
    dir = mkdtempSync(join(tmpdir(), 'l3bf-'));
    writeFileSync(
      join(dir, 'bfdd.conf'),
      ['bfd', ' peer 10.0.9.0 local-address 10.0.9.1', '  receive-interval 300', '  transmit-interval 300', '  detect-multiplier 3', '  no shutdown', ' exit', 'exit', ''].join('\n'),
    );
    const uid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
    chownSync(join(dir, 'bfdd.conf'), uid, gid);
    bfdd = spawn(
      'ip',
      ['netns', 'exec', FRR_NS, BFDD, '-f', join(dir, 'bfdd.conf'), '--vty_socket', dir, '-P', '0', '-i', join(dir, 'bfdd.pid'), '--bfdctl', join(dir, 'bfdd.sock'), '-z', join(dir, 'zserv.api'), '-u', 'frr', '-g', 'frr', '--log', `file:${join(dir, 'bfdd.log')}`],
      { stdio: 'ignore' },
    );
    await eventually('bfdd to answer on its vty', async () => existsSync(join(dir, 'bfdd.vty')) && frrPeer() !== undefined);
  });

  after(async () => {
    monitor?.close();
    await driver?.close();
    if (bfdd && bfdd.exitCode === null) {
      const exited = new Promise((r) => bfdd!.once('exit', r));
      bfdd.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (bfdd.exitCode === null && bfdd.signalCode === null) bfdd.kill('SIGKILL');
    }
    await lab?.stop();
    if (dir) {
      if (process.env.TEST_KEEP_LOGS) console.log(readFileSync(join(dir, 'bfdd.log'), 'utf8'));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the session comes up on both sides', async () => {
    await eventually('FRR to show the session up', async () => frrPeer()?.status === 'up', 30_000);
    await eventually('our link liveness to be up by BFD', async () => {
      const l = ours();
      return l?.state === LinkLivenessState.LINK_LIVENESS_STATE_UP && l.bfd;
    });
    // FRR agreed to our fast timers: its view of our intervals is what we sent once Up (after the Poll Sequence).
    const show = vtysh('show bfd peer 10.0.9.0');
    assert.match(show, /Remote timers:[\s\S]*Receive interval: 300ms[\s\S]*Transmission interval: 300ms/);
  });

  test("dropping FRR's packets takes the session down within the detection time; removing the drop brings it back", async () => {
    await eventually('FRR up', async () => frrPeer()?.status === 'up', 30_000);
    blackhole(true);
    try {
      const down = await eventually('our side to detect the loss', async () => {
        const l = ours();
        return l?.state === LinkLivenessState.LINK_LIVENESS_STATE_DOWN && l;
      });
      assert.match(down.reason, /control detection time expired/);
      // The port never went down: BFD alone saw it.
      assert.equal(monitor.report().ports.find((p) => p.interface === 'core0')?.up, true);
      // Our Down reaches FRR (its packets are dropped, ours still arrive): it follows, naming us.
      // (Down, then Init on our next Down packet: it cannot come Up while we hear nothing from it.)
      await eventually('FRR to leave Up', async () => {
        const p = frrPeer();
        return p !== undefined && p.status !== 'up' && p['remote-diagnostic'] === 'control detection time expired';
      });
    } finally {
      blackhole(false);
    }
    await eventually('FRR up again', async () => frrPeer()?.status === 'up', 30_000);
    await eventually('our side up again', async () => ours()?.state === LinkLivenessState.LINK_LIVENESS_STATE_UP);
  });
});
