import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import type { CeSessionOpen, NodeDesiredState } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { ApiError } from '../../common/grpc/errors.js';
import { createLogger } from '../../common/logger.js';
import { relayCeSession, type AgentSide, type CeSessionRelayDeps, type SpeakerSide } from './ce-session-relay.js';
import { desiredSession } from './agent-api.js';

const log = createLogger('test', 'silent');

/** One end of a gRPC duplex call: records what is written to it; `accept` decides what write() returns (backpressure). */
class FakeStream extends EventEmitter {
  written: unknown[] = [];
  ended = false;
  paused = false;
  cancelled = false;
  accept = true;
  errors: (Error & { code?: number })[] = [];
  constructor() {
    super();
    this.on('error', (err: Error & { code?: number }) => this.errors.push(err));
  }
  write(frame: unknown): boolean {
    this.written.push(frame);
    return this.accept;
  }
  end(): void {
    this.ended = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  cancel(): void {
    this.cancelled = true;
  }
}

const open: CeSessionOpen = { node: 'pe1', vrf: 'red', interface: 'ce0', vlan: 10, ceAddress: '10.1.1.2', peAddress: '10.1.1.1' };
const tick = () => new Promise((r) => setImmediate(r));

function setup(overrides: Partial<CeSessionRelayDeps> = {}) {
  const agent = new FakeStream();
  const speakers: FakeStream[] = [];
  const denied: string[] = [];
  const deps: CeSessionRelayDeps = {
    authorise: async (node) => {
      if (node !== undefined && node !== 'pe1') throw new ApiError(status.PERMISSION_DENIED, `this agent is node 'pe1', not '${node}'`);
    },
    sessionOf: async (o) => (o.ceAddress === '10.1.1.2' && o.vrf === 'red' ? { vpn: 'red' } : undefined),
    denied: (_o, reason) => denied.push(reason),
    openSpeaker: () => {
      const s = new FakeStream();
      speakers.push(s);
      return s as unknown as SpeakerSide;
    },
    speakerVrf: (vpn, node) => `${vpn}@${node}`,
    log,
    ...overrides,
  };
  const done = relayCeSession(agent as unknown as AgentSide, deps);
  return { agent, speakers, denied, done };
}

test("relays a session of the node's desired state: open names the speaker's VRF and addresses, then bytes both ways", async () => {
  const { agent, speakers, done } = setup();
  agent.emit('data', { frame: { $case: 'open', value: open } });
  await done;
  assert.equal(speakers.length, 1);
  const speaker = speakers[0]!;
  assert.deepEqual(speaker.written[0], { frame: { $case: 'open', value: { vrf: 'red@pe1', peerAddress: '10.1.1.2', localAddress: '10.1.1.1' } } });
  assert.equal(agent.paused, false, 'the agent stream flows once the relay is up');
  agent.emit('data', { frame: { $case: 'data', value: Buffer.from('OPEN') } });
  assert.deepEqual(speaker.written[1], { frame: { $case: 'data', value: Buffer.from('OPEN') } });
  speaker.emit('data', { data: Buffer.from('KEEPALIVE') });
  assert.deepEqual(agent.written, [{ data: Buffer.from('KEEPALIVE') }]);
  // The CE closing its TCP connection ends the speaker's stream, and the agent's.
  agent.emit('end');
  assert.equal(speaker.ended, true);
  assert.equal(agent.ended, true);
  assert.deepEqual(agent.errors, []);
});

test('backpressure: a side that cannot take more pauses the other until it drains', async () => {
  const { agent, speakers, done } = setup();
  agent.emit('data', { frame: { $case: 'open', value: open } });
  await done;
  const speaker = speakers[0]!;
  speaker.accept = false;
  agent.emit('data', { frame: { $case: 'data', value: Buffer.alloc(65536) } });
  assert.equal(agent.paused, true);
  speaker.emit('drain');
  assert.equal(agent.paused, false);
  agent.accept = false;
  speaker.emit('data', { data: Buffer.alloc(65536) });
  assert.equal(speaker.paused, true);
  agent.emit('drain');
  assert.equal(speaker.paused, false);
});

test("the speaker ending or failing ends the agent's call; its refusal keeps its code", async () => {
  {
    const { agent, speakers, done } = setup();
    agent.emit('data', { frame: { $case: 'open', value: open } });
    await done;
    speakers[0]!.emit('end');
    assert.equal(agent.ended, true);
    assert.equal(speakers[0]!.ended, true);
  }
  {
    const { agent, speakers, done } = setup();
    agent.emit('data', { frame: { $case: 'open', value: open } });
    await done;
    speakers[0]!.emit('error', Object.assign(new Error('5 NOT_FOUND: no relayed peer 10.1.1.2%red@pe1'), { code: status.NOT_FOUND, details: 'no relayed peer 10.1.1.2%red@pe1' }));
    assert.equal(agent.errors.length, 1);
    assert.equal(agent.errors[0]!.code, status.NOT_FOUND);
    assert.match(agent.errors[0]!.message, /no relayed peer/);
  }
  {
    // The agent going away cancels the speaker's call.
    const { agent, speakers, done } = setup();
    agent.emit('data', { frame: { $case: 'open', value: open } });
    await done;
    agent.emit('cancelled');
    assert.equal(speakers[0]!.cancelled, true);
  }
});

test('another node\'s agent is PERMISSION_DENIED before anything is opened', async () => {
  const { agent, speakers, done } = setup();
  agent.emit('data', { frame: { $case: 'open', value: { ...open, node: 'pe2' } } });
  await done;
  assert.equal(speakers.length, 0);
  assert.equal(agent.errors[0]!.code, status.PERMISSION_DENIED);
});

test('a session not in the desired state is PERMISSION_DENIED and recorded; a first frame that is not open INVALID_ARGUMENT', async () => {
  {
    const { agent, speakers, denied, done } = setup();
    agent.emit('data', { frame: { $case: 'open', value: { ...open, ceAddress: '10.1.1.6' } } });
    await done;
    assert.equal(speakers.length, 0);
    assert.equal(agent.errors[0]!.code, status.PERMISSION_DENIED);
    assert.equal(denied.length, 1);
    assert.match(denied[0]!, /no PE-CE session 10\.1\.1\.6 -> 10\.1\.1\.1 on VRF 'red'/);
  }
  {
    const { agent, speakers, done } = setup();
    agent.emit('data', { frame: { $case: 'data', value: Buffer.from('x') } });
    await done;
    assert.equal(speakers.length, 0);
    assert.equal(agent.errors[0]!.code, status.INVALID_ARGUMENT);
  }
  {
    const { agent, done } = setup({ openSpeaker: undefined });
    agent.emit('data', { frame: { $case: 'open', value: open } });
    await done;
    assert.equal(agent.errors[0]!.code, status.FAILED_PRECONDITION);
  }
  await tick();
});

test("desiredSession: only the VRF, interface, VLAN and addresses of one of the node's sessions", async () => {
  const state = {
    node: 'pe1',
    vrfs: [{ name: 'red', vpn: 'red', interfaces: [{ name: 'ce0', vlan: 10, addresses: ['10.1.1.1/30'], bgpSessions: [{ ceAddress: '2001:db8::2', peAddress: '2001:db8::1' }, { ceAddress: '10.1.1.2', peAddress: '10.1.1.1' }] }] }],
  } as unknown as NodeDesiredState;
  const store = { latest: async (node: string) => (node === 'pe1' ? { generation: 3, state } : undefined) } as never;
  assert.deepEqual(await desiredSession(store, open), { vpn: 'red' });
  assert.deepEqual(await desiredSession(store, { ...open, ceAddress: '2001:DB8:0::2', peAddress: '2001:db8::1' }), { vpn: 'red' }, 'addresses compare canonical');
  assert.equal(await desiredSession(store, { ...open, vlan: 11 }), undefined);
  assert.equal(await desiredSession(store, { ...open, interface: 'ce1' }), undefined);
  assert.equal(await desiredSession(store, { ...open, vrf: 'blue' }), undefined);
  assert.equal(await desiredSession(store, { ...open, peAddress: '10.1.1.5' }), undefined);
  assert.equal(await desiredSession(store, { ...open, node: 'pe2' }), undefined);
});
