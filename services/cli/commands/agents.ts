// l3vpn join-token NODE [--ttl 1h]: a one-time join token for the node's
// agent, printed once on stdout (its expiry on stderr), as `kubeadm token
// create` does; l3vpn revoke-agent NODE: revokes every credential and unused
// join token of the node's agent, ending its streams at once.
import { stringify } from 'yaml';
import { UsageError } from '../errors.js';
import { argsOf, pathOf, str, type Invocation } from '../invocation.js';
import { write } from '../output.js';
import { parseDuration } from './wait.js';

export async function joinToken(inv: Invocation): Promise<void> {
  const [node] = argsOf(inv, 1, 1, 'join-token NODE [--ttl 1h]');
  const ttl = str(inv.options, 'ttl');
  const ttlMs = ttl ? parseDuration(ttl) : undefined;
  if (ttlMs !== undefined && ttlMs % 1000) throw new UsageError(`--ttl ${ttl}: whole seconds`);
  const res = await inv.client.call('POST', pathOf('nodes', node!, '/join-tokens'), { body: ttlMs !== undefined ? { ttlSeconds: ttlMs / 1000 } : {} });
  const t = res.body as { token: string; expiresAt: string };
  if (inv.format === 'json') return write(res.text);
  if (inv.format === 'yaml') return write(stringify(res.body));
  process.stderr.write(`join token for node ${node}, usable once until ${t.expiresAt}; it is shown only this once:\n`);
  write(t.token);
}

export async function revokeAgent(inv: Invocation): Promise<void> {
  const [node] = argsOf(inv, 1, 1, 'revoke-agent NODE');
  const res = await inv.client.call('DELETE', pathOf('nodes', node!, '/agent-credentials'));
  const r = res.body as { credentialsRevoked: number; joinTokensRevoked: number };
  if (inv.format === 'json') return write(res.text);
  if (inv.format === 'yaml') return write(stringify(res.body));
  write(`node ${node}: ${r.credentialsRevoked} agent credential(s) and ${r.joinTokensRevoked} join token(s) revoked; the agent enrols again with a new join token`);
}
