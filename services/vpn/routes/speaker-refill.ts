// RFC 4724 §4.1 seen from the controller: a bgp speaker that (re)started
// holds End-of-RIB back from its peers (they keep their stale copies of our
// routes meanwhile) until it has its VRFs and routes again. After each
// snapshot of the route stream, VrfRouteWatch queues every node with VRFs;
// when the speaker says it is restarting, this waits until none of those
// nodes has a reconcile job left to run, then tells it CompleteRestart, and
// only the routes the intent no longer has are withdrawn by the peers. A
// node whose reconcile keeps failing does not hold every peer's End-of-RIB
// for ever: the speaker's own deferral timer ends the restart.
import type { Logger } from '../../common/logger.js';
import type { BgpApi } from './bgp-client.js';

export interface SpeakerRefillOptions {
  bgp: Pick<BgpApi, 'getGlobal' | 'completeRestart'>;
  /** Of `nodes`, those with a reconcile job still to run (waiting, delayed or running). */
  unfinished(nodes: string[]): Promise<string[]>;
  log: Logger;
  pollMs?: number;
}

export class SpeakerRefill {
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: SpeakerRefillOptions) {}

  /** The nodes with VRFs were just queued after a snapshot: completes the speaker's restart once they have run. */
  queued(nodes: string[]): void {
    if (this.running || this.stopped) return;
    this.running = this.complete(nodes)
      .catch((err: Error) => this.o.log.warn({ err: err.message }, "the bgp speaker's restart not completed; its deferral timer will"))
      .finally(() => (this.running = undefined));
  }

  private async complete(nodes: string[]): Promise<void> {
    if (!(await this.o.bgp.getGlobal({})).restarting) return;
    const started = Date.now();
    this.o.log.info({ nodes: nodes.length }, 'the bgp speaker is restarting: its End-of-RIB waits for these nodes to be reconciled');
    for (;;) {
      if (this.stopped) return;
      const left = await this.o.unfinished(nodes);
      if (!left.length) break;
      await new Promise((r) => setTimeout(r, this.o.pollMs ?? 250));
    }
    const { wasRestarting } = await this.o.bgp.completeRestart({});
    if (wasRestarting) this.o.log.info({ nodes: nodes.length, ms: Date.now() - started }, 'the bgp speaker has its VRFs and routes again: restart completed, End-of-RIB sent');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
