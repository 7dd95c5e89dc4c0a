// docker-compose.yml validated by Compose itself (`docker-compose config`:
// the Compose schema, service references, merges resolved), then held to
// the project's rules on the resolved file: every service health-checked
// and started in order, secrets only from files that exist, mutual TLS
// between every pair of services that call each other (certificates from
// deploy/make-certs.sh, run first as an operator would).
import { before, test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../services/common/project-root.js';

const root = projectRoot();
const composeFile = join(root, 'docker-compose.yml');

/** `docker-compose config` of a file, paths relative to the project: the resolved file, or Compose's complaint. */
function composeConfig(file: string): { ok: true; config: any } | { ok: false; error: string } {
  try {
    const out = execFileSync('docker-compose', ['-f', file, '--project-directory', root, 'config'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, config: parse(out) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('docker-compose is not installed: run .ci/install-deploy-tools (npm test does)');
    return { ok: false, error: String(e.stderr ?? e.message) };
  }
}

/** The same file with one text change, validated. */
function configWith(from: string | RegExp, to: string): ReturnType<typeof composeConfig> {
  const text = readFileSync(composeFile, 'utf8');
  const changed = text.replace(from, to);
  assert.notEqual(changed, text, `${String(from)} occurs in docker-compose.yml`);
  const dir = mkdtempSync(join(tmpdir(), 'l3vpn-compose-'));
  try {
    const file = join(dir, 'docker-compose.yml');
    writeFileSync(file, changed);
    return composeConfig(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const l3vpnServices = ['migrate', 'labels', 'bgp', 'vpn', 'agent-pe1'];

before(() => {
  // Keeps what exists: a developer's CA and certificates stay as they are.
  execFileSync('sh', [join(root, 'deploy/make-certs.sh'), join(root, 'deploy/compose/certs')], { cwd: root, stdio: 'ignore' });
});

/** The file behind a /run/secrets/<name> path of a service, which it must mount. */
function secretFile(config: any, service: string, path: string | undefined): string {
  assert.ok(path?.startsWith('/run/secrets/'), `${service}: ${path} is a mounted secret`);
  const name = path!.slice('/run/secrets/'.length);
  assert.ok((config.services[service].secrets ?? []).some((x: any) => (typeof x === 'string' ? x : x.source) === name), `${service} mounts ${name}`);
  return config.secrets[name].file;
}

const sans = (cert: X509Certificate) => (cert.subjectAltName ?? '').split(', ');

/** The TLS a server side of `service` runs, and the certificate each process presents as a client. */
function tlsOf(config: any, service: string): { cert: X509Certificate; ca: X509Certificate; clientAuth: string } {
  const env = config.services[service].environment;
  const [certVar, caVar] = service === 'agent-pe1' ? ['AGENT_CERT_FILE', 'AGENT_CONTROLLER_CA'] : ['TLS_CERT_FILE', 'TLS_CA_FILE'];
  const keyVar = service === 'agent-pe1' ? 'AGENT_KEY_FILE' : 'TLS_KEY_FILE';
  const cert = new X509Certificate(readFileSync(secretFile(config, service, env[certVar])));
  const key = readFileSync(secretFile(config, service, env[keyVar]), 'utf8');
  assert.match(key, /PRIVATE KEY/, `${service}: ${keyVar} is a private key`);
  return { cert, ca: new X509Certificate(readFileSync(secretFile(config, service, env[caVar]))), clientAuth: env.TLS_CLIENT_AUTH ?? 'none' };
}

/** Compose writes `disable: true` as the test NONE. */
const healthChecked = (s: any) => Boolean(s?.healthcheck) && !s.healthcheck.disable && s.healthcheck.test?.[0] !== 'NONE';

/** The project's rules for the resolved file; [] when it keeps them all. */
function ruleProblems(config: any): string[] {
  const problems: string[] = [];
  const services: Record<string, any> = config.services ?? {};
  for (const name of ['postgres', 'redis', ...l3vpnServices]) if (!services[name]) problems.push(`no service ${name}`);
  for (const [name, s] of Object.entries(services)) {
    const longRunning = name !== 'migrate';
    if (longRunning && !healthChecked(s)) problems.push(`${name}: no healthcheck`);
    for (const [dep, d] of Object.entries<any>(s.depends_on ?? {})) {
      const target = services[dep];
      if (d.condition === 'service_healthy' && !healthChecked(target)) {
        problems.push(`${name}: waits for ${dep} to be healthy, which has no healthcheck`);
      }
      if (d.condition === 'service_completed_successfully' && target?.restart && target.restart !== 'no') {
        problems.push(`${name}: waits for ${dep} to complete, which restarts`);
      }
    }
    const mounted = new Set((s.secrets ?? []).map((x: any) => (typeof x === 'string' ? x : x.source)));
    for (const secret of mounted) {
      const def = config.secrets?.[secret as string];
      if (!def) problems.push(`${name}: secret ${String(secret)} is not defined`);
      else if (!def.file || !existsSync(def.file)) problems.push(`secret ${String(secret)}: file ${def.file} does not exist`);
    }
    for (const [key, value] of Object.entries<any>(s.environment ?? {})) {
      const v = String(value);
      if (/^[a-z]+:\/\/[^/@\s]*:[^/@\s]+@/i.test(v)) problems.push(`${name}: ${key} carries a password; use a secret file`);
      if (key.endsWith('_FILE') && v.startsWith('/run/secrets/') && !mounted.has(v.slice('/run/secrets/'.length))) {
        problems.push(`${name}: ${key} names ${v}, a secret it does not mount`);
      }
    }
  }
  if (services.migrate?.command?.[0] !== 'migrate') problems.push('migrate: does not run the migrations');
  for (const name of ['labels', 'vpn']) {
    if (services[name]?.depends_on?.migrate?.condition !== 'service_completed_successfully') problems.push(`${name}: starts before the migrations completed`);
  }
  return problems;
}

test('docker-compose.yml is valid Compose and keeps the rules', () => {
  const result = composeConfig(composeFile);
  assert.ok(result.ok, result.ok ? '' : result.error);
  assert.deepEqual(ruleProblems(result.config), []);

  const s = result.config.services;
  assert.equal(s.vpn.environment.VPN_LABELS_ADDRESS, 'labels:50061');
  assert.equal(s.vpn.environment.VPN_BGP_ADDRESS, 'bgp:50062');
  assert.equal(s['agent-pe1'].environment.AGENT_DRIVER, 'soft');
  assert.equal(s['agent-pe1'].environment.AGENT_CONTROLLER, 'vpn:50063');
  for (const name of l3vpnServices) assert.equal(s[name].environment.DATABASE_MIGRATE ?? 'false', 'false', `${name} leaves migrations to migrate`);
  // The secrets line up: the URL's password is the one PostgreSQL is given.
  const password = readFileSync(result.config.secrets['postgres-password'].file, 'utf8').trim();
  const url = new URL(readFileSync(result.config.secrets['database-url'].file, 'utf8').trim());
  assert.equal(decodeURIComponent(url.password), password);
  assert.equal(url.hostname, 'postgres');
  assert.ok(readFileSync(result.config.secrets['bootstrap-token'].file, 'utf8').trim().length >= 32, 'the bootstrap token is long enough for vpn');
});

test('every pair of services that call each other runs mutual TLS with certificates of one CA, naming who they are', () => {
  const result = composeConfig(composeFile);
  assert.ok(result.ok, result.ok ? '' : result.error);
  const config = result.config;
  const env = (name: string) => config.services[name].environment;
  // Caller -> callee, by the address the caller dials.
  const pairs: [string, string][] = [
    ['vpn', env('vpn').VPN_LABELS_ADDRESS],
    ['vpn', env('vpn').VPN_BGP_ADDRESS],
    ['agent-pe1', env('agent-pe1').AGENT_CONTROLLER],
  ];
  for (const [caller, address] of pairs) {
    const host = String(address).split(':')[0]!;
    const server = tlsOf(config, host);
    const client = tlsOf(config, caller);
    const what = `${caller} -> ${host}`;
    assert.ok(['require', 'request'].includes(server.clientAuth), `${what}: ${host} asks for client certificates`);
    assert.ok(sans(server.cert).includes(`DNS:${host}`), `${what}: ${host}'s certificate names the host dialled`);
    for (const [who, t] of [[host, server], [caller, client]] as const) {
      assert.ok(t.cert.checkIssued(t.ca) && t.cert.verify(t.ca.publicKey), `${what}: ${who}'s certificate is signed by its CA`);
    }
    assert.equal(client.ca.fingerprint256, server.ca.fingerprint256, `${what}: one CA`);
  }
  for (const name of ['labels', 'bgp']) assert.equal(tlsOf(config, name).clientAuth, 'require', `${name} takes no call without a client certificate`);
  for (const name of ['labels', 'bgp', 'vpn']) assert.ok(sans(tlsOf(config, name).cert).includes(`URI:spiffe://l3vpn/service/${name}`), `${name}'s certificate names its principal`);
  const agent = tlsOf(config, 'agent-pe1').cert;
  assert.match(agent.subject, /CN=pe1/, "the agent's certificate names its node");
  assert.equal(env('agent-pe1').AGENT_CREDENTIAL_FILE, undefined, 'the agent authenticates by its certificate, not a shared secret');
  assert.equal(config.secrets['agent-pe1'], undefined);
});

test('Compose refuses a misspelt option, an unknown condition and a missing service', () => {
  const misspelt = configWith('    healthcheck:\n      test: ["CMD", "redis-cli", "ping"]', '    healthchek:\n      test: ["CMD", "redis-cli", "ping"]');
  assert.ok(!misspelt.ok && /redis.*healthchek/.test(misspelt.error), misspelt.ok ? 'accepted' : misspelt.error);

  const condition = configWith('condition: service_completed_successfully', 'condition: service_done');
  assert.ok(!condition.ok && /service_done/.test(condition.error), condition.ok ? 'accepted' : condition.error);

  const missing = configWith(/\n {6}bgp:\n {8}condition: service_healthy/, '\n      bgpd:\n        condition: service_healthy');
  assert.ok(!missing.ok && /bgpd/.test(missing.error), missing.ok ? 'accepted' : missing.error);
});

test('the rules catch what Compose accepts: a missing healthcheck, a secret without its file, a password in the environment', () => {
  const noHealth = configWith(/(\n  bgp:\n    <<: \*l3vpn\n)/, '$1    healthcheck:\n      disable: true\n');
  assert.ok(noHealth.ok, noHealth.ok ? '' : noHealth.error);
  assert.deepEqual(ruleProblems(noHealth.config), ['bgp: no healthcheck', 'vpn: waits for bgp to be healthy, which has no healthcheck']);

  const noFile = configWith('file: ./deploy/compose/certs/agent-pe1.pem', 'file: ./deploy/compose/certs/agent-pe9.pem');
  assert.ok(noFile.ok, noFile.ok ? '' : noFile.error);
  assert.deepEqual(ruleProblems(noFile.config), [`secret agent-pe1-cert: file ${join(root, 'deploy/compose/certs/agent-pe9.pem')} does not exist`]);

  const plain = configWith('DATABASE_URL_FILE: /run/secrets/database-url', 'DATABASE_URL: postgresql://l3vpn:secret@postgres:5432/l3vpn');
  assert.ok(plain.ok, plain.ok ? '' : plain.error);
  assert.ok(ruleProblems(plain.config).includes('vpn: DATABASE_URL carries a password; use a secret file'));
});
