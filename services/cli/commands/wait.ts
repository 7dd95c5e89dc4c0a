// l3vpn wait KIND ID [--for active|failed|deleted] [--timeout 60s]: polls
// the resource's status until it is reached. Waiting for active keeps waiting
// while the resource is pending, provisioning (e.g. its agent has not
// installed it yet), degraded, down or unreachable, all of which can heal by
// themselves; it stops early, exit status 1, when the resource fails (with
// the reason, "pe3: no port eth9 on the bridge").
import { ApiFailure, UsageError } from '../errors.js';
import { argsOf, pathOf, str, type Invocation } from '../invocation.js';
import { kindOf, ref, type Resource } from '../kinds.js';
import { write } from '../output.js';

const CONDITIONS = ['active', 'failed', 'deleted', 'pending', 'provisioning', 'degraded', 'down', 'unreachable'] as const;
const POLL_MS = 250;

/** `90s`, `2m`, `500ms`, `1h`, or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--timeout ${text}: a duration like 30s, 2m or 500ms`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

export async function wait(inv: Invocation): Promise<void> {
  const [kindWord, id] = argsOf(inv, 2, 2, 'wait KIND ID [--for active|failed|deleted] [--timeout 60s]');
  const kind = kindOf(kindWord);
  const want = str(inv.options, 'for') ?? 'active';
  if (!(CONDITIONS as readonly string[]).includes(want)) throw new UsageError(`--for ${want}: one of ${CONDITIONS.join(', ')}`);
  const timeoutMs = parseDuration(str(inv.options, 'timeout') ?? '60s');
  const deadline = Date.now() + timeoutMs;
  const name = ref(kind, id!);
  let last = '<unknown>';
  for (;;) {
    const res = await inv.client.request('GET', pathOf(kind.path, id!));
    if (res.status === 404 && want === 'deleted') return write(`${name} deleted`);
    if (res.status !== 200) throw inv.client.failure(res);
    const status = ((res.body as Resource).status ?? {}) as { state?: string; reason?: string };
    last = (status.state ?? '<unknown>') + (status.reason ? `: ${status.reason}` : '');
    if (status.state === want) return write(`${name} ${want}`);
    if (status.state === 'failed' && want === 'active') throw new ApiFailure(`${name} failed${status.reason ? `: ${status.reason}` : ''}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new ApiFailure(`timed out after ${timeoutMs / 1000} s waiting for ${name} to be ${want} (it is ${last})`);
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, left)));
  }
}
