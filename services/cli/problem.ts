// RFC 9457 problem details as an operator reads them: the title and detail,
// then each field the server named (errors[] with a pointer, a query
// parameter or a header), plus what to do about 401 and 403.

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  errors?: { detail?: string; pointer?: string; parameter?: string; header?: string }[];
}

export function isProblem(body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && ('title' in body || 'detail' in body || 'status' in body);
}

function whereOf(e: NonNullable<Problem['errors']>[number]): string {
  if (e.pointer !== undefined) return e.pointer.replace(/^#/, '') || '(body)';
  if (e.parameter !== undefined) return `parameter ${e.parameter}`;
  if (e.header !== undefined) return `header ${e.header}`;
  return '';
}

export interface AuthContext {
  /** Where the token came from, or undefined when none was configured. */
  tokenSource?: string;
}

export function renderProblem(status: number, problem: Problem | undefined, auth: AuthContext): string {
  const title = problem?.title ?? `HTTP ${status}`;
  const lines = [`Error ${status}: ${title}`];
  if (problem?.detail && problem.detail !== title) lines.push(`  ${problem.detail}`);
  for (const e of problem?.errors ?? []) {
    const where = whereOf(e);
    lines.push(`  - ${where ? `${where}: ` : ''}${e.detail ?? ''}`);
  }
  if (status === 401) {
    lines.push(
      auth.tokenSource
        ? `  The token from ${auth.tokenSource} was not accepted (unknown or revoked). Get a valid one from an admin (\`l3vpn token create NAME write\` on the server) and set L3VPN_TOKEN.`
        : '  No token was given. Set L3VPN_TOKEN, pass --token, or put token / token-file in the config file (see `l3vpn help`).',
    );
  }
  if (status === 403) lines.push('  The token is valid but its scope is too small (read < write < admin); ask an admin for a token with the scope named above.');
  return lines.join('\n');
}
