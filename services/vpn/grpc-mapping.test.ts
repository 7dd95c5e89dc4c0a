import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Site as PbSite, SiteMaxPrefixAction } from '../common/gen/proto/l3vpn/v1/vpn.js';
import { siteFromPb, siteToPb } from './grpc-mapping.js';
import type { SiteView } from './intent/types.js';

test("routing.bgp's options both ways: proto3's zero values are left out of the spec, the action by name", () => {
  const pb = PbSite.fromPartial({
    id: 's1',
    vpn: 'acme',
    routing: { bgp: { peerAs: 65101, asOverride: true, allowasIn: 0, maxPrefix: { limit: 100, warningPercent: 0, action: SiteMaxPrefixAction.SITE_MAX_PREFIX_ACTION_WARNING_ONLY, restartInterval: 30 } } },
  });
  assert.deepEqual(siteFromPb(pb).routing, { bgp: { peerAs: 65101, asOverride: true, maxPrefix: { limit: 100, action: 'warning-only', restartInterval: 30 } } });
  assert.deepEqual(siteFromPb(PbSite.fromPartial({ id: 's1', vpn: 'acme', routing: { bgp: { peerAs: 65101 } } })).routing, { bgp: { peerAs: 65101 } });

  const view = {
    id: 's1',
    vpn: 'acme',
    role: 'any-to-any',
    multihoming: 'single-active',
    routing: { bgp: { peerAs: 65101, allowasIn: 3, maxPrefix: { limit: 10 } } },
    accesses: [
      {
        id: 's1',
        node: 'pe1',
        interface: 'ce0',
        priority: 100,
        status: { state: 'active' },
        bgpSessions: [
          { ceAddress: '10.1.1.2', state: 'established', prefixesReceived: 2, prefixesAccepted: 2, prefixesAdvertised: 5 },
          { ceAddress: '2001:db8::2', state: 'idle', prefixesReceived: 0, prefixesAccepted: 0, prefixesAdvertised: 0, maxPrefix: 'exceeded', lastError: 'maximum number of prefixes reached' },
        ],
      },
    ],
    version: 1,
    status: { state: 'active' },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  } as SiteView;
  const out = siteToPb(view);
  assert.deepEqual(out.routing?.bgp, { peerAs: 65101, asOverride: false, allowasIn: 3, maxPrefix: { limit: 10, warningPercent: 0, action: SiteMaxPrefixAction.SITE_MAX_PREFIX_ACTION_UNSPECIFIED, restartInterval: 0 } });
  assert.deepEqual(out.accesses[0]!.bgpSessions, [
    { ceAddress: '10.1.1.2', state: 'established', prefixesReceived: 2, prefixesAccepted: 2, prefixesAdvertised: 5, lastError: '', maxPrefix: '' },
    { ceAddress: '2001:db8::2', state: 'idle', prefixesReceived: 0, prefixesAccepted: 0, prefixesAdvertised: 0, lastError: 'maximum number of prefixes reached', maxPrefix: 'exceeded' },
  ]);
});

test('revertive both ways: unset is not false (optional bool); active_access output only, empty until decided', () => {
  assert.equal(siteFromPb(PbSite.fromPartial({ id: 's1', vpn: 'acme' })).revertive, undefined);
  assert.equal(siteFromPb(PbSite.fromPartial({ id: 's1', vpn: 'acme', revertive: false })).revertive, false);
  const access = (id: string, node: string) => ({ id, node, interface: 'ce0', priority: 100, status: { state: 'active' as const } });
  const view = {
    id: 'm',
    vpn: 'acme',
    role: 'any-to-any',
    multihoming: 'single-active',
    revertive: false,
    activeAccess: 'b',
    accesses: [access('a', 'pe1'), access('b', 'pe2')],
    version: 1,
    status: { state: 'active' },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  } as SiteView;
  const out = siteToPb(view);
  assert.deepEqual([out.revertive, out.activeAccess], [false, 'b']);
  const { revertive: _r, activeAccess: _a, ...undecided } = view;
  assert.deepEqual([siteToPb(undecided).revertive, siteToPb(undecided).activeAccess], [undefined, '']);
  assert.equal(siteFromPb(PbSite.fromPartial(out)).revertive, false, 'a GET answer sent back keeps it');
});
