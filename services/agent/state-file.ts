// The last applied desired state, kept on the node so that an agent
// restarted while the controller is unreachable forwards as before
// (headless mode). Written atomically (atomic-file.ts): a crash leaves the
// old or the new state and never half of one.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from './atomic-file.js';
import { NodeDesiredState } from '../common/gen/proto/l3vpn/v1/agent.js';

export interface StateStore {
  load(): Promise<NodeDesiredState | undefined>;
  save(state: NodeDesiredState): Promise<void>;
}

export const STATE_FILE_NAME = 'desired-state.pb';

export class StateFile implements StateStore {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, STATE_FILE_NAME);
  }

  async load(): Promise<NodeDesiredState | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return NodeDesiredState.decode(bytes);
  }

  async save(state: NodeDesiredState): Promise<void> {
    await writeAtomically(this.path, await encodeInSlices(state));
  }
}

/** Entries encoded at a time: about a millisecond of the event loop, so a delta arriving meanwhile waits no longer. */
const SLICE = 2_000;
const LISTS = ['vrfs', 'vrfRoutes', 'lfibEntries', 'transportPaths'] as const;
const EMPTY = NodeDesiredState.fromPartial({});

/**
 * The whole state encoded in one go takes ~50 ms for 100,000 routes and
 * would hold up the next delta that long. Protobuf lets an encoding be
 * split between fields: concatenated encodings parse as one merged message,
 * repeated fields appended in order; scalars left at their defaults are not
 * written, so only the first slice carries them.
 */
export async function encodeInSlices(state: NodeDesiredState): Promise<Buffer> {
  const parts: Uint8Array[] = [NodeDesiredState.encode({ ...state, vrfs: [], vrfRoutes: [], lfibEntries: [], transportPaths: [] }).finish()];
  for (const list of LISTS) {
    const entries: readonly unknown[] = state[list];
    for (let i = 0; i < entries.length; i += SLICE) {
      await new Promise(setImmediate);
      parts.push(NodeDesiredState.encode({ ...EMPTY, [list]: entries.slice(i, i + SLICE) }).finish());
    }
  }
  return Buffer.concat(parts);
}

/** A store in memory, for tests. */
export class MemoryStateStore implements StateStore {
  state: NodeDesiredState | undefined;
  saves = 0;
  async load(): Promise<NodeDesiredState | undefined> {
    return this.state;
  }
  async save(state: NodeDesiredState): Promise<void> {
    this.saves++;
    this.state = state;
  }
}
