// Lab lifecycle (issue 12 §5): `l3vpn lab` run as an operator runs it — its
// own process, stdout through a pipe — stopped with Ctrl-C after the pipe's
// reader went away (`npm start | tee lab.log`, then Ctrl-C), killed with -9
// and started again, and given a new site through the REST API.
//
// What must hold: nothing of a stopped lab is left (no process of its
// record, no namespace, veth or bridge with its prefix); after kill -9 the
// next start removes the leftovers, starts, and still has the intent; a site
// created through REST on a PE port gets a CE host that pings its remote site.
//
// Real processes and packets: run under `flock /tmp/l3vpn-net.lock`.
// Names: namespaces l3lc-*, bridges and veths l3lc*, BGP on 127.0.34.1/.2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { projectRoot } from '../../services/common/project-root.js';
import { ExternalPeer } from '../../services/lab/external-peer.js';
import { ovsUnavailable } from '../../services/lab/ovs-network.js';
import { waitUntil } from '../../services/lab/processes.js';
import { readRecord, runningProcesses, sweep, type LabResources } from '../../services/lab/resources.js';
import { RestClient } from '../../services/lab/rest-client.js';

const execFileP = promisify(execFile);
const PREFIX = 'l3lc';
const START_MS = 240_000;

const TOPOLOGY = `
as: 65000
nodes:
  - { id: pe1, role: PE, router-id: 10.255.4.1, sid-index: 1, ce-ports: [ce1, ce2] }
  - { id: pe2, role: PE, router-id: 10.255.4.2, sid-index: 2, ce-ports: [ce1, ce2] }
  - { id: p1, role: P, router-id: 10.255.4.11, sid-index: 11 }
links:
  - { a: pe1, b: p1 }
  - { a: p1, b: pe2 }
bgp: { address: 127.0.34.1 }
external:
  kind: gobgp
  address: 127.0.34.2
  router-id: 10.255.4.100
  next-hop: 198.51.100.34
  routes:
    - { rd: "10.255.4.100:1", prefix: 10.100.0.0/24, label: 3000, route-targets: ["65000:100"] }
sample:
  vpns:
    - { id: acme, customer: ACME, routeTargets: { anyToAny: "65000:100" } }
  sites:
    - { id: acme-pe1, vpn: acme, node: pe1, interface: ce1, ipv4: { peAddress: 192.168.1.1/30, ceAddress: 192.168.1.2 }, routing: { static: [{ prefix: 10.1.0.0/16 }] } }
`;

/** A site of VPN `lc` on port ce2 of a PE: attachment 192.168.2n.0/30, 10.2n.0.0/16 behind its CE. */
const lcSite = (n: number, node: string) => ({
  id: `lc-${n}`,
  vpn: 'lc',
  node,
  interface: 'ce2',
  ipv4: { peAddress: `192.168.2${n}.1/30`, ceAddress: `192.168.2${n}.2` },
  routing: { static: [{ prefix: `10.2${n}.0.0/16` }] },
});

const inCi = () => !['', 'false', '0'].includes((process.env.CI ?? '').toLowerCase());
const missing = (await ovsUnavailable()) ?? (await ExternalPeer.missing());
// A missing tool skips locally; in CI the tests run and fail on it, naming it.
const skip = missing && !inCi() ? missing : false;

let dir: string;
let stateDir: string;
let topologyFile: string;
let current: LabProcess | undefined;

interface LabProcess {
  child: ChildProcess;
  lines: string[];
  rest: RestClient;
  /** The record as the running lab wrote it. */
  record: LabResources;
  exited: Promise<number | null>;
}

