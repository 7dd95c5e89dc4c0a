import { oneAccessSite } from '../domain/test-sites.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { AllocationState, type Label } from '../../common/gen/proto/l3vpn/v1/labels.js';
import type { IdentifierClaim, RecordedVrfAllocation, VpnIdentifiers } from '../domain/allocation.js';
import type { Node, NodeIntent, Site, Vpn, VrfIntent } from '../domain/node-intent.js';
import type { Meta } from '../intent/types.js';
import type { AllocationStore, AllocationUnit } from '../store/allocation-store.js';
import { NodeAllocator } from './allocator.js';
import type { LabelsApi } from './labels-client.js';
import { FIRST_TABLE_ID, owners, SR_DOMAIN } from './owners.js';

const POOL = '65000';
const meta: Meta = { version: 1, status: { state: 'active' }, createdAt: '', updatedAt: '' };

/** The labels service as the allocator sees it: owner-keyed, idempotent, SID indexes with hold-down. */
class FakeLabels {
  readonly calls: string[] = [];
  /** SR domain: index -> owner and whether it is held down after a release. */
  readonly sids = new Map<number, { owner: string; held: boolean; reusableAt?: Date }>();
  /** Per node: owner -> label. */
  readonly vpnLabels = new Map<string, Map<string, number>>();
  /** Route targets and RDs: owner -> value. */
  readonly values = new Map<string, string>();
  private next = 100;

  api(): LabelsApi {
    const api = {
      configureLabelSpaces: async () => ({}),
      allocateLabel: async ({ owner, sidIndex }: { owner: string; sidIndex: number }) => {
        this.calls.push(`allocateLabel ${owner} ${sidIndex}`);
        const other = [...this.sids].find(([i, s]) => s.owner === owner && !s.held && i !== sidIndex);
        const taken = this.sids.get(sidIndex);
        if (other || (taken && taken.owner !== owner)) throw Object.assign(new Error('taken'), { code: status.FAILED_PRECONDITION });
        this.sids.set(sidIndex, { owner, held: false });
        return {};
      },
      releaseLabel: async ({ owner }: { owner: string }) => {
        this.calls.push(`releaseLabel ${owner}`);
        for (const s of this.sids.values()) if (s.owner === owner) s.held = true;
        return {};
      },
      listLabels: async ({ node }: { node: string }) => {
        const labels: Partial<Label>[] =
          node === SR_DOMAIN
            ? [...this.sids].map(([sidIndex, s]) => ({ owner: s.owner, sidIndex, state: s.held ? AllocationState.ALLOCATION_STATE_HELD : AllocationState.ALLOCATION_STATE_ALLOCATED, reusableAt: s.reusableAt }))
            : [...(this.vpnLabels.get(node) ?? [])].map(([owner, label]) => ({ owner, label, state: AllocationState.ALLOCATION_STATE_ALLOCATED }));
        return { labels, nextPageToken: '' };
      },
      allocateLabels: async ({ node, requests }: { node: string; requests: { owner: string }[] }) => {
        const held = this.vpnLabels.get(node) ?? new Map<string, number>();
        this.vpnLabels.set(node, held);
        for (const r of requests) if (!held.has(r.owner)) held.set(r.owner, this.next++);
        return { labels: requests.map((r) => ({ owner: r.owner, label: held.get(r.owner)! })) };
      },
      releaseLabels: async ({ node, owners: released }: { node: string; owners: string[] }) => {
        this.calls.push(`releaseLabels ${node} ${released.join(',')}`);
        for (const o of released) this.vpnLabels.get(node)?.delete(o);
        return {};
      },
      allocateRouteTarget: async (r: { owner: string; administrator: string; value: string }) => ({ routeTarget: { value: this.allocate('rt', r) } }),
      allocateRouteDistinguisher: async (r: { owner: string; administrator: string; value: string }) => ({ routeDistinguisher: { value: this.allocate('rd', r) } }),
      releaseRouteTarget: async ({ owner, administrator }: { owner: string; administrator: string }) => this.release('rt', owner, administrator),
      releaseRouteDistinguisher: async ({ owner, administrator }: { owner: string; administrator: string }) => this.release('rd', owner, administrator),
    };
    return api as unknown as LabelsApi;
  }

