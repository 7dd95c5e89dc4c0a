// The lab's record of what it made on this machine (.l3vpn/lab/resources.json):
// every daemon it started (pid with the process's start time, so that a pid
// the kernel has since given to another process is never signalled), every
// network namespace and link (veths, the bridges' tap devices). It is written
// before each thing is made, so that whatever way the lab ends — even
// `kill -9`, which leaves its detached daemons running — the next start (or
// the teardown itself, as its last step) can remove all of it.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { processAlive, processStartTime, runQuiet, signalProcess, waitUntil } from './processes.js';

export interface RecordedProcess {
  name: string;
  pid: number;
  /** Field 22 of /proc/PID/stat: with the pid, names one process for good. */
  startTime: string;
  /** The signal that stops it cleanly (postgres: SIGINT, its fast shutdown). */
  stopSignal: NodeJS.Signals;
}

export interface LabResources {
  /** The lab process that keeps the record. */
  lab: { pid: number; startTime: string };
  processes: RecordedProcess[];
  namespaces: string[];
  /** Network devices in the host's namespace (a veth's one end removes both). */
  links: string[];
}

/** Anything that starts daemons or makes namespaces and links tells the record first (or right after, for a pid). */
export interface ResourceRecorder {
  process(name: string, pid: number, stopSignal?: NodeJS.Signals): void;
  namespace(name: string): void;
  link(name: string): void;
}

export class LabAlreadyRunning extends Error {}

/** Reads a record; undefined when there is none or it is not one (a torn write is treated as none). */
export function readRecord(file: string): LabResources | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as LabResources;
    return Array.isArray(r.processes) && Array.isArray(r.namespaces) && Array.isArray(r.links) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** What a record still holds: its processes that run, by pid and start time. */
export function runningProcesses(r: LabResources): RecordedProcess[] {
  return r.processes.filter((p) => processAlive(p.pid, p.startTime));
}

/** Stops a record's processes (clean signal, SIGKILL after graceMs), then removes its namespaces and links. */
export async function sweep(r: LabResources, progress: (what: string) => void = () => undefined, graceMs = 10_000): Promise<void> {
  const alive = runningProcesses(r);
  // Services and agents first, the switch and the databases last: the reverse of the start.
  for (const p of [...alive].reverse()) {
    progress(`stopping ${p.name} (pid ${p.pid})`);
    signalProcess(p.pid, p.stopSignal);
  }
  const gone = () => alive.every((p) => !processAlive(p.pid, p.startTime));
  await waitUntil('leftover processes exiting', gone, graceMs, 50).catch(() => {
    for (const p of alive) if (processAlive(p.pid, p.startTime)) signalProcess(p.pid, 'SIGKILL');
  });
  await waitUntil('leftover processes exiting after SIGKILL', gone, 5000, 50);
  for (const ns of r.namespaces) await runQuiet('ip', ['netns', 'del', ns]);
  for (const link of r.links) await runQuiet('ip', ['link', 'del', link]);
}

/** The record of the running lab, rewritten (atomically) on every addition. */
export class ResourceRecord implements ResourceRecorder {
  private constructor(
    readonly file: string,
    private readonly r: LabResources,
  ) {}

  /**
   * Takes the record over for this process: refuses while the lab that wrote
   * it still runs; otherwise removes what that lab left behind, then starts a
   * new, empty record.
   */
  static async takeOver(file: string, progress: (what: string) => void): Promise<ResourceRecord> {
    const old = readRecord(file);
    if (old && old.lab.pid !== process.pid && processAlive(old.lab.pid, old.lab.startTime)) {
      throw new LabAlreadyRunning(`a lab with this state folder is running already (pid ${old.lab.pid}; its record: ${file}); stop it first`);
    }
    if (old) {
      const left = runningProcesses(old).length;
      progress(`removing what the last lab left behind (${left} processes, ${old.namespaces.length} namespaces, ${old.links.length} links)`);
      await sweep(old, progress);
    }
    const record = new ResourceRecord(file, { lab: { pid: process.pid, startTime: processStartTime(process.pid) ?? '' }, processes: [], namespaces: [], links: [] });
    record.write();
    return record;
  }

  get resources(): LabResources {
    return this.r;
  }

  process(name: string, pid: number, stopSignal: NodeJS.Signals = 'SIGTERM'): void {
    const startTime = processStartTime(pid);
    if (startTime === undefined) return; // exited already: nothing to stop later
    this.r.processes.push({ name, pid, startTime, stopSignal });
    this.write();
  }

  namespace(name: string): void {
    if (this.r.namespaces.includes(name)) return;
    this.r.namespaces.push(name);
    this.write();
  }

  link(name: string): void {
    if (this.r.links.includes(name)) return;
    this.r.links.push(name);
    this.write();
  }

  /** The last step of a teardown: whatever an earlier step failed to remove goes now; then the record goes. */
  async close(progress?: (what: string) => void): Promise<void> {
    await sweep(this.r, progress);
    rmSync(this.file, { force: true });
  }

  private write(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.r, null, 2)}\n`);
    renameSync(tmp, this.file);
  }
}
