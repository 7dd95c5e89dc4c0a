import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bgpSessionsView, planView, routesView } from './views.js';

test("a VRF's routes as a table, best marked like gobgp; unavailable says why", () => {
  const out = routesView({
    state: 'available',
    routes: [
      { prefix: '10.1.0.0/24', nextHop: '10.1.0.2', labels: [], origin: 'local', best: true, routeDistinguisher: '65000:1', routeTargets: ['65000:100'] },
      { prefix: '10.2.0.0/24', nextHop: '192.0.2.2', labels: [16002, 24], origin: 'remote', best: true, routeDistinguisher: '65000:2', routeTargets: ['65000:100'] },
    ],
  });
  const lines = out.trimEnd().split('\n');
  assert.match(lines[0]!, /^PREFIX\s+NEXT-HOP\s+LABELS\s+RD\s+ORIGIN\s+BEST\s+ROUTE-TARGETS$/);
  assert.match(lines[2]!, /^10\.2\.0\.0\/24\s+192\.0\.2\.2\s+16002\/24\s+65000:2\s+remote\s+\*\s+65000:100$/);
  assert.equal(routesView({ state: 'unavailable', reason: 'no bgp service', routes: [] }), 'routes unavailable: no bgp service\n');
});

test('a plan lists the intent changes, then per node +added ~modified -deleted, releases and withdrawals', () => {
  const zero = { added: 0, modified: 0, deleted: 0 };
  const out = planView('site/s1 would be deleted', {
    changes: [{ kind: 'site', id: 's1', action: 'delete' }],
    affectedNodes: ['pe1'],
    plan: [
      {
        node: 'pe1',
        generation: 4,
        changed: true,
        vrfs: { added: 0, modified: 1, deleted: 0 },
        routes: { added: 0, modified: 0, deleted: 2 },
        lfibEntries: zero,
        transportPaths: zero,
        newAllocations: [],
        releases: { labels: [{ owner: 'ce:x', label: 17 }], routeDistinguishers: [] },
        withdrawnRoutes: [{ vrf: 'blue', prefix: '10.1.0.0/24', routeDistinguisher: '65000:1' }],
      },
    ],
    releases: { routeTargets: [{ owner: 'rt:blue', value: '65000:100' }], routeDistinguishers: [] },
  });
  assert.equal(
    out,
    [
      'site/s1 would be deleted',
      '  delete site/s1',
      '  NODE   GENERATION   CHANGED   VRFS   ROUTES   LFIB   TRANSPORT   NEW-ALLOCATIONS',
      '  pe1    4            yes       ~1     -2       0      0           0',
      '  pe1 would release label 17 (into hold-down)',
      '  pe1 would withdraw 65000:1:10.1.0.0/24',
      '  would release 65000:100 (into hold-down)',
      '',
    ].join('\n'),
  );
});

test("a site's PE-CE sessions: one row per access and CE address, with prefix counts and the last error", () => {
  const text = bgpSessionsView([
    {
      id: 'a1',
      node: 'pe1',
      bgpSessions: [
        { ceAddress: '10.1.1.2', state: 'established', prefixesReceived: 4, prefixesAccepted: 3, prefixesAdvertised: 9, maxPrefix: 'warning' },
        { ceAddress: '2001:db8::2', state: 'active', prefixesReceived: 0, prefixesAccepted: 0, prefixesAdvertised: 0, lastError: 'hold timer expired' },
      ],
    },
  ]);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^ACCESS\s+NODE\s+CE\s+STATE\s+PREFIXES RCVD\/ACC\/ADV\s+LAST-ERROR$/);
  assert.match(lines[1]!, /^a1\s+pe1\s+10\.1\.1\.2\s+established \(max-prefix warning\)\s+4\/3\/9\s*$/);
  assert.match(lines[2]!, /^a1\s+pe1\s+2001:db8::2\s+active\s+0\/0\/0\s+hold timer expired$/);
  assert.equal(bgpSessionsView([{ id: 'a1', node: 'pe1' }]), 'no sessions\n');
});