  private allocate(kind: string, { owner, administrator, value }: { owner: string; administrator: string; value: string }): string {
    this.calls.push(`allocate ${kind} ${owner} ${administrator || '-'} ${value || '-'}`);
    if (value) this.values.set(owner, value);
    else if (!this.values.has(owner)) this.values.set(owner, `${administrator}:${this.next++}`);
    return this.values.get(owner)!;
  }

  private release(kind: string, owner: string, administrator: string): object {
    this.calls.push(`release ${kind} ${owner} ${administrator}`);
    this.values.delete(owner);
    return {};
  }
}

/** The allocation store in memory; `locks` records the locks each transaction took, in order. */
class MemoryAllocations implements AllocationStore {
  readonly vpns = new Map<string, VpnIdentifiers>();
  readonly claimRows = new Map<string, IdentifierClaim>();
  readonly allocations = new Map<string, RecordedVrfAllocation>();
  readonly vrfRds = new Map<string, string | null>();
  readonly labels = new Map<string, Map<string, number>>();
  readonly sid = new Map<string, number | null>();
  readonly locks: string[][] = [];
  /** What `vpn()` answers outside a transaction, when set (a read that raced a write). */
  staleVpn: ((id: string) => VpnIdentifiers | null) | undefined;

  async transaction<T>(work: (unit: AllocationUnit) => Promise<T>): Promise<T> {
    const locks: string[] = [];
    this.locks.push(locks);
    const lockExistingClaim = async (owner: string) => {
      locks.push(`claim ${owner}`);
      const c = this.claimRows.get(owner);
      return c ? { ...c } : undefined;
    };
    return work({
      lockNode: async (node) => (locks.push(`node ${node}`), this.sid.has(node)),
      lockSidIndexes: async () => void locks.push('sid-indexes'),
      sidIndexes: async () => [...this.sid].map(([node, sidIndex]) => ({ node, sidIndex })),
      setSidIndex: async (node, index) => void this.sid.set(node, index),
      lockClaim: async (c) => {
        if (!this.claimRows.has(c.owner)) this.claimRows.set(c.owner, { ...c, value: null });
        return lockExistingClaim(c.owner);
      },
      lockExistingClaim,
      vpn: async (id) => this.vpns.get(id) ?? null,
      recordClaim: async (owner, value, administrator) => void Object.assign(this.claimRows.get(owner)!, { value, administrator }),
      deleteClaim: async (owner) => void this.claimRows.delete(owner),
      fillRouteTarget: async (vpnId, role, value) => {
        const slot = this.vpns.get(vpnId)?.routeTargets.find((t) => t.role === role && t.value === null);
        if (slot) slot.value = value;
      },
    });
  }
  async claims(vpnIds: string[]) {
    return [...this.claimRows.values()].filter((c) => vpnIds.includes(c.vpnId)).map((c) => ({ ...c }));
  }
  async orphanClaims() {
    return [...this.claimRows.values()].filter((c) => !this.vpns.has(c.vpnId)).map((c) => ({ ...c }));
  }
  async vpn(id: string) {
    return this.staleVpn ? this.staleVpn(id) : (this.vpns.get(id) ?? null);
  }
  async recordLabels(node: string, labels: { owner: string; label: number }[]) {
    const held = this.labels.get(node) ?? new Map<string, number>();
    for (const l of labels) held.set(l.owner, l.label);
    this.labels.set(node, held);
  }
  async forgetLabelsExcept(node: string, keep: string[]) {
    for (const owner of this.labels.get(node)?.keys() ?? []) if (!keep.includes(owner)) this.labels.get(node)!.delete(owner);
  }
  async vrfAllocations(node: string) {
    return [...this.allocations.values()].filter((a) => a.nodeId === node).map((a) => ({ ...a }));
  }
  async saveVrfAllocation(a: RecordedVrfAllocation) {
    const tableId = this.allocations.get(a.vrfId)?.tableId ?? a.tableId;
    this.allocations.set(a.vrfId, { ...a, tableId });
    this.vrfRds.set(a.vrfId, a.rd);
    const { tableId: t, rd, label, rdOwned, rdAdministrator } = this.allocations.get(a.vrfId)!;
    return { tableId: t, rd, label, rdOwned, rdAdministrator };
  }
  async deleteVrfAllocation(vrfId: string) {
    this.allocations.delete(vrfId);
  }
  async forgetNode(node: string) {
    for (const [id, a] of this.allocations) if (a.nodeId === node) this.allocations.delete(id);
    this.labels.delete(node);
  }
  async recordedLabels(nodes: string[]) {
    return new Map(nodes.map((n) => [n, new Map(this.labels.get(n))]));
  }
  async tablesInUse(): Promise<Map<string, Set<number>>> {
    throw new Error('the allocator does not read tablesInUse');
  }
  async ownedRouteDistinguishers(): Promise<never> {
    throw new Error('the allocator does not read ownedRouteDistinguishers');
  }
  async claimsWithValues(): Promise<never> {
    throw new Error('the allocator does not read claimsWithValues');
  }
  async vpnIdentifiers(ids: string[]) {
    return ids.flatMap((id) => (this.vpns.has(id) ? [this.vpns.get(id)!] : []));
  }
}

