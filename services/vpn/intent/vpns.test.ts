import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IntentStore } from '../store/intent-store.js';
import type { SiteStore, SiteSummary } from '../store/site-store.js';
import type { VpnStore } from '../store/vpn-store.js';
import { IntentError } from './errors.js';
import type { VpnSpec, VpnView } from './types.js';
import { vpns } from './vpns.js';
import { WriteContext } from './write-context.js';

/** A part of the store with only the methods the VPN rules may call; any other call fails the test. */
const only = <T extends object>(name: string, methods: Partial<T> = {}) =>
  new Proxy(methods as T, {
    get: (target, method) =>
      (target as Record<string | symbol, unknown>)[method] ??
      (() => {
        throw new Error(`VPN rules called ${name}.${String(method)}`);
      }),
  });

interface Memory {
  vpns: Map<string, VpnSpec>;
  sites: (SiteSummary & { vpn: string })[];
  vrfs: { id: string; vpn: string; node: string; version: number }[];
}

/** An in-memory intent of VPNs, their sites and VRFs. */
function memoryStore(init: { vpns?: VpnSpec[]; sites?: Memory['sites']; vrfs?: { vpn: string; node: string }[] }) {
  const m: Memory = {
    vpns: new Map((init.vpns ?? []).map((v) => [v.id, v])),
    sites: init.sites ?? [],
    vrfs: (init.vrfs ?? []).map((v) => ({ ...v, id: `${v.vpn}:${v.node}`, version: 1 })),
  };
  const view = (v: VpnSpec): VpnView => ({ ...v, version: 1, status: { state: 'pending' }, createdAt: '', updatedAt: '' }) as VpnView;
  const store: IntentStore = {
    nodes: only('nodes'),
    interfaces: only('interfaces'),
    links: only('links'),
    vpns: only<VpnStore>('vpns', {
      read: async (id) => (m.vpns.has(id) ? view(m.vpns.get(id)!) : undefined),
      list: async () => [...m.vpns.values()].map(view),
      existing: async (ids) => ids.filter((id) => m.vpns.has(id)),
      rdOwner: async (rd, except) => [...m.vpns.values()].find((v) => v.id !== except && v.routeDistinguisher === rd)?.id,
      rtOwner: async (rt, except) => [...m.vpns.values()].find((v) => v.id !== except && Object.values(v.routeTargets ?? {}).includes(rt))?.id,
      importers: async (id) => [...m.vpns.values()].filter((v) => v.extranetImports?.includes(id)).map((v) => v.id),
      create: async (v) => void m.vpns.set(v.id, v),
      update: async (v) => void m.vpns.set(v.id, v),
      delete: async (id) => void m.vpns.delete(id),
    }),
    sites: only<SiteStore>('sites', {
      count: async ({ vpn, node }) => (node ? assert.fail('VPN rules count sites per VPN') : m.sites.filter((s) => s.vpn === vpn).length),
      ofVpn: async (vpn) => m.sites.filter((s) => s.vpn === vpn),
    }),
    vrfs: {
      read: async () => undefined,
      list: async () => [],
      exists: async (id) => m.vrfs.some((v) => v.id === id),
      create: async () => assert.fail('VPN writes create no VRF'),
      markPending: async (ids) => m.vrfs.filter((v) => ids.includes(v.id)).forEach((v) => v.version++),
      delete: async () => assert.fail('VPN writes delete no VRF'),
      ofVpns: async (ids) => m.vrfs.filter((v) => ids.includes(v.vpn)).map((v) => ({ id: v.id, node: v.node })),
    },
  };
  return { store, m };
}

const vpn = (v: Partial<VpnSpec> = {}): VpnSpec => ({ id: 'red', customer: 'acme', ...v });

