import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IntentStore } from '../store/intent-store.js';
import type { InterfaceStore } from '../store/interface-store.js';
import type { NodeStore } from '../store/node-store.js';
import type { SiteStore } from '../store/site-store.js';
import type { VpnStore } from '../store/vpn-store.js';
import type { VrfStore } from '../store/vrf-store.js';
import { IntentError } from './errors.js';
import { sites } from './sites.js';
import type { NodeView, SiteAccess, SiteSpec, SiteView, VpnView } from './types.js';
import { WriteContext } from './write-context.js';
import { accessesOf, flatFields } from '../domain/site-access.js';

/** A part of the store with only the methods the site rules may call; any other call fails the test. */
const only = <T extends object>(name: string, methods: Partial<T> = {}) =>
  new Proxy(methods as T, {
    get: (target, method) =>
      (target as Record<string | symbol, unknown>)[method] ??
      (() => {
        throw new Error(`site rules called ${name}.${String(method)}`);
      }),
  });

const meta = { version: 1, status: { state: 'pending' as const }, createdAt: '', updatedAt: '' };
const pe = (id: string, role: 'PE' | 'P' = 'PE'): NodeView => ({ id, name: id, role, routerId: '192.0.2.1', loopback: '192.0.2.1', asNumber: 65000, transport: 'sr', ...meta });
const vpnOf = (v: Partial<VpnView> & { id: string }): VpnView => ({ customer: 'acme', topology: 'any-to-any', addressFamilies: ['ipv4'], maxRoutesPerVrf: 100, extranetImports: [], labelMode: 'per-vrf', routeTargets: {}, ...meta, ...v });

/** An in-memory intent: nodes, VPNs, sites, the links' interfaces and VRFs. */
function memoryStore(init: { nodes?: NodeView[]; vpns?: VpnView[]; sites?: SiteView[]; links?: { id: string; node: string; interface: string }[] }) {
  const nodes = new Map((init.nodes ?? [pe('pe1'), pe('p1', 'P')]).map((n) => [n.id, n]));
  const vpns = new Map((init.vpns ?? [vpnOf({ id: 'red' })]).map((v) => [v.id, v]));
  const stored = new Map((init.sites ?? []).map((s) => [s.id, s]));
  const vrfs = new Set<string>();
  const pending: string[] = [];
  const save = async (s: SiteSpec, role: SiteView['role']) => void stored.set(s.id, view(s, role));
  const on = (s: SiteView, node: string) => s.accesses.find((a) => a.node === node);
  const store: IntentStore = {
    nodes: only<NodeStore>('nodes', {
      lock: async (ids) => ids.filter((id) => nodes.has(id)),
      read: async (id) => nodes.get(id),
    }),
    vpns: only<VpnStore>('vpns', {
      read: async (id) => vpns.get(id),
      markPending: async (id) => void pending.push(id),
    }),
    sites: only<SiteStore>('sites', {
      read: async (id) => stored.get(id),
      count: async ({ vpn, node }) => [...stored.values()].filter((s) => s.vpn === vpn && on(s, node!)).length,
      inVrf: async (vpn, node, except) => [...stored.values()].filter((s) => s.vpn === vpn && on(s, node) && s.id !== except),
      onPort: async (node, ifname, vlan, except) =>
        [...stored.values()].find((s) => s.id !== except && s.accesses.some((a) => a.node === node && a.interface === ifname && (a.vlan ?? 0) === vlan))?.id,
      create: save,
      update: save,
      delete: async (id) => void stored.delete(id),
    }),
    interfaces: only<InterfaceStore>('interfaces', {
      linkOn: async (e) => (init.links ?? []).find((l) => l.node === e.node && l.interface === e.interface)?.id,
    }),
    vrfs: only<VrfStore>('vrfs', {
      exists: async (id) => vrfs.has(id),
      create: async ({ id }) => void vrfs.add(id),
      markPending: async () => {},
      delete: async (id) => void vrfs.delete(id),
    }),
    links: only('links'),
  };
  return { store, stored, vrfs, pending };
}