const node = (id: string, extra: Partial<Node> = {}): Node => ({
  id,
  name: id,
  role: 'PE',
  routerId: '10.255.0.1',
  loopback: '10.255.0.1',
  asNumber: 65000,
  transport: 'sr',
  ...meta,
  ...extra,
});

const vpnView = (id: string, extra: Partial<Vpn> = {}): Vpn => ({
  id,
  customer: 'acme',
  topology: 'any-to-any',
  extranetImports: [],
  addressFamilies: ['ipv4'],
  labelMode: 'per-vrf',
  maxRoutesPerVrf: 1000,
  routeTargets: {},
  ...meta,
  ...extra,
});

const site = (id: string, vpn: string): Site =>
  oneAccessSite({
  id,
  vpn,
  node: 'pe1',
  interface: `ce-${id}`,
  ipv4: { peAddress: '10.1.0.1/30', ceAddress: '10.1.0.2' },
  role: 'any-to-any',
  ...meta,
  });

function vrf(vpn: Vpn, allocation?: VrfIntent['allocation']): VrfIntent {
  return {
    vrf: { id: `${vpn.id}:pe1`, vpn: vpn.id, node: 'pe1', routeDistinguisher: allocation?.rd ?? null },
    vpn,
    sites: [site(`${vpn.id}-s1`, vpn.id)],
    allocation,
    importRouteTargets: [],
    exportRouteTargets: [],
  };
}

function intentOf(n: Node, vrfs: VrfIntent[] = [], labels = new Map<string, number>()): NodeIntent {
  return { node: n, nodes: [n], links: [], vrfs, labels };
}

function setup() {
  const labels = new FakeLabels();
  const store = new MemoryAllocations();
  return { labels, store, allocator: new NodeAllocator(store, labels.api(), POOL) };
}

test('automatic SID index: the lowest no node names and the labels service does not hold, allocated or held down; written back under the node lock, then the SID lock', async () => {
  const { labels, store, allocator } = setup();
  store.sid.set('pe1', null);
  store.sid.set('pe2', 0);
  store.sid.set('pe3', 2);
  labels.sids.set(1, { owner: owners.sid('gone'), held: true }); // released by a deleted node: in hold-down
  labels.sids.set(3, { owner: owners.sid('pe9'), held: false });
  const { inventoryChanged } = await allocator.allocate(intentOf(node('pe1')));
  assert.equal(store.sid.get('pe1'), 4);
  assert.deepEqual(labels.sids.get(4), { owner: owners.sid('pe1'), held: false });
  assert.equal(inventoryChanged, true, 'other nodes must hear of the new index');
  assert.deepEqual(store.locks[0], ['node pe1', 'sid-indexes']);
});

test('automatic SID index: the index the labels service still holds for the node is taken again, unless a node names it', async () => {
  const { labels, store, allocator } = setup();
  store.sid.set('pe1', null);
  labels.sids.set(5, { owner: owners.sid('pe1'), held: false }); // a job that died after registering
  await allocator.allocate(intentOf(node('pe1')));
  assert.equal(store.sid.get('pe1'), 5);

  const second = setup();
  second.store.sid.set('pe1', null);
  second.store.sid.set('pe2', 5); // named since
  second.labels.sids.set(5, { owner: owners.sid('pe1'), held: false });
  await second.allocator.allocate(intentOf(node('pe1')));
  assert.equal(second.store.sid.get('pe1'), 0);
  assert.ok(second.labels.calls.includes(`releaseLabel ${owners.sid('pe1')}`), 'the index it held is given back before it takes another');
});