async function refusal(store: IntentStore, v: VpnSpec, current?: VpnView): Promise<IntentError> {
  const err = await vpns.save(new WriteContext(store), v, current).then(
    () => assert.fail('the write was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IntentError, String(err));
  return err;
}

const problems = (e: IntentError) => e.fields.map((f) => `${f.pointer}: ${f.detail}`);

test('VPN rules: route targets must be those of the topology, hub and spoke apart', async () => {
  const { store } = memoryStore({});
  let err = await refusal(store, vpn({ routeTargets: { hub: '65000:1' } }));
  assert.equal(err.kind, 'semantic');
  assert.deepEqual(problems(err), ['/routeTargets/hub: a any-to-any VPN has no hub route target']);
  err = await refusal(store, vpn({ topology: 'hub-spoke', routeTargets: { anyToAny: '65000:1', hub: '65000:2', spoke: '65000:2' } }));
  assert.deepEqual(problems(err), ['/routeTargets/anyToAny: a hub-spoke VPN has no anyToAny route target', '/routeTargets/spoke: must differ from the hub route target']);
});

test('VPN rules: extranet imports name other VPNs that exist', async () => {
  const { store } = memoryStore({ vpns: [vpn({ id: 'blue' })] });
  const err = await refusal(store, vpn({ extranetImports: ['blue', 'red', 'green'] }));
  assert.deepEqual(problems(err), ['/extranetImports/1: a VPN does not import itself', "/extranetImports/2: no VPN 'green'"]);
});

test('VPN rules: a change of topology or families must still fit the VPN sites', async () => {
  const sites = [
    { id: 's1', vpn: 'red', role: 'any-to-any' as const, ipv4: true, ipv6: false },
    { id: 's2', vpn: 'red', role: 'any-to-any' as const, ipv4: false, ipv6: true },
  ];
  const { store } = memoryStore({ vpns: [vpn({ addressFamilies: ['ipv4', 'ipv6'] })], sites });
  const current = await store.vpns.read('red');
  let err = await refusal(store, vpn({ topology: 'hub-spoke', addressFamilies: ['ipv4', 'ipv6'] }), current);
  assert.deepEqual(problems(err), ['/topology: site(s) s1, s2 have role any-to-any, not hub or spoke']);
  err = await refusal(store, vpn({ addressFamilies: ['ipv4'] }), current);
  assert.equal(err.kind, 'conflict');
  assert.deepEqual(problems(err), ['/addressFamilies: site(s) s2 use IPv6']);
});

test('VPN rules: an RD or route target of another VPN is a conflict', async () => {
  const { store } = memoryStore({ vpns: [vpn({ id: 'blue', routeDistinguisher: '65000:7', routeTargets: { anyToAny: '65000:70' } })] });
  let err = await refusal(store, vpn({ routeDistinguisher: '65000:7' }));
  assert.equal(err.kind, 'conflict');
  assert.deepEqual(problems(err), ["/routeDistinguisher: route distinguisher 65000:7 belongs to VPN 'blue'"]);
  err = await refusal(store, vpn({ routeTargets: { anyToAny: '65000:70' } }));
  assert.deepEqual(problems(err), ["/routeTargets/anyToAny: route target 65000:70 belongs to VPN 'blue'"]);
});

test('VPN writes: an update re-targets its VRFs and those of the VPNs importing it', async () => {
  const { store, m } = memoryStore({
    vpns: [vpn(), vpn({ id: 'blue', extranetImports: ['red'] }), vpn({ id: 'green' })],
    vrfs: [
      { vpn: 'red', node: 'pe1' },
      { vpn: 'blue', node: 'pe2' },
      { vpn: 'green', node: 'pe3' },
    ],
  });
  const ctx = new WriteContext(store);
  await vpns.save(ctx, vpn({ description: 'now described' }), await store.vpns.read('red'));
  assert.equal(m.vpns.get('red')!.description, 'now described');
  assert.deepEqual(ctx.changes, [
    { kind: 'vpn', id: 'red', action: 'update' },
    { kind: 'vrf', id: 'red:pe1', action: 'update' },
    { kind: 'vrf', id: 'blue:pe2', action: 'update' },
  ]);
  assert.deepEqual([...ctx.nodes].sort(), ['pe1', 'pe2']);
  assert.deepEqual(m.vrfs.map((v) => v.version), [2, 2, 1]);
});

test('VPN deletes: refused while sites remain or another VPN imports it', async () => {
  const { store, m } = memoryStore({ vpns: [vpn(), vpn({ id: 'blue', extranetImports: ['red'] })], sites: [{ id: 's1', vpn: 'blue', role: 'any-to-any', ipv4: true, ipv6: false }] });
  let err = await vpns.remove(new WriteContext(store), (await store.vpns.read('blue'))!).catch((e: IntentError) => e);
  assert.deepEqual([err?.kind, err?.message], ['conflict', "VPN 'blue' still has 1 site(s); delete them first"]);
  err = await vpns.remove(new WriteContext(store), (await store.vpns.read('red'))!).catch((e: IntentError) => e);
  assert.deepEqual([err?.kind, err?.message], ['conflict', "VPN(s) blue import VPN 'red' (extranet)"]);
  m.sites.length = 0;
  await vpns.remove(new WriteContext(store), (await store.vpns.read('blue'))!);
  assert.equal(m.vpns.has('blue'), false);
});
