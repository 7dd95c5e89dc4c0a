// The last applied desired state, kept on the node so that an agent
// restarted while the controller is unreachable forwards as before
// (headless mode). Written atomically: a temp file, fsync, rename over the
// old one, fsync of the directory, so a crash leaves the old or the new
// state and never half of one.
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeDesiredState } from '../common/gen/proto/l3vpn/v1/agent.js';

export interface StateStore {
  load(): Promise<NodeDesiredState | undefined>;
  save(state: NodeDesiredState): Promise<void>;
}

export const STATE_FILE_NAME = 'desired-state.pb';

export class StateFile implements StateStore {
  readonly path: string;

  constructor(private readonly dir: string) {
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
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    const bytes = NodeDesiredState.encode(state).finish();
    const f = await open(tmp, 'w', 0o600);
    try {
      await f.writeFile(bytes);
      await f.sync();
    } finally {
      await f.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
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