test('a named SID index is claimed, not written back; a changed one is released first; a node deleted meanwhile is given nothing', async () => {
  const { labels, store, allocator } = setup();
  store.sid.set('pe1', 7);
  labels.sids.set(3, { owner: owners.sid('pe1'), held: false });
  const { inventoryChanged } = await allocator.allocate(intentOf(node('pe1', { nodeSidIndex: 7 })));
  assert.equal(inventoryChanged, false);
  assert.deepEqual(labels.calls, [`allocateLabel ${owners.sid('pe1')} 7`, `releaseLabel ${owners.sid('pe1')}`, `allocateLabel ${owners.sid('pe1')} 7`]);
  assert.equal(store.locks.length, 0, 'a named index takes no SID lock in the reconcile');

  const gone = setup(); // no node row: deleted after its job read the intent
  assert.equal((await gone.allocator.allocate(intentOf(node('pe1')))).inventoryChanged, false);
  assert.equal(gone.labels.sids.size, 0);
});

test('route targets: an empty slot gets one from the pool, written back and claimed; a claimed one is reused without asking again', async () => {
  const { labels, store, allocator } = setup();
  const blue = vpnView('blue');
  store.vpns.set('blue', { id: 'blue', routeDistinguisher: null, routeTargets: [{ role: 'any-to-any', value: null, given: false }] });
  await allocator.allocate(intentOf(node('pe1', { transport: 'external' }), [vrf(blue)]));
  const owner = owners.routeTarget('blue', 'any-to-any');
  const value = labels.values.get(owner)!;
  assert.match(value, /^65000:\d+$/);
  assert.equal(store.vpns.get('blue')!.routeTargets[0]!.value, value);
  assert.deepEqual(store.claimRows.get(owner), { owner, kind: 'rt', vpnId: 'blue', administrator: POOL, value });
  assert.ok(store.locks.some((l) => l.includes(`claim ${owner}`)), 'allocated under the claim lock');

  const asked = labels.calls.filter((c) => c.startsWith('allocate rt')).length;
  await allocator.allocate(intentOf(node('pe1', { transport: 'external' }), [vrf(blue, store.allocations.get('blue:pe1'))]));
  assert.equal(labels.calls.filter((c) => c.startsWith('allocate rt')).length, asked, 'a claimed route target is not asked for again');
});

test('route targets: a given one is registered under its own administrator; changed, the old one is released first', async () => {
  const { labels, store, allocator } = setup();
  const blue = vpnView('blue');
  const owner = owners.routeTarget('blue', 'hub');
  store.vpns.set('blue', { id: 'blue', routeDistinguisher: null, routeTargets: [{ role: 'hub', value: '64999:7', given: true }] });
  await allocator.allocate(intentOf(node('pe1', { transport: 'external' }), [vrf(blue)]));
  assert.ok(labels.calls.includes(`allocate rt ${owner} - 64999:7`), labels.calls.join('\n'));
  assert.deepEqual(store.claimRows.get(owner), { owner, kind: 'rt', vpnId: 'blue', administrator: '64999', value: '64999:7' });

  store.vpns.get('blue')!.routeTargets[0]!.value = '192.0.2.1:9';
  labels.calls.length = 0;
  await allocator.allocate(intentOf(node('pe1', { transport: 'external' }), [vrf(blue)]));
  const release = labels.calls.indexOf(`release rt ${owner} 64999`);
  const register = labels.calls.indexOf(`allocate rt ${owner} - 192.0.2.1:9`);
  assert.ok(release >= 0 && register > release, labels.calls.join('\n'));
  assert.equal(store.claimRows.get(owner)!.administrator, '192.0.2.1');
});

