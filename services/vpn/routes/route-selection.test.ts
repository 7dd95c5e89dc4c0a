import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportedRoutes, type ExportingVrf } from './route-selection.js';

const site = { connected: ['192.168.1.0/30', '2001:db8:1::/64'], statics: ['10.1.0.0/16', '2001:db8:a1::/48'], ceLabels: { 4: 120, 6: 121 }, prefixLabels: {} };
const vrf = (extra: Partial<ExportingVrf>): ExportingVrf => ({ node: 'pe1', nextHop: '10.255.0.1', name: 'red', rd: '65000:1', labelMode: 'per-vrf', exportRouteTargets: [], sites: [site], ...extra });
const labels = (v: ExportingVrf) => Object.fromEntries(exportedRoutes(v).map((r) => [r.prefix, r.label]));

test('route selection: a VRF\u2019s IPv6 label carries its IPv6 routes wherever its VRF label would (per-VRF label per address family)', () => {
  assert.deepEqual(labels(vrf({ vrfLabel: 100, vrfLabelIpv6: 102 })), { '192.168.1.0/30': 100, '2001:db8:1::/64': 102, '10.1.0.0/16': 100, '2001:db8:a1::/48': 102 });
  // Without one, the VRF label carries both families, as before.
  assert.deepEqual(labels(vrf({ vrfLabel: 100 })), { '192.168.1.0/30': 100, '2001:db8:1::/64': 100, '10.1.0.0/16': 100, '2001:db8:a1::/48': 100 });
  // per-CE: the CE's labels for its prefixes, the VRF's labels (by family) for the connected subnets.
  assert.deepEqual(labels(vrf({ labelMode: 'per-ce', vrfLabel: 100, vrfLabelIpv6: 102 })), { '192.168.1.0/30': 100, '2001:db8:1::/64': 102, '10.1.0.0/16': 120, '2001:db8:a1::/48': 121 });
});