const site = (s: Partial<SiteSpec> = {}): SiteSpec => ({
  id: 's1',
  vpn: 'red',
  node: 'pe1',
  interface: 'ce0',
  ipv4: { peAddress: '10.1.0.1/30', ceAddress: '10.1.0.2' },
  ...s,
});
/** As the store shows a written site: `accesses` always, the flat fields when there is one. */
function view(s: SiteSpec, role: SiteView['role'] = 'any-to-any'): SiteView {
  const accesses = accessesOf(s).map((a) => ({ ...a, priority: a.priority ?? 100, status: meta.status }));
  const { accesses: _written, ...rest } = s;
  return { ...rest, ...(accesses.length === 1 ? flatFields(accesses[0]!) : {}), accesses, multihoming: s.multihoming ?? 'single-active', role, ...meta };
}

async function refusal(store: IntentStore, s: SiteSpec): Promise<IntentError> {
  const err = await sites.save(new WriteContext(store), s, undefined).then(
    () => assert.fail('the write was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IntentError, String(err));
  return err;
}

const problems = (e: IntentError) => e.fields.map((f) => `${f.pointer}: ${f.detail}`);

test('site rules: a site attaches to a PE that exists, in a VPN that exists', async () => {
  const { store } = memoryStore({});
  assert.deepEqual(problems(await refusal(store, site({ vpn: 'blue', node: 'pe9' }))), ["/vpn: no VPN 'blue'", "/node: no node 'pe9'"]);
  assert.deepEqual(problems(await refusal(store, site({ node: 'p1' }))), ["/node: node 'p1' is a P router; sites attach to PEs"]);
});

test("site rules: the role fits the VPN's topology, the addresses its families, the CE AS is not the PE's", async () => {
  const { store } = memoryStore({ vpns: [vpnOf({ id: 'red' }), vpnOf({ id: 'hs', topology: 'hub-spoke' })] });
  assert.deepEqual(problems(await refusal(store, site({ vpn: 'hs' }))), ['/role: a site of a hub-spoke VPN must be a hub or a spoke']);
  assert.deepEqual(problems(await refusal(store, site({ role: 'hub' }))), ['/role: a site of an any-to-any VPN cannot be a hub']);
  const err = await refusal(store, site({ ipv4: { peAddress: '10.1.0.1/30', ceAddress: '10.1.0.9' }, ipv6: { peAddress: '2001:db8::1/64', ceAddress: '2001:db8::2' }, routing: { bgp: { peerAs: 65000 } } }));
  assert.deepEqual(problems(err), [
    '/ipv4/ceAddress: is not in the PE interface subnet 10.1.0.0/30',
    "/ipv6: VPN 'red' does not carry ipv6 (addressFamilies: ipv4)",
    '/routing/bgp/peerAs: equals the AS 65000 of PE pe1; PE-CE routing here is eBGP',
  ]);
});

test('site rules: one VRF holds hubs or spokes, not both, and no more static routes than the VPN allows', async () => {
  const hub = view(site({ id: 'h1', interface: 'ce1', ipv4: undefined, routing: { static: [{ prefix: '10.9.0.0/16' }] } }), 'hub');
  const { store } = memoryStore({ vpns: [vpnOf({ id: 'red', topology: 'hub-spoke', maxRoutesPerVrf: 2 })], sites: [{ ...hub, vpn: 'red' }] });
  const err = await refusal(store, site({ role: 'spoke', routing: { static: [{ prefix: '10.8.0.0/16' }, { prefix: '10.7.0.0/16' }] } }));
  assert.deepEqual(problems(err), [
    "/role: site 'h1' of this VPN on pe1 is a hub; hubs and spokes of one VPN need different PEs",
    "/routing/static: the VRF on pe1 would hold 3 static routes, above the VPN's maxRoutesPerVrf (2)",
  ]);
});

test('site rules: a used port and VLAN, a core interface, or an overlapping subnet in the VRF is a conflict', async () => {
  const other = view(site({ id: 's0', interface: 'ce9', vlan: 10 }));
  const { store } = memoryStore({ sites: [other], links: [{ id: 'l1', node: 'pe1', interface: 'core0' }] });
  let err = await refusal(store, site({ interface: 'ce9', vlan: 10, ipv4: undefined }));
  assert.equal(err.kind, 'conflict');
  assert.deepEqual(problems(err), ["/vlan: VLAN 10 on pe1 ce9 is already used by site 's0'"]);
  err = await refusal(store, site({ interface: 'core0' }));
  assert.deepEqual(problems(err), ["/interface: pe1 core0 is a core interface (link 'l1')"]);
  err = await refusal(store, site({ ipv4: { peAddress: '10.1.0.2/29', ceAddress: '10.1.0.3' } }));
  assert.deepEqual(problems(err), ["/ipv4/peAddress: 10.1.0.0/29 overlaps 10.1.0.1/30 of site 's0' in the same VRF on pe1"]);
  await sites.save(new WriteContext(store), site({ interface: 'ce9', vlan: 11, ipv4: { peAddress: '10.2.0.1/30', ceAddress: '10.2.0.2' } }), undefined);
});

test("site writes: the first site of a VPN on a PE makes its VRF, the last one's delete removes it", async () => {
  const { store, stored, vrfs, pending } = memoryStore({});
  let ctx = new WriteContext(store);
  await sites.save(ctx, site({ siteOfOrigin: '65000:001' }), undefined);
  assert.equal(stored.get('s1')!.role, 'any-to-any');
  assert.equal(stored.get('s1')!.siteOfOrigin, '65000:1', 'the site of origin is stored canonical');
  assert.deepEqual(ctx.changes, [
    { kind: 'site', id: 's1', action: 'create' },
    { kind: 'vrf', id: 'red:pe1', action: 'create' },
  ]);
  assert.deepEqual([...vrfs], ['red:pe1']);
  assert.deepEqual([...ctx.nodes], ['pe1']);
  assert.deepEqual(pending, ['red']);
  ctx = new WriteContext(store);
  await sites.remove(ctx, stored.get('s1')!);
  assert.deepEqual(ctx.changes, [
    { kind: 'site', id: 's1', action: 'delete' },
    { kind: 'vrf', id: 'red:pe1', action: 'delete' },
  ]);
  assert.equal(vrfs.size, 0);
});

const access = (id: string, node: string, n: number, extra: Partial<SiteAccess> = {}): SiteAccess => ({
  id,
  node,
  interface: 'ce0',
  vlan: 100 + n,
  ipv4: { peAddress: `10.2.${n}.1/30`, ceAddress: `10.2.${n}.2` },
  ...extra,
});
const multi = (accesses: SiteAccess[], s: Partial<SiteSpec> = {}): SiteSpec => ({ id: 'm1', vpn: 'red', accesses, ...s });

test('site rules, multi-homed: every access on an existing PE, no P node, no provider AS as peer AS; pointers name the access', async () => {
  const { store } = memoryStore({ nodes: [pe('pe1'), pe('pe2'), pe('p1', 'P'), { ...pe('pe3'), asNumber: 65003 }] });
  const err = await refusal(store, multi([access('a', 'pe1', 1), access('b', 'p1', 2), access('c', 'pe9', 3)]));
  assert.deepEqual(problems(err), ["/accesses/1/node: node 'p1' is a P router; sites attach to PEs", "/accesses/2/node: no node 'pe9'"]);
  // The peer AS may be no PE's AS, whichever access's PE it is.
  const as = await refusal(store, multi([access('a', 'pe1', 1), access('b', 'pe3', 2)], { routing: { bgp: { peerAs: 65003 } } }));
  assert.deepEqual(problems(as), ['/routing/bgp/peerAs: equals the AS 65003 of PE pe3; PE-CE routing here is eBGP']);
  assert.equal(as.kind, 'semantic');
  // Addressing is checked per access.
  const addr = await refusal(store, multi([access('a', 'pe1', 1), access('b', 'pe2', 2, { ipv4: { peAddress: '10.2.2.1/30', ceAddress: '10.9.9.9' } })]));
  assert.deepEqual(problems(addr), ['/accesses/1/ipv4/ceAddress: is not in the PE interface subnet 10.2.2.0/30']);
});

test('site rules, multi-homed: within one site, unique access ids, one access per PE, never one port and VLAN twice (422)', async () => {
  const { store } = memoryStore({ nodes: [pe('pe1'), pe('pe2')] });
  const dupPort = await refusal(store, multi([access('a', 'pe1', 1), access('b', 'pe1', 1, { ipv4: { peAddress: '10.3.0.1/30', ceAddress: '10.3.0.2' } })]));
  assert.deepEqual([dupPort.kind, problems(dupPort)], ['semantic', ['/accesses/1/vlan: pe1 ce0 VLAN 101 is also /accesses/0']]);
  const samePe = await refusal(store, multi([access('a', 'pe1', 1), access('b', 'pe1', 2)]));
  assert.deepEqual(problems(samePe), ['/accesses/1/node: the site already has /accesses/0 on pe1; a site has one access per PE (its VRF there has one RD)']);
  const dupId = await refusal(store, multi([access('a', 'pe1', 1), access('a', 'pe2', 2)]));
  assert.deepEqual(problems(dupId), ['/accesses/1/id: is also the id of /accesses/0']);
});

test('site rules, multi-homed: another site on an access\'s port and VLAN, or overlapping an access\'s subnet in that VRF, is a conflict naming the access', async () => {
  const other = view(site({ id: 'o1', node: 'pe2', interface: 'ce0', vlan: 102, ipv4: { peAddress: '10.5.0.1/24', ceAddress: '10.5.0.2' } }));
  const { store } = memoryStore({ nodes: [pe('pe1'), pe('pe2')], sites: [other] });
  const port = await refusal(store, multi([access('a', 'pe1', 1), access('b', 'pe2', 2)]));
  assert.deepEqual([port.kind, problems(port)], ['conflict', ["/accesses/1/vlan: VLAN 102 on pe2 ce0 is already used by site 'o1'"]]);
  const overlap = await refusal(store, multi([access('a', 'pe1', 1), access('b', 'pe2', 3, { ipv4: { peAddress: '10.5.0.129/25', ceAddress: '10.5.0.130' } })]));
  assert.deepEqual([overlap.kind, problems(overlap)], ['conflict', ["/accesses/1/ipv4/peAddress: 10.5.0.128/25 overlaps 10.5.0.1/24 of site 'o1' in the same VRF on pe2"]]);
});

test('site rules: the flat fields and accesses may both be given only when they say the same; a multi-homed site puts its VRF on each PE', async () => {
  const { store, stored, vrfs } = memoryStore({ nodes: [pe('pe1'), pe('pe2')] });
  const flat = site();
  const both = { ...flat, accesses: [{ id: 's1', node: 'pe1', interface: 'ce0', ipv4: flat.ipv4! }] };
  await sites.save(new WriteContext(store), both, undefined);
  assert.deepEqual(stored.get('s1')!.accesses.map((a) => [a.id, a.node, a.interface]), [['s1', 'pe1', 'ce0']]);
  const differs = await refusal(store, { ...both, id: 's2', interface: 'ce7' });
  assert.deepEqual(problems(differs), ['/interface: differs from /accesses/0/interface; give the access once']);
  const ctx = new WriteContext(store);
  await sites.save(ctx, multi([access('a', 'pe1', 1), access('b', 'pe2', 2)], { multihoming: 'all-active' }), undefined);
  assert.ok(vrfs.has('red:pe1') && vrfs.has('red:pe2'));
  assert.deepEqual(stored.get('m1')!.node, undefined, 'a multi-homed site shows no flat access');
});

test('site rules: a site written flat is patched in its flat form, one written with accesses in them', () => {
  const one = view(site());
  assert.equal('accesses' in sites.patchBase!(one), false);
  assert.equal(sites.patchBase!(view(multi([access('a', 'pe1', 1), access('b', 'pe2', 2)]))).accesses?.length, 2);
  assert.deepEqual(sites.patchBase!(view(multi([access('a', 'pe1', 1, { priority: 7 })]))).accesses?.map((a) => [a.id, a.priority]), [['a', 7]], 'written with accesses: patched in them');
});

test('site rules: revertive is for single-active sites with several accesses; true and false are stored as given', async () => {
  const { store, stored } = memoryStore({ nodes: [pe('pe1'), pe('pe2')] });
  const dual = [access('a', 'pe1', 1), access('b', 'pe2', 2)];
  await sites.save(new WriteContext(store), multi(dual, { revertive: true }), undefined);
  await sites.save(new WriteContext(store), multi([access('a', 'pe1', 3), access('b', 'pe2', 4)], { id: 'm2', revertive: false }), undefined);
  assert.deepEqual([stored.get('m1')!.revertive, stored.get('m2')!.revertive], [true, false]);
  const allActive = await refusal(store, multi(dual, { id: 'm3', multihoming: 'all-active', revertive: false }));
  assert.match(problems(allActive)[0]!, /^\/revertive: applies to single-active multihoming only/);
  const one = await refusal(store, site({ revertive: false }));
  assert.match(problems(one)[0]!, /^\/revertive: applies to a site with several accesses only/);
  assert.equal(stored.has('m3'), false, 'nothing refused is stored');
  assert.equal('revertive' in sites.patchBase!(view(multi(dual, { revertive: true }))), false, 'the default is not patched: a patch to all-active stays valid');
  assert.equal(sites.patchBase!(view(multi(dual, { revertive: false }))).revertive, false);
});