/** Starts `l3vpn lab` with stdout and stderr piped to this test; resolves once it says it is up. */
async function startLab(): Promise<LabProcess> {
  if (missing) assert.fail(`the lab lifecycle test needs: ${missing}`);
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  delete env.DATABASE_URL; // the lab's own private PostgreSQL and Redis, as for an operator
  delete env.REDIS_URL;
  const child = spawn(process.execPath, [join(projectRoot(), 'dist/services/main.js'), 'lab', '--topology', topologyFile, '--state-dir', stateDir, '--name-prefix', PREFIX, '--port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const s of [child.stdout!, child.stderr!]) createInterface({ input: s }).on('line', (l) => lines.push(l));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let gone = false;
  void exited.then(() => (gone = true));
  current = { child, lines, exited } as LabProcess;
  await waitUntil('the lab saying it is up', () => {
    if (gone) throw new Error(`the lab exited during start-up:\n${lines.join('\n')}`);
    return lines.some((l) => l.startsWith('l3vpn lab is up'));
  }, START_MS, 100).catch((err: Error) => assert.fail(`${err.message}\n${lines.slice(-30).join('\n')}`));
  const url = /REST API\s+(http:\/\/\S+)\/v1/.exec(lines.join('\n'))?.[1];
  assert.ok(url, 'the summary names the REST API');
  const token = readFileSync(join(stateDir, 'lab', 'admin-token'), 'utf8').trim();
  const record = readRecord(recordFile());
  assert.ok(record, 'the running lab keeps its record');
  return Object.assign(current, { rest: new RestClient(url, token), record });
}

const recordFile = () => join(stateDir, 'lab', 'resources.json');

/** What of ours is on the machine: processes of `record` still running, namespaces and links with our prefix. */
async function leftovers(record: LabResources): Promise<{ processes: string[]; namespaces: string[]; links: string[] }> {
  const ns = (await execFileP('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${PREFIX}-`));
  const links = (await execFileP('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));
  return { processes: runningProcesses(record).map((p) => `${p.name} (pid ${p.pid})`), namespaces: ns, links };
}

const nothing = { processes: [], namespaces: [], links: [] };

async function ping(ns: string, to: string): Promise<boolean> {
  return execFileP('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', to]).then(
    () => true,
    () => false,
  );
}

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'l3lc-'));
  chmodSync(dir, 0o755); // as root, the lab's PostgreSQL runs as `postgres` and must reach its data folder
  stateDir = join(dir, 'state');
  topologyFile = join(dir, 'topology.yaml');
  writeFileSync(topologyFile, TOPOLOGY);
});

after(async () => {
  if (skip) return;
  // Whatever a failed test left: the lab process, then what its record lists.
  if (current && current.child.exitCode === null && current.child.signalCode === null) {
    current.child.kill('SIGKILL');
    await current.exited;
  }
  const record = readRecord(recordFile()) ?? current?.record;
  if (record) await sweep(record);
  rmSync(dir, { recursive: true, force: true });
});

test('through a pipe whose reader is gone, Ctrl-C (SIGINT) stops the lab and leaves nothing behind', { skip, timeout: 2 * START_MS }, async () => {
  const lab = await startLab();
  assert.deepEqual(lab.record.processes.map((p) => p.name).sort(), ['gobgpd', 'ovs-vswitchd', 'ovsdb-server', 'postgres', 'redis']);
  assert.ok(lab.record.namespaces.includes(`${PREFIX}-pe1-ce1`), 'the record lists the CE namespaces');
  // Intent for the next tests: it must outlive the lab.
  await lab.rest.expect('POST', '/v1/vpns', [201], { id: 'lc', customer: 'lifecycle', routeTargets: { anyToAny: '65000:340' } });
  await lab.rest.expect('POST', '/v1/sites', [201], lcSite(1, 'pe1'));

  // `npm start | tee lab.log`, Ctrl-C: tee is gone too, every line the lab writes while stopping meets a closed pipe;
  // and the one Ctrl-C comes twice (the terminal's, and npm forwarding it to its script).
  lab.child.stdout!.destroy();
  lab.child.stderr!.destroy();
  lab.child.kill('SIGINT');
  lab.child.kill('SIGINT');
  assert.equal(await lab.exited, 0, 'the lab exits cleanly after its teardown');
  assert.deepEqual(await leftovers(lab.record), nothing);
  assert.equal(existsSync(recordFile()), false, 'a clean stop leaves no record to sweep');
});

test('after kill -9 the next start removes the leftovers, starts, and the intent is still there', { skip, timeout: 3 * START_MS }, async () => {
  const killed = await startLab();
  assert.ok(killed.lines.some((l) => l.includes('the sample is not provisioned again')), 'a restart keeps the intent instead of provisioning the sample again');
  killed.child.kill('SIGKILL');
  await killed.exited;
  const left = await leftovers(killed.record);
  assert.equal(left.processes.length, 5, `kill -9 leaves the daemons running: ${JSON.stringify(left)}`);
  assert.ok(left.namespaces.length > 0, 'and the namespaces');

  const lab = await startLab();
  assert.ok(lab.lines.some((l) => l.includes('removing what the last lab left behind')), 'the start says it cleans up');
  assert.deepEqual((await leftovers(killed.record)).processes, [], "the killed lab's daemons are gone");
  const vpns = (await lab.rest.list('/v1/vpns')).map((v: { id: string }) => v.id).sort();
  assert.deepEqual(vpns, ['acme', 'lc'], 'the VPN made before both restarts is there, the sample once');
  const site = await lab.rest.get('/v1/sites/lc-1');
  assert.equal(site.node, 'pe1');
});

test('a site created through REST on a lab PE port gets its CE host, which pings the remote site', { skip, timeout: 2 * START_MS }, async () => {
  assert.ok(current && current.child.exitCode === null, 'the lab of the last test runs');
  const lab = current!;
  await lab.rest.expect('POST', '/v1/sites', [201], lcSite(2, 'pe2'));
  const ce = `${PREFIX}-pe2-ce2`;
  // The CE host is configured as the customer would: address, default route towards the PE, the site's prefix behind it.
  await waitUntil(`${ce} addressed for site lc-2`, async () => {
    const addr = (await execFileP('ip', ['netns', 'exec', ce, 'ip', '-o', 'addr', 'show'])).stdout;
    const route = (await execFileP('ip', ['netns', 'exec', ce, 'ip', 'route', 'show', 'default'])).stdout;
    return addr.includes('192.168.22.2/30') && addr.includes('10.22.0.1/32') && route.includes('via 192.168.22.1');
  }, 30_000, 200);
  // Both ways across the provider network: pe1's CE (its site made before the restarts) and the new one.
  await waitUntil('lc-1 reaching lc-2', () => ping(`${PREFIX}-pe1-ce2`, '10.22.0.1'), 60_000, 200);
  await waitUntil('lc-2 reaching lc-1', () => ping(ce, '10.21.0.1'), 60_000, 200);

  // SIGTERM (a service manager) stops it as cleanly as Ctrl-C.
  lab.child.kill('SIGTERM');
  assert.equal(await lab.exited, 0);
  assert.deepEqual(await leftovers(lab.record), nothing);
});