test('a VPN deleted while its route target waited for the claim lock gets none', async () => {
  const { labels, store, allocator } = setup();
  store.vpns.set('blue', { id: 'blue', routeDistinguisher: null, routeTargets: [{ role: 'any-to-any', value: null, given: false }] });
  const original = store.transaction.bind(store);
  store.transaction = async <T>(work: (unit: AllocationUnit) => Promise<T>): Promise<T> => {
    store.vpns.delete('blue');
    return original(work);
  };
  await allocator.allocate(intentOf(node('pe1', { transport: 'external' }), [vrf(vpnView('blue'))]));
  assert.equal(labels.calls.filter((c) => c.startsWith('allocate rt')).length, 0);
});

test('VRF resources: an RD from the pool once, kept afterwards; the lowest free table id, never renumbered; the VRF label recorded', async () => {
  const { labels, store, allocator } = setup();
  const blue = vpnView('blue');
  store.vpns.set('blue', { id: 'blue', routeDistinguisher: null, routeTargets: [] });
  store.allocations.set('red:pe1', { vrfId: 'red:pe1', vpnId: 'red', nodeId: 'pe1', tableId: FIRST_TABLE_ID, rd: '65000:1', label: 16, rdOwned: true, rdAdministrator: POOL });
  const intent = intentOf(node('pe1', { transport: 'external' }), [vrf(blue)]);
  await allocator.allocate(intent);
  const a = store.allocations.get('blue:pe1')!;
  assert.equal(a.tableId, FIRST_TABLE_ID + 1);
  assert.equal(a.rdOwned, true);
  assert.equal(a.rd, labels.values.get(owners.vrf('blue', 'pe1')));
  assert.equal(store.vrfRds.get('blue:pe1'), a.rd, 'the VRF row carries its RD');
  assert.equal(a.label, store.labels.get('pe1')!.get(owners.vrf('blue', 'pe1')));
  assert.equal(intent.vrfs[0]!.allocation?.rd, a.rd, 'the intent the reconcile goes on with has it');

  // The VRF row lost its RD (say, written by hand): the allocation is written again, with the same RD and table.
  const rdAsks = labels.calls.filter((c) => c.startsWith('allocate rd')).length;
  const again = vrf(blue, store.allocations.get('blue:pe1'));
  again.vrf.routeDistinguisher = null;
  await allocator.allocate(intentOf(node('pe1', { transport: 'external' }), [again], new Map(store.labels.get('pe1'))));
  assert.equal(labels.calls.filter((c) => c.startsWith('allocate rd')).length, rdAsks, 'an owned RD is not asked for again');
  assert.equal(store.vrfRds.get('blue:pe1'), a.rd);
  assert.equal(store.allocations.get('blue:pe1')!.tableId, FIRST_TABLE_ID + 1);
});

test("a VPN's given RD is registered for the VPN; a VRF that owned one from the pool gives it back and takes the VPN's", async () => {
  const { labels, store, allocator } = setup();
  const blue = vpnView('blue', { routeDistinguisher: '64999:1' });
  store.vpns.set('blue', { id: 'blue', routeDistinguisher: '64999:1', routeTargets: [] });
  const owned = { tableId: FIRST_TABLE_ID, rd: '65000:5', label: 16, rdOwned: true, rdAdministrator: POOL };
  store.allocations.set('blue:pe1', { vrfId: 'blue:pe1', vpnId: 'blue', nodeId: 'pe1', ...owned });
  labels.vpnLabels.set('pe1', new Map([[owners.vrf('blue', 'pe1'), 16]]));
  await allocator.allocate(intentOf(node('pe1', { transport: 'external' }), [vrf(blue, owned)]));
  assert.ok(labels.calls.includes(`allocate rd ${owners.vpnRd('blue')} - 64999:1`), labels.calls.join('\n'));
  assert.equal(store.claimRows.get(owners.vpnRd('blue'))?.administrator, '64999');
  assert.ok(labels.calls.includes(`release rd ${owners.vrf('blue', 'pe1')} ${POOL}`), labels.calls.join('\n'));
  assert.deepEqual(store.allocations.get('blue:pe1'), { vrfId: 'blue:pe1', vpnId: 'blue', nodeId: 'pe1', tableId: FIRST_TABLE_ID, rd: '64999:1', label: 16, rdOwned: false, rdAdministrator: null });
});

