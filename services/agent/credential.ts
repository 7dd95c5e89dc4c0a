// The agent's node credential (issue 13 §2). What the operator gives the
// agent is either a one-time join token (agent.join-token-file) or, without
// enrolment, a credential (agent.credential-file, agent.token). A credential
// got by enrolling or rotating is saved as `credential` in the state dir
// (mode 0600, beside the state file), with the SHA-256 of what it came from,
// so that:
//   - a restart reuses the saved credential while the operator still gives
//     the same secret (or none);
//   - a new join token (a re-enrolment after a revocation) makes the agent
//     enrol again, even without a restart: the files are read again before
//     each attempt to reach the controller.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomically } from './atomic-file.js';

export const CREDENTIAL_FILE_NAME = 'credential';

interface Saved {
  node: string;
  credential: string;
  /** SHA-256 (hex) of the join token or configured credential it descends from. */
  origin?: string;
  savedAt: string;
}

/** What the operator gave the agent, read again on each refresh. */
export interface GivenSecret {
  kind: 'join-token' | 'credential';
  secret: string;
}

const digest = (secret: string) => createHash('sha256').update(secret).digest('hex');

export class NodeCredential {
  readonly path: string;
  private saved: Saved | undefined;
  private given: GivenSecret | undefined;

  constructor(
    private readonly node: string,
    stateDir: string,
    private readonly readGiven: () => GivenSecret | undefined,
  ) {
    this.path = join(stateDir, CREDENTIAL_FILE_NAME);
    this.refresh();
  }

  /** Reads the saved credential and the operator's secret again. */
  refresh(): void {
    this.given = this.readGiven();
    this.saved = readSaved(this.path, this.node);
  }

  /** The saved credential, when it is this node's and descends from what the operator gives now (or nothing is given). */
  private get usableSaved(): Saved | undefined {
    const s = this.saved;
    if (!s) return undefined;
    return !this.given || s.origin === digest(this.given.secret) ? s : undefined;
  }

  /** The credential to send; undefined when there is none (enrol first, if there is a join token). */
  get current(): string | undefined {
    return this.usableSaved?.credential ?? (this.given?.kind === 'credential' ? this.given.secret : undefined);
  }

  /** The join token to enrol with, when there is no credential to send. */
  get joinToken(): string | undefined {
    return this.current === undefined && this.given?.kind === 'join-token' ? this.given.secret : undefined;
  }

  /** When the credential in use was saved (its age, for rotation); undefined for a configured one never rotated. */
  get savedAt(): Date | undefined {
    const s = this.usableSaved;
    return s ? new Date(s.savedAt) : undefined;
  }

  /** Keeps a new credential (enrolled or rotated); it is in use once this returns. */
  async save(credential: string): Promise<void> {
    const origin = this.given ? digest(this.given.secret) : this.saved?.origin;
    const saved: Saved = { node: this.node, credential, ...(origin ? { origin } : {}), savedAt: new Date().toISOString() };
    await writeAtomically(this.path, `${JSON.stringify(saved)}\n`);
    this.saved = saved;
  }
}

function readSaved(path: string, node: string): Saved | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const s = JSON.parse(text) as Partial<Saved>;
    // Another node's (a state dir reused) is not ours to send.
    if (s.node !== node || typeof s.credential !== 'string' || !s.credential) return undefined;
    return { node: s.node, credential: s.credential, ...(s.origin ? { origin: s.origin } : {}), savedAt: s.savedAt ?? new Date(0).toISOString() };
  } catch {
    return undefined;
  }
}
