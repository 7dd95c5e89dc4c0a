// l3vpn get/describe/create/apply/plan/delete/wait/routes/state, run as the
// real binary against a real vpn service with its worker and labels.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ReportStatusRequest } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { startReconcileHarness, type ReconcileHarness } from '../vpn/reconcile-support.js';
import { enrolWith } from '../vpn/support.js';
import { cleanEnv, l3vpn, tableRows, tempHome } from './support.js';

const LAB = `# sites first: the client writes nodes, then VPNs, then sites
kind: site
id: blue-1
vpn: blue
node: pe1
interface: eth1
vlan: 101
ipv4: { peAddress: 10.1.0.1/30, ceAddress: 10.1.0.2 }
routing: { static: [ { prefix: 192.168.1.0/24 } ] }
---
kind: node
id: pe1
role: PE
routerId: 10.255.0.1
asNumber: 65000
nodeSidIndex: 1
---
kind: node
id: pe2
role: PE
routerId: 10.255.0.2
asNumber: 65000
nodeSidIndex: 2
---
kind: vpn
id: blue
customer: acme
`;

describe('l3vpn client against a running vpn service', () => {
  let h: ReconcileHarness;
  let env: NodeJS.ProcessEnv;
  let home: string;
  const file = (name: string, text: string) => {
    const path = join(home, name);
    writeFileSync(path, text);
    return path;
  };
  const run = (...args: string[]) => l3vpn(args, env);

  before(async () => {
    h = await startReconcileHarness();
    home = tempHome();
    env = { ...cleanEnv(home), L3VPN_SERVER: h.base, L3VPN_TOKEN: h.tokens.write };
  });
  after(async () => {
    await h?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('create -f writes the documents of a file in dependency order', async () => {
    const out = await run('create', '-f', file('lab.yaml', LAB));
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.stdout.trim().split('\n'), ['node/pe1 created', 'node/pe2 created', 'vpn/blue created', 'site/blue-1 created']);
    assert.equal((await h.call('GET', '/v1/sites/blue-1')).body.vlan, 101);
  });

  test('get prints aligned tables, filtered lists, and says when nothing matched', async () => {
    const table = await run('get', 'nodes');
    assert.equal(table.code, 0, table.stderr);
    const rows = tableRows(table.stdout);
    assert.deepEqual(rows[0], ['NAME', 'ROLE', 'ROUTER-ID', 'AS', 'STATUS', 'AGE']);
    assert.deepEqual(rows.slice(1).map((r) => r.slice(0, 4)), [['pe1', 'PE', '10.255.0.1', '65000'], ['pe2', 'PE', '10.255.0.2', '65000']]);
    const lines = table.stdout.trimEnd().split('\n');
    assert.equal(lines[0]!.indexOf('STATUS'), lines[1]!.indexOf(rows[1]![4]!), 'STATUS values start under their header');

    const sites = await run('get', 'sites', '--vpn', 'blue', '-o', 'wide');
    assert.equal(sites.code, 0, sites.stderr);
    assert.match(sites.stdout, /^NAME\s+VPN\s+NODE\s+INTERFACE\s+VLAN\s+IPV4-PE/);
    assert.match(sites.stdout, /blue-1\s+blue\s+pe1\s+eth1\s+101\s+10\.1\.0\.1\/30\s+10\.1\.0\.2/);
    const yaml = await run('get', 'vpn', 'blue', '-o', 'yaml');
    assert.equal(yaml.code, 0, yaml.stderr);
    assert.deepEqual(parse(yaml.stdout), (await h.call('GET', '/v1/vpns/blue')).body);
    const none = await run('get', 'sites', '--vpn', 'nope');
    assert.equal(none.code, 0);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /No sites found/);
  });

  test('a multi-homed site: create -f takes accesses; get lists each access\'s node, describe tabulates the accesses with their statuses and VRFs', async () => {
    const dual = `kind: site
id: blue-dual
vpn: blue
multihoming: single-active
accesses:
  - { id: west, node: pe1, interface: eth7, vlan: 70, ipv4: { peAddress: 10.7.0.1/30, ceAddress: 10.7.0.2 }, priority: 200 }
  - { id: east, node: pe2, interface: eth7, vlan: 70, ipv4: { peAddress: 10.7.1.1/30, ceAddress: 10.7.1.2 } }
routing: { static: [{ prefix: 192.168.70.0/24 }] }
`;
    const created = await run('create', '-f', file('dual.yaml', dual));
    assert.equal(created.code, 0, created.stderr);
    const list = await run('get', 'sites', '--node', 'pe2');
    assert.match(list.stdout, /blue-dual\s+blue\s+pe1,pe2\s+eth7,eth7\s+70,70\s/);
    const d = await run('describe', 'site', 'blue-dual');
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^Accesses \(single-active, most preferred first\):\n\s+ID\s+NODE\s+INTERFACE\s+VLAN\s+IPV4-PE\s+IPV6-PE\s+PRIORITY\s+STATUS\s+REASON\n\s+west\s+pe1\s+eth7\s+70\s+10\.7\.0\.1\/30\s+-\s+200\s+\S+.*\n\s+east\s+pe2\s+eth7\s+70\s+10\.7\.1\.1\/30\s+-\s+100\s+\S+/m);
    assert.match(d.stdout, /^VRFs:\s+blue:pe1, blue:pe2$/m);
    const refused = await run('revert', 'blue-dual');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /^Error 422/, 'a revertive site goes back by itself');
    const nonRevertive = dual.replace('id: blue-dual', 'id: blue-nr').replace('single-active', 'single-active\nrevertive: false').replaceAll('eth7', 'eth8').replaceAll('10.7.', '10.8.').replace('192.168.70.', '192.168.80.');
    const nr = await run('create', '-f', file('nr.yaml', nonRevertive));
    assert.equal(nr.code, 0, nr.stderr);
    assert.equal((await run('wait', 'site', 'blue-nr', '--for', 'active', '--timeout', '30s')).code, 0);
    const reverted = await run('revert', 'blue-nr');
    assert.equal(reverted.code, 0, reverted.stderr);
    assert.equal(reverted.stdout.trim(), 'site blue-nr: traffic reverted to its primary access west; its PEs are being reconciled');
    assert.equal((await run('delete', 'site', 'blue-nr')).code, 0);
    assert.equal((await run('delete', 'site', 'blue-dual')).code, 0);
  });

  test('wait returns once the site is active; -o json, describe and state show what the worker computed', async () => {
    const waited = await run('wait', 'site', 'blue-1', '--for', 'active', '--timeout', '30s');
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal(waited.stdout.trim(), 'site/blue-1 active');

    // Compared once the status has settled: the JSON the client prints is the API's body, byte for byte.
    const json = await run('get', 'site', 'blue-1', '-o', 'json');
    assert.equal(json.code, 0, json.stderr);
    const raw = await fetch(`${h.base}/v1/sites/blue-1`, { headers: { authorization: `Bearer ${h.tokens.read}` } });
    assert.equal(json.stdout.trimEnd(), await raw.text());

    const vrfs = await run('get', 'vrfs');
    assert.match(vrfs.stdout, /blue:pe1\s+blue\s+pe1\s+\S+\s+blue-1\s+/);
    const d = await run('describe', 'vrf', 'blue:pe1');
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^Name:\s+blue:pe1$/m);
    assert.match(d.stdout, /^Routes:\n\s+routes unavailable: /m, 'no bgp service: the routes say why they are missing');
    const routes = await run('routes', 'blue:pe1');
    assert.equal(routes.code, 1);
    assert.match(routes.stderr, /routes of VRF blue:pe1 are unavailable/);

    const state = await run('state', 'pe1', '-o', 'json');
    assert.equal(state.code, 0, state.stderr);
    const view = JSON.parse(state.stdout);
    assert.ok(view.desired.generation >= 1);
    assert.equal(view.inSync, false, 'no agent has reported');
    assert.equal(view.installed, undefined);
    const routePrefixes = view.desired.state.vrfRoutes.map((r: { prefix: string }) => r.prefix).sort();
    assert.deepEqual(routePrefixes, ['10.1.0.0/30', '192.168.1.0/24']);
    const table = await run('state', 'pe1');
    assert.match(table.stdout, new RegExp(`^pe1\\s+${view.desired.generation}\\s+<none>\\s+no\\s+<none>\\s+<never>\\s+1\\s+2\\s+`, 'm'));
    assert.match(table.stdout, /^VRF routes \(desired\)\n/m);
    assert.match(table.stdout, /blue\s+192\.168\.1\.0\/24\s+static\s+10\.1\.0\.2 via eth1\.101/);

    // The agent of pe1 reports the generation applied: state shows it in sync.
    const { client, metadata } = await h.agent('pe1');
    const report = ReportStatusRequest.fromPartial({ node: 'pe1', appliedGeneration: view.desired.generation, driver: 'soft', installedVrfs: 1, installedVrfRoutes: 2, installedLfibEntries: 1 });
    await new Promise((resolve, reject) => client.reportStatus(report, metadata, (e, r) => (e ? reject(e) : resolve(r))));
    const synced = await run('state', 'pe1');
    assert.match(synced.stdout, new RegExp(`^pe1\\s+${view.desired.generation}\\s+${view.desired.generation}\\s+yes\\s+soft\\s+\\d+s\\s`, 'm'));
    const node = await run('describe', 'node', 'pe1');
    assert.match(node.stdout, /^Sites:\n\s+NAME.*\n\s+blue-1\s+blue\s+pe1/m);
  });

  test('plan shows per node what would change, and changes nothing', async () => {
    const before = await h.call('GET', '/v1/nodes/pe2/state');
    const created = await run('plan', 'create', 'site', 'blue-2', '--vpn', 'blue', '--node', 'pe2', '--interface', 'eth2', '--vlan', '7',
      '--pe-address', '10.2.0.1/30', '--ce-address', '10.2.0.2', '--static', '192.168.2.0/24');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^site\/blue-2 would be created\n/);
    assert.match(created.stdout, /^\s+create site\/blue-2$/m);
    const rows = tableRows(created.stdout.split('\n').filter((l) => /^\s+(NODE|pe\d)\s/.test(l)).join('\n'));
    assert.deepEqual(rows[0], ['NODE', 'GENERATION', 'CHANGED', 'VRFS', 'ROUTES', 'LFIB', 'TRANSPORT', 'NEW-ALLOCATIONS']);
    const pe2 = rows.find((r) => r[0] === 'pe2');
    assert.ok(pe2, created.stdout);
    assert.equal(pe2[2], 'yes');
    assert.equal(pe2[3], '+1', 'one VRF added on pe2');
    assert.match(pe2[4]!, /^\+\d+/, 'routes added on pe2');
    assert.match(created.stdout, /\(dry run: nothing was changed\)\n$/);
    assert.equal((await h.call('GET', '/v1/sites/blue-2')).status, 404);

    const removal = await run('plan', 'delete', 'site', 'blue-1');
    assert.equal(removal.code, 0, removal.stderr);
    assert.match(removal.stdout, /^site\/blue-1 would be deleted\n/);
    assert.match(removal.stdout, /^\s+pe1\s+\d+\s+yes\s+-1\s+-2\s/m, 'pe1 would lose its VRF and both routes');
    assert.match(removal.stdout, /^\s+pe1 would withdraw \S+:10\.1\.0\.0\/30, \S+:192\.168\.1\.0\/24$/m);
    assert.match(removal.stdout, /^\s+pe1 would release label \d+.*\(into hold-down\)$/m);
    assert.equal((await h.call('GET', '/v1/sites/blue-1')).status, 200);
    assert.deepEqual((await h.call('GET', '/v1/nodes/pe2/state')).body.desired, before.body.desired, 'desired states untouched');

    const json = await run('plan', 'delete', 'site', 'blue-1', '-o', 'json');
    const answer = JSON.parse(json.stdout);
    assert.equal(answer.dryRun, true);
    assert.deepEqual(answer.affectedNodes, ['pe1']);
  });

  test('apply creates what is missing, replaces what exists under If-Match, and leaves the same alone', async () => {
    const site = (vlan: number) => `kind: site\nid: blue-2\nvpn: blue\nnode: pe2\ninterface: eth2\nvlan: ${vlan}\nipv4: { peAddress: 10.2.0.1/30, ceAddress: 10.2.0.2 }\n`;
    const first = await run('apply', '-f', file('s2.yaml', site(7)));
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), 'site/blue-2 created');
    const v1 = (await h.call('GET', '/v1/sites/blue-2')).body.version;

    const changed = await run('apply', '-f', file('s2.yaml', site(8)));
    assert.equal(changed.stdout.trim(), 'site/blue-2 configured', changed.stderr);
    const now = (await h.call('GET', '/v1/sites/blue-2')).body;
    assert.equal(now.vlan, 8);
    assert.equal(now.version, v1 + 1);

    const fromStdin = await l3vpn(['apply', '-f', '-'], env, site(8));
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(fromStdin.stdout.trim(), 'site/blue-2 unchanged');
    assert.equal((await h.call('GET', '/v1/sites/blue-2')).body.version, v1 + 1, 'an unchanged apply writes nothing');

    const planned = await run('plan', 'apply', '-f', file('s2.yaml', site(9)));
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stdout, /^site\/blue-2 would be configured\n\s+update site\/blue-2\n/);
    assert.equal((await h.call('GET', '/v1/sites/blue-2')).body.vlan, 8);
  });

  test('delete removes the resource; getting it again is a 404 with exit code 1', async () => {
    const out = await run('delete', 'site', 'blue-2');
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), 'site/blue-2 deleted');
    const gone = await run('get', 'site', 'blue-2');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^Error 404: No such resource\n\s+site 'blue-2'/);
  });

  test('join-token prints a one-time token (admin only) the agent enrols with; revoke-agent cuts it off', async () => {
    const denied = await run('join-token', 'pe2');
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /^Error 403/);
    const admin = { ...env, L3VPN_TOKEN: h.tokens.admin };
    const made = await l3vpn(['join-token', 'pe2', '--ttl', '10m'], admin);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^l3vpn_join_\S+\n$/);
    assert.match(made.stderr, /usable once until \S+Z/);
    const credential = await enrolWith(`127.0.0.1:${h.vpn.grpcPort}`, 'pe2', made.stdout.trim());
    assert.match(credential, /^l3vpn_node_/);
    const revoked = await l3vpn(['revoke-agent', 'pe2'], admin);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout.trim(), 'node pe2: 1 agent credential(s) and 0 join token(s) revoked; the agent enrols again with a new join token');
  });

  test('lists follow the cursor through every page', async () => {
    const nodes = Array.from({ length: 7 }, (_, i) => `kind: node\nid: p${i}\nrole: P\nrouterId: 10.255.1.${i + 1}\nasNumber: 65000\n`).join('---\n');
    assert.equal((await run('create', '-f', file('p.yaml', nodes))).code, 0);
    const page = await h.call('GET', '/v1/nodes?limit=3');
    assert.ok(page.body.next, 'the API pages at this size');
    const table = await run('get', 'nodes', '--page-size', '3', '--role', 'P');
    assert.deepEqual(tableRows(table.stdout).slice(1).map((r) => r[0]), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    const json = await run('get', 'nodes', '--page-size', '2', '-o', 'json');
    const all = JSON.parse(json.stdout);
    assert.equal(all.next, undefined);
    assert.deepEqual(all.items.map((n: { id: string }) => n.id), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'pe1', 'pe2']);
  });
});
