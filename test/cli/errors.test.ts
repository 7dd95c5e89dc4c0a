// The client's failures as an operator meets them: problem details made
// readable, exit codes (1 API, 2 usage, 3 unreachable), what to do on 401 and
// 403, and where the server and token come from (flags > env > config file).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pe, startVpnHarness, vpnBody, type VpnHarness } from '../vpn/support.js';
import { cleanEnv, l3vpn, tempHome } from './support.js';

const UNREACHABLE = 'http://127.0.0.1:1';

describe('l3vpn client: errors, exit codes and configuration', () => {
  let h: VpnHarness;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[], extra: NodeJS.ProcessEnv = {}) => l3vpn(args, { ...env, ...extra });

  before(async () => {
    h = await startVpnHarness();
    home = tempHome();
    env = { ...cleanEnv(home), L3VPN_SERVER: h.base, L3VPN_TOKEN: h.tokens.write };
    assert.equal((await h.call('POST', '/v1/nodes', { body: pe('pe1', 1) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('red') })).status, 201);
  });
  after(async () => {
    await h?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('422: title, detail and each field pointer with its message; exit code 1', async () => {
    const out = await run(['create', 'site', 's1', '--vpn', 'red', '--node', 'pe1', '--interface', 'eth1', '--pe-address', '10.0.0.1/30', '--ce-address', '10.9.9.9']);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /^Error 422: The intent does not make sense\n/);
    assert.match(out.stderr, /^\s+- \/ipv4\/ceAddress: .+/m);
    assert.equal(out.stdout, '');
    assert.equal((await h.call('GET', '/v1/sites/s1')).status, 404);
  });

  test('400 names the schema violations; 409 a taken id', async () => {
    const bad = await l3vpn(['create', 'node', '-f', '-'], env, JSON.stringify({ id: 'pe9', role: 'XX', routerId: 'nope', asNumber: 65000 }));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error 400: The request does not match the schema\n/);
    assert.match(bad.stderr, /^\s+- \/role: /m);
    assert.match(bad.stderr, /^\s+- \/routerId: /m);
    const taken = await l3vpn(['create', '-f', '-'], env, 'kind: vpn\nid: red\ncustomer: other\n');
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /^Error 409: The id is taken\n\s+vpn 'red' already exists\n\s+- \/id: 'red' is taken/);
  });

  test('usage mistakes exit 2 before any request', async () => {
    for (const args of [
      ['get'],
      ['get', 'widgets'],
      ['get', 'nodes', '--vpn', 'red'],
      ['get', 'sites', '--frobnicate'],
      ['get', 'nodes', '-o', 'xml'],
      ['create', 'vrf', '-f', '-'],
      ['delete', 'site'],
      ['wait', 'site', 's1', '--timeout', 'soon'],
      ['plan', 'frob'],
    ]) {
      const out = await run(args, { L3VPN_SERVER: UNREACHABLE });
      assert.equal(out.code, 2, `${args.join(' ')}: ${out.stderr}`);
      assert.match(out.stderr, /^l3vpn: .+\nrun 'l3vpn help'/, args.join(' '));
    }
    const file = await l3vpn(['create', '-f', '-'], { ...env, L3VPN_SERVER: UNREACHABLE }, 'id: x\ncustomer: y\n');
    assert.equal(file.code, 2);
    assert.match(file.stderr, /stdin \(document 1\): no kind/);
  });

  test('an unreachable server exits 3 and says where the address comes from', async () => {
    const out = await run(['get', 'nodes'], { L3VPN_SERVER: UNREACHABLE });
    assert.equal(out.code, 3);
    assert.match(out.stderr, /cannot reach the vpn service at http:\/\/127\.0\.0\.1:1\/: .*ECONNREFUSED/);
    assert.match(out.stderr, /--server, L3VPN_SERVER/);
  });

  test('wait gives up at its timeout, naming the status it saw', async () => {
    // This harness runs no reconcile worker: the VPN stays pending.
    const started = Date.now();
    const out = await run(['wait', 'vpn', 'red', '--for', 'active', '--timeout', '1s']);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /^timed out after 1 s waiting for vpn\/red to be active \(it is pending\)/);
    assert.ok(Date.now() - started >= 1000);
    const missing = await run(['wait', 'site', 'nope', '--for', 'deleted']);
    assert.equal(missing.code, 0, 'a resource that is gone is deleted');
  });

  test('401 and 403 say what to do', async () => {
    const none = await run(['get', 'nodes'], { L3VPN_TOKEN: '' });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^Error 401: No valid token\n/);
    assert.match(none.stderr, /No token was given\. Set L3VPN_TOKEN/);
    const wrong = await run(['get', 'nodes'], { L3VPN_TOKEN: 'not-a-token' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /The token from L3VPN_TOKEN was not accepted/);
    const reader = await run(['delete', 'vpn', 'red'], { L3VPN_TOKEN: h.tokens.read });
    assert.equal(reader.code, 1);
    assert.match(reader.stderr, /^Error 403: The token lacks the scope\n\s+this needs a token with scope 'write'; 'reader' has 'read'\n/);
    assert.match(reader.stderr, /ask an admin for a token with the scope named above/);
    assert.equal((await h.call('GET', '/v1/vpns/red')).status, 200);
  });

  test('server and token: flags beat the environment, which beats the config file', async () => {
    const configDir = join(home, '.config', 'l3vpn');
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'token'), `${h.tokens.read}\n`);
    writeFileSync(join(configDir, 'config.yaml'), `server: ${h.base}\ntoken-file: token\n`);
    const bare = cleanEnv(home);

    const fromFile = await l3vpn(['get', 'vpns', '-o', 'json'], bare);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.deepEqual(JSON.parse(fromFile.stdout).items.map((v: { id: string }) => v.id), ['red']);
    const readOnly = await l3vpn(['delete', 'vpn', 'red'], bare);
    assert.equal(readOnly.code, 1, 'the token of the file, a read token, is used');
    assert.match(readOnly.stderr, /Error 403/);

    const envServer = await l3vpn(['get', 'vpns'], { ...bare, L3VPN_SERVER: UNREACHABLE });
    assert.equal(envServer.code, 3, 'L3VPN_SERVER beats the file');
    const flagServer = await l3vpn(['get', 'vpns', '--server', h.base], { ...bare, L3VPN_SERVER: UNREACHABLE });
    assert.equal(flagServer.code, 0, '--server beats L3VPN_SERVER');

    const envToken = await l3vpn(['get', 'vpns'], { ...bare, L3VPN_TOKEN: 'wrong' });
    assert.equal(envToken.code, 1, 'L3VPN_TOKEN beats the file');
    assert.match(envToken.stderr, /Error 401/);
    const flagToken = await l3vpn(['get', 'vpns', '--token', h.tokens.read], { ...bare, L3VPN_TOKEN: 'wrong' });
    assert.equal(flagToken.code, 0, '--token beats L3VPN_TOKEN');

    const other = join(home, 'other.yaml');
    writeFileSync(other, `server: ${UNREACHABLE}\n`);
    assert.equal((await l3vpn(['get', 'vpns', '--config', other], bare)).code, 3, '--config names another file');
    writeFileSync(other, 'server: x\nbogus: 1\n');
    const broken = await l3vpn(['get', 'vpns', '--config', other], bare);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /unknown key 'bogus'/);
  });

  test('several servers (the vpn replicas): one that cannot be connected to passes the request to the next; none answering is exit 3 naming each', async () => {
    const bare = { ...cleanEnv(home), L3VPN_TOKEN: h.tokens.write };
    const listed = await l3vpn(['get', 'vpns', '-o', 'json', '--server', `${UNREACHABLE},${h.base}`], bare);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).items.map((v: { id: string }) => v.id), ['red']);
    // A write goes to the replica that answers, once.
    const made = await l3vpn(['apply', '-f', '-'], { ...bare, L3VPN_SERVER: `${UNREACHABLE}, ${h.base}` }, 'kind: vpn\nid: blue\ncustomer: Blue\n');
    assert.equal(made.code, 0, made.stderr);
    assert.equal((await h.call('GET', '/v1/vpns/blue')).status, 200);
    await h.call('DELETE', '/v1/vpns/blue');
    const none = await l3vpn(['get', 'vpns', '--server', `${UNREACHABLE},http://127.0.0.1:2`], bare);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /cannot reach the vpn service at http:\/\/127\.0\.0\.1:2\/: .*ECONNREFUSED.* \(nor at http:\/\/127\.0\.0\.1:1\/ \(ECONNREFUSED\)\)/);
  });

  test('https: the server certificate is checked against --ca-file (or ca-file in the config file)', async () => {
    const dir = join(home, 'tls');
    mkdirSync(dir, { recursive: true });
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=l3vpn-test',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(req.headers.authorization === 'Bearer tls-token' ? '{"items":[{"id":"over-tls","customer":"c"}]}' : '{}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const tlsEnv = { ...cleanEnv(home), L3VPN_SERVER: url, L3VPN_TOKEN: 'tls-token' };
      const untrusted = await l3vpn(['get', 'vpns'], tlsEnv);
      assert.equal(untrusted.code, 3);
      assert.match(untrusted.stderr, /not trusted: give its CA with --ca-file/);
      const trusted = await l3vpn(['get', 'vpns', '--ca-file', join(dir, 'cert.pem')], tlsEnv);
      assert.equal(trusted.code, 0, trusted.stderr);
      assert.match(trusted.stdout, /^over-tls\s+c\s/m);
      writeFileSync(join(dir, 'config.yaml'), `server: ${url}\ntoken: tls-token\nca-file: cert.pem\n`);
      const fromFile = await l3vpn(['get', 'vpns', '--config', join(dir, 'config.yaml')], cleanEnv(home));
      assert.equal(fromFile.code, 0, fromFile.stderr);
    } finally {
      server.close();
    }
  });

  test('the client loads neither fastify, Prisma nor gRPC', async () => {
    const out = await run(['get', 'vpns'], { NODE_DEBUG: 'module' });
    assert.equal(out.code, 0);
    assert.ok(out.stderr.includes('yaml'), 'NODE_DEBUG=module traces the CommonJS loads');
    assert.doesNotMatch(out.stderr, /node_modules\/(fastify|@prisma|@grpc|bullmq|ioredis)\//);
  });
});