test('after the state is stored: labels no VRF wants and the owned RDs of VRFs gone are released, their records forgotten; claims of a VPN gone are released, wanted ones kept', async () => {
  const { labels, store, allocator } = setup();
  const blue = vpnView('blue');
  store.vpns.set('blue', { id: 'blue', routeDistinguisher: null, routeTargets: [{ role: 'any-to-any', value: '65000:1', given: false }] });
  store.claimRows.set(owners.routeTarget('blue', 'any-to-any'), { owner: owners.routeTarget('blue', 'any-to-any'), kind: 'rt', vpnId: 'blue', administrator: POOL, value: '65000:1' });
  store.claimRows.set(owners.routeTarget('red', 'any-to-any'), { owner: owners.routeTarget('red', 'any-to-any'), kind: 'rt', vpnId: 'red', administrator: POOL, value: '65000:2' });
  store.allocations.set('blue:pe1', { vrfId: 'blue:pe1', vpnId: 'blue', nodeId: 'pe1', tableId: 1000, rd: '65000:10', label: 16, rdOwned: true, rdAdministrator: POOL });
  store.allocations.set('red:pe1', { vrfId: 'red:pe1', vpnId: 'red', nodeId: 'pe1', tableId: 1001, rd: '65000:11', label: 17, rdOwned: true, rdAdministrator: '192.0.2.1' });
  labels.vpnLabels.set('pe1', new Map([[owners.vrf('blue', 'pe1'), 16], [owners.vrf('red', 'pe1'), 17], [owners.sid('pe1'), 18]]));
  store.labels.set('pe1', new Map([[owners.vrf('blue', 'pe1'), 16], [owners.vrf('red', 'pe1'), 17]]));

  const released = await allocator.releaseUnwanted(intentOf(node('pe1'), [vrf(blue, store.allocations.get('blue:pe1'))]));
  assert.deepEqual(released, [owners.vrf('red', 'pe1')], 'only VPN labels, only unwanted ones');
  assert.ok(labels.calls.includes(`releaseLabels pe1 ${owners.vrf('red', 'pe1')}`));
  assert.ok(labels.calls.includes(`release rd ${owners.vrf('red', 'pe1')} 192.0.2.1`), 'released into the pool it came from');
  assert.ok(!labels.calls.some((c) => c.includes(owners.vrf('blue', 'pe1')) && c.startsWith('release')));
  assert.deepEqual([...store.allocations.keys()], ['blue:pe1']);
  assert.deepEqual([...store.labels.get('pe1')!.keys()], [owners.vrf('blue', 'pe1')]);
  assert.ok(labels.calls.includes(`release rt ${owners.routeTarget('red', 'any-to-any')} ${POOL}`));
  assert.deepEqual([...store.claimRows.keys()], [owners.routeTarget('blue', 'any-to-any')]);
});

test('a VRF with an IPv6 site gets an IPv6 label beside its VRF label, recorded; released into hold-down once no IPv6 site is left, and with the VRF', async () => {
  const { labels, store, allocator } = setup();
  const blue = vpnView('blue');
  store.vpns.set('blue', { id: 'blue', routeDistinguisher: null, routeTargets: [] });
  const dual = vrf(blue);
  dual.sites = [{ ...dual.sites[0]!, ipv6: { peAddress: '2001:db8:1::1/64', ceAddress: '2001:db8:1::2' } }];
  const intent = intentOf(node('pe1', { transport: 'external' }), [dual]);
  await allocator.allocate(intent);
  const v4 = intent.labels.get(owners.vrf('blue', 'pe1'));
  const v6 = intent.labels.get(owners.vrfIpv6('blue', 'pe1'));
  assert.ok(v4 !== undefined && v6 !== undefined && v4 !== v6, `${v4} ${v6}`);
  assert.equal(store.labels.get('pe1')!.get(owners.vrfIpv6('blue', 'pe1')), v6, 'recorded like the VRF label');

  // The site drops IPv6: only the IPv6 label goes (the labels service holds it down).
  const v4only = vrf(blue, store.allocations.get('blue:pe1'));
  assert.deepEqual(await allocator.releaseUnwanted(intentOf(node('pe1'), [v4only])), [owners.vrfIpv6('blue', 'pe1')]);
  assert.ok(labels.calls.includes(`releaseLabels pe1 ${owners.vrfIpv6('blue', 'pe1')}`));
  assert.deepEqual([...store.labels.get('pe1')!.keys()], [owners.vrf('blue', 'pe1')]);

  // IPv6 back, then the VRF gone: both labels go with it.
  await allocator.allocate(intentOf(node('pe1', { transport: 'external' }), [{ ...dual, allocation: store.allocations.get('blue:pe1') }]));
  assert.deepEqual((await allocator.releaseUnwanted(intentOf(node('pe1'), []))).sort(), [owners.vrf('blue', 'pe1'), owners.vrfIpv6('blue', 'pe1')].sort());
});

