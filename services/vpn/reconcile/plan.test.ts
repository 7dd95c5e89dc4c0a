import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IdentifierClaim, VpnIdentifiers } from '../domain/allocation.js';
import type { VpnRouting } from '../routes/vpn-routing.js';
import type { AllocationReads } from '../store/allocation-store.js';
import type { PlanReads } from '../store/intent-transactions.js';
import type { LabelsApi } from './labels-client.js';
import { owners } from './owners.js';
import { Planner } from './plan.js';

const claim = (owner: string, kind: 'rt' | 'rd', value: string | null): IdentifierClaim => ({ owner, kind, vpnId: owner.split(':')[1]!, administrator: '65000', value });

function readsOf(claims: IdentifierClaim[], vpns: VpnIdentifiers[]): PlanReads {
  const allocations: AllocationReads = {
    recordedLabels: async (nodes) => new Map(nodes.map((n) => [n, new Map()])),
    tablesInUse: async () => new Map(),
    ownedRouteDistinguishers: async () => [],
    claimsWithValues: async (ids) => claims.filter((c) => ids.includes(c.vpnId) && c.value !== null),
    vpnIdentifiers: async (ids) => vpns.filter((v) => ids.includes(v.id)),
  };
  return { allocations, nodeIntent: async () => undefined, latestState: async () => undefined };
}

test("a dry run of a VPN write lists the route targets and given RD the sweep would release: those the VPN no longer wants, or every one of a VPN deleted", async () => {
  const planner = new Planner({} as LabelsApi, {} as VpnRouting);
  const claims = [
    claim(owners.routeTarget('blue', 'any-to-any'), 'rt', '65000:1'),
    claim(owners.routeTarget('blue', 'hub'), 'rt', '65000:2'),
    claim(owners.vpnRd('blue'), 'rd', '64999:1'),
    claim(owners.routeTarget('red', 'any-to-any'), 'rt', '65000:3'),
    claim(owners.vpnRd('red'), 'rd', '64999:9'),
    claim(owners.routeTarget('green', 'any-to-any'), 'rt', '65000:4'),
  ];
  // blue went hub-spoke -> any-to-any and gives another RD now; red is deleted; green is not part of the write.
  const vpns: VpnIdentifiers[] = [
    { id: 'blue', routeDistinguisher: '64999:2', routeTargets: [{ role: 'any-to-any', value: '65000:1', given: false }] },
    { id: 'green', routeDistinguisher: null, routeTargets: [] },
  ];
  const { releases } = await planner.plan(readsOf(claims, vpns), [], ['blue', 'red']);
  assert.deepEqual(releases, {
    routeTargets: [
      { owner: owners.routeTarget('blue', 'hub'), value: '65000:2' },
      { owner: owners.routeTarget('red', 'any-to-any'), value: '65000:3' },
    ],
    routeDistinguishers: [
      { owner: owners.vpnRd('blue'), value: '64999:1' },
      { owner: owners.vpnRd('red'), value: '64999:9' },
    ],
  });
  assert.deepEqual((await planner.plan(readsOf(claims, vpns), [], [])).releases, { routeTargets: [], routeDistinguishers: [] }, 'a write of no VPN releases none');
});