test('a claim is released only if its VPN does not want it under the claim lock too', async () => {
  const { labels, store, allocator } = setup();
  const owner = owners.routeTarget('blue', 'any-to-any');
  store.claimRows.set(owner, { owner, kind: 'rt', vpnId: 'blue', administrator: POOL, value: '65000:1' });
  store.vpns.set('blue', { id: 'blue', routeDistinguisher: null, routeTargets: [{ role: 'any-to-any', value: '65000:1', given: false }] });
  store.staleVpn = () => null; // the read before the lock missed the VPN (re-created meanwhile)
  assert.equal(await allocator.sweepClaims(['blue']), 0);
  assert.deepEqual(store.locks.at(-1), [`claim ${owner}`]);
  assert.ok(store.claimRows.has(owner));
  assert.equal(labels.calls.length, 0);

  store.vpns.delete('blue');
  store.staleVpn = undefined;
  assert.equal(await allocator.sweepClaims(), 1, 'the periodic sweep finds the claims of deleted VPNs');
  assert.deepEqual(labels.calls, [`release rt ${owner} ${POOL}`]);
  assert.equal(store.claimRows.size, 0);
});

test('a node gone from the intent: its SID, its VPN labels and owned RDs released (given RDs are the VPN\'s), its records forgotten', async () => {
  const { labels, store, allocator } = setup();
  labels.sids.set(4, { owner: owners.sid('pe1'), held: false });
  labels.vpnLabels.set('pe1', new Map([[owners.vrf('blue', 'pe1'), 16]]));
  store.labels.set('pe1', new Map([[owners.vrf('blue', 'pe1'), 16]]));
  store.allocations.set('blue:pe1', { vrfId: 'blue:pe1', vpnId: 'blue', nodeId: 'pe1', tableId: 1000, rd: '65000:10', label: 16, rdOwned: true, rdAdministrator: null });
  store.allocations.set('red:pe1', { vrfId: 'red:pe1', vpnId: 'red', nodeId: 'pe1', tableId: 1001, rd: '64999:1', label: 17, rdOwned: false, rdAdministrator: null });
  await allocator.releaseNode('pe1');
  assert.deepEqual(labels.sids.get(4), { owner: owners.sid('pe1'), held: true }, 'its SID index goes into hold-down');
  assert.deepEqual(labels.calls, [`releaseLabel ${owners.sid('pe1')}`, `releaseLabels pe1 ${owners.vrf('blue', 'pe1')}`, `release rd ${owners.vrf('blue', 'pe1')} ${POOL}`]);
  assert.equal(store.allocations.size, 0);
  assert.equal(store.labels.has('pe1'), false);
});

test('sidIndexUnavailable: another holder or a hold-down not over is a reason; the node that released it gets it back', async () => {
  const { labels, allocator } = setup();
  labels.sids.set(1, { owner: owners.sid('pe2'), held: false });
  labels.sids.set(2, { owner: owners.sid('pe1'), held: true, reusableAt: new Date(Date.now() + 60_000) });
  labels.sids.set(3, { owner: owners.sid('pe3'), held: true, reusableAt: new Date(Date.now() + 60_000) });
  labels.sids.set(4, { owner: owners.sid('pe3'), held: true, reusableAt: new Date(Date.now() - 1000) });
  assert.match((await allocator.sidIndexUnavailable(1, 'pe1'))!, /still held by node 'pe2'/);
  assert.equal(await allocator.sidIndexUnavailable(2, 'pe1'), undefined);
  assert.match((await allocator.sidIndexUnavailable(3, 'pe1'))!, /released by node 'pe3' and is held down until/);
  assert.equal(await allocator.sidIndexUnavailable(4, 'pe1'), undefined, 'a hold-down that is over is no reason');
  assert.equal(await allocator.sidIndexUnavailable(9, 'pe1'), undefined);
});
