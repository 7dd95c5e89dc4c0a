// Step 1 of a reconcile: take from the labels service everything the node's
// intent needs and write it back to the intent rows. Every call is
// idempotent by owner key, so a retried, duplicated or restarted job gets
// the same values back and never a second allocation.
//
// Ordering, so that a released owner is never taken again by a stale job:
// - a node's labels and its VRFs' RDs are allocated and released only by
//   that node's job, and BullMQ runs one job per node id at a time;
// - a VPN's route targets (and its given RD) are shared by the jobs of all
//   its PEs: allocation and release of one owner serialise on the row lock
//   of its claim (AllocationUnit.lockClaim) and re-read the VPN under that
//   lock, so a release happens only once the VPN is gone, and an allocation
//   that waited behind it sees the VPN gone too (or, re-created, starts
//   afresh).
// What is recorded, and the locks, are the allocation store's
// (store/allocation-store.ts); the choices are made here and in
// domain/allocation.ts.
import { status } from '@grpc/grpc-js';
import { AllocationState, LabelKind } from '../../common/gen/proto/l3vpn/v1/labels.js';
import { automaticSidIndex, claimWanted, freeTableId, type ClaimKind, type HeldSidIndex, type VpnIdentifiers } from '../domain/allocation.js';
import type { NodeIntent, Vpn as VpnIntent } from '../domain/node-intent.js';
import type { AllocationStore, AllocationUnit } from '../store/allocation-store.js';
import { usableInventory, vrfLabelRequests } from './desired-input.js';
import { isStatus, type LabelsApi } from './labels-client.js';
import { owners, SR_DOMAIN } from './owners.js';

/** Owner keys of the labels a node's VPNs hold (not its SID). */
export const isVpnLabelOwner = (owner: string) => ['vrf:', 'ce:', 'prefix:'].some((p) => owner.startsWith(p));
const administratorOf = (value: string) => value.slice(0, value.lastIndexOf(':'));

export interface AllocationResult {
  /** A value other nodes' desired states depend on was written (a node SID index). */
  inventoryChanged: boolean;
}

export class NodeAllocator {
  constructor(
    private readonly store: AllocationStore,
    private readonly labels: LabelsApi,
    /** AS number or IPv4 address whose RD and RT pools this service draws from. */
    private readonly administrator: string,
  ) {}

  async allocate(intent: NodeIntent): Promise<AllocationResult> {
    // A node whose own record cannot be used fails here (NodeRejectedError), before it is given anything.
    usableInventory(intent);
    const node = intent.node;
    if (node.labelRange || node.srgb) {
      await this.labels.configureLabelSpaces({
        node: node.id,
        ...(node.labelRange ? { dynamicRange: { min: node.labelRange.min, max: node.labelRange.max } } : {}),
        ...(node.srgb ? { srgb: { base: node.srgb.base, size: node.srgb.size } } : {}),
      });
    }
    const inventoryChanged = node.transport === 'sr' ? await this.nodeSid(intent) : false;
    await this.vpnIdentifiers(await this.store.vpnIdentifiers([...new Set(intent.vrfs.map((v) => v.vpn.id))]));
    await this.vrfLabels(intent);
    for (const vi of intent.vrfs) await this.vrfResources(intent, vi.vrf.id, vi.vpn);
    return { inventoryChanged };
  }

  /** The node's SID index, unique in the SR domain; an index the intent does not give is chosen and written back. */
  private async nodeSid(intent: NodeIntent): Promise<boolean> {
    const node = intent.node;
    if (node.nodeSidIndex === undefined) return this.automaticSid(node.id);
    await this.claimSid(node.id, node.nodeSidIndex);
    return false;
  }

  /** Registers the index for the node with the labels service (idempotent by owner). */
  private async claimSid(node: string, sidIndex: number): Promise<void> {
    const owner = owners.sid(node);
    const ask = () => this.labels.allocateLabel({ node: SR_DOMAIN, owner, kind: LabelKind.LABEL_KIND_NODE_SID, sidIndex });
    try {
      await ask();
    } catch (err) {
      if (!isStatus(err, status.FAILED_PRECONDITION)) throw err;
      // The node's SID index was changed in the intent: give the old one back first.
      await this.labels.releaseLabel({ node: SR_DOMAIN, owner });
      await ask();
    }
  }

  /**
   * Explicit and automatic indexes are claimed in one place: the node rows,
   * under the SID lock that API writes naming an index take too
   * (lockSidIndexes). The automatic index is the lowest that no node names
   * and the labels service does not hold (allocated, or in hold-down after
   * a release), chosen, registered and written back before the lock is
   * released: it never takes an index a committed write asked for, and a
   * write asking for it afterwards is a 409. Answers whether it wrote one.
   */
  private async automaticSid(node: string): Promise<boolean> {
    return this.store.transaction(async (unit) => {
      // The same order as an API write of the node: its row, then the SID lock.
      if (!(await unit.lockNode(node))) return false; // deleted meanwhile
      await unit.lockSidIndexes();
      const named = await unit.sidIndexes();
      const own = named.find((r) => r.node === node)?.sidIndex ?? null;
      if (own !== null) {
        // A write named one meanwhile.
        await this.claimSid(node, own);
        return false;
      }
      const index = automaticSidIndex(node, named, await this.heldSidIndexes());
      await this.claimSid(node, index);
      await unit.setSidIndex(node, index);
      return true;
    });
  }

  /**
   * Why the labels service would not give `node` this SID index now (the
   * reconcile would fail until it does): another owner holds it, or
   * released it and it is in hold-down. The node that released it gets it
   * back. Undefined when it would, or when the labels service does not
   * answer (the reconcile then says why, and retries).
   */
  async sidIndexUnavailable(index: number, node: string): Promise<string | undefined> {
    let held: Map<number, HeldSidIndex>;
    try {
      held = await this.heldSidIndexes({ deadlineMs: 2000 });
    } catch {
      return undefined;
    }
    const h = held.get(index);
    if (!h || h.owner === owners.sid(node)) return undefined;
    const holder = h.owner.startsWith('sid:') ? `node '${h.owner.slice('sid:'.length)}'` : `'${h.owner}'`;
    if (!h.inHoldDown) return `node SID index ${index} is still held by ${holder} in the labels service`;
    if (h.reusableAt && h.reusableAt.getTime() > Date.now()) return `node SID index ${index} was released by ${holder} and is held down until ${h.reusableAt.toISOString()}`;
    return undefined;
  }

  /** Every node SID index the labels service holds for the SR domain, with its owner. */
  private async heldSidIndexes(options: { deadlineMs?: number } = {}): Promise<Map<number, HeldSidIndex>> {
    const out = new Map<number, HeldSidIndex>();
    let pageToken = '';
    do {
      const page = await this.labels.listLabels(
        {
          node: SR_DOMAIN,
          kind: LabelKind.LABEL_KIND_NODE_SID,
          state: AllocationState.ALLOCATION_STATE_UNSPECIFIED,
          ownerPrefix: '',
          pageSize: 10_000,
          pageToken,
        },
        options,
      );
      for (const l of page.labels) {
        if (l.sidIndex !== undefined) {
          out.set(l.sidIndex, { owner: l.owner, inHoldDown: l.state === AllocationState.ALLOCATION_STATE_HELD, ...(l.reusableAt ? { reusableAt: l.reusableAt } : {}) });
        }
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  /** Route targets to allocate or register, and a given RD to register, per VPN. */
  private async vpnIdentifiers(vpns: VpnIdentifiers[]): Promise<void> {
    if (!vpns.length) return;
    const claims = new Map((await this.store.claims(vpns.map((v) => v.id))).map((c) => [c.owner, c]));
    for (const vpn of vpns) {
      for (const rt of vpn.routeTargets) {
        const owner = owners.routeTarget(vpn.id, rt.role);
        const claim = claims.get(owner);
        if (rt.value !== null && claim?.value === rt.value) continue;
        await this.claim(owner, 'rt', vpn.id, rt.given ? rt.value! : '', (unit, value) => unit.fillRouteTarget(vpn.id, rt.role, value));
      }
      if (vpn.routeDistinguisher && claims.get(owners.vpnRd(vpn.id))?.value !== vpn.routeDistinguisher) {
        await this.claim(owners.vpnRd(vpn.id), 'rd', vpn.id, vpn.routeDistinguisher, async () => {});
      }
    }
  }

  /** Allocates (or registers `given`) one VPN-wide value under its claim's row lock. */
  private async claim(owner: string, kind: ClaimKind, vpnId: string, given: string, writeBack: (unit: AllocationUnit, value: string) => Promise<void>): Promise<void> {
    await this.store.transaction(async (unit) => {
      const administrator = given ? administratorOf(given) : this.administrator;
      const claim = await unit.lockClaim({ owner, kind, vpnId, administrator });
      if (!(await unit.vpn(vpnId))) return; // gone: the sweep releases
      if (claim?.value && claim.value !== (given || claim.value)) await this.release(kind, owner, claim.administrator);
      const request = { owner, administrator: given ? '' : administrator, value: given };
      const value =
        kind === 'rt'
          ? (await this.labels.allocateRouteTarget(request)).routeTarget!.value
          : (await this.labels.allocateRouteDistinguisher(request)).routeDistinguisher!.value;
      await unit.recordClaim(owner, value, administrator);
      await writeBack(unit, value);
    });
  }

  private async release(kind: ClaimKind, owner: string, administrator: string): Promise<void> {
    if (kind === 'rt') await this.labels.releaseRouteTarget({ owner, administrator });
    else await this.labels.releaseRouteDistinguisher({ owner, administrator });
  }

  /** Every VPN label of the node in one call (one transaction in the labels service), recorded in NodeLabel. */
  private async vrfLabels(intent: NodeIntent): Promise<void> {
    const requests = intent.vrfs.flatMap((vi) => vrfLabelRequests(vi.vpn.id, vi.vpn.labelMode, intent.node.id, vi.sites));
    if (!requests.length) return;
    const { labels } = await this.labels.allocateLabels({ node: intent.node.id, requests });
    const changed = labels.filter((l) => intent.labels.get(l.owner) !== l.label);
    if (!changed.length) return;
    await this.store.recordLabels(
      intent.node.id,
      changed.map((l) => ({ owner: l.owner, label: l.label })),
    );
    for (const l of changed) intent.labels.set(l.owner, l.label);
  }

  /** The VRF's table id (first allocation only, never renumbered), label and RD, written to VrfAllocation and the Vrf row. */
  private async vrfResources(intent: NodeIntent, vrfId: string, vpn: VpnIntent): Promise<void> {
    const vi = intent.vrfs.find((v) => v.vrf.id === vrfId)!;
    const node = intent.node.id;
    const current = vi.allocation;
    const label = intent.labels.get(owners.vrf(vpn.id, node)) ?? null;
    const owner = owners.vrf(vpn.id, node);
    let rd: string;
    let rdOwned: boolean;
    if (vpn.routeDistinguisher) {
      if (current?.rdOwned) await this.labels.releaseRouteDistinguisher({ owner, administrator: current.rdAdministrator ?? this.administrator });
      rd = vpn.routeDistinguisher;
      rdOwned = false;
    } else if (current?.rdOwned && current.rd) {
      rd = current.rd;
      rdOwned = true;
    } else {
      rd = (await this.labels.allocateRouteDistinguisher({ owner, administrator: this.administrator, value: '' })).routeDistinguisher!.value;
      rdOwned = true;
    }
    if (current && current.rd === rd && current.label === label && current.rdOwned === rdOwned && vi.vrf.routeDistinguisher === rd) return;
    const tableId = current?.tableId ?? freeTableId(new Set((await this.store.vrfAllocations(node)).map((a) => a.tableId)));
    vi.allocation = await this.store.saveVrfAllocation({
      vrfId,
      vpnId: vpn.id,
      nodeId: node,
      tableId,
      label,
      rd,
      rdOwned,
      rdAdministrator: rdOwned ? this.administrator : null,
    });
  }

  /**
   * After the node's new desired state is stored: releases (into hold-down)
   * the labels and RDs of what left the intent, and forgets VRFs whose
   * allocations are released. Level-triggered: it compares with what the
   * labels service holds, so allocations of a job that died are found too.
   */
  async releaseUnwanted(intent: NodeIntent): Promise<string[]> {
    const node = intent.node.id;
    const wanted = new Set(intent.vrfs.flatMap((vi) => vrfLabelRequests(vi.vpn.id, vi.vpn.labelMode, node, vi.sites).map((r) => r.owner)));
    const held = await this.heldVpnLabels(node);
    const unwanted = held.filter((o) => !wanted.has(o));
    if (unwanted.length) await this.labels.releaseLabels({ node, owners: unwanted });
    await this.store.forgetLabelsExcept(node, [...wanted]);
    const live = new Set(intent.vrfs.map((v) => v.vrf.id));
    const gone = (await this.store.vrfAllocations(node)).filter((a) => !live.has(a.vrfId));
    for (const a of gone) {
      if (a.rdOwned) await this.labels.releaseRouteDistinguisher({ owner: owners.vrf(a.vpnId, node), administrator: a.rdAdministrator ?? this.administrator });
      await this.store.deleteVrfAllocation(a.vrfId);
    }
    await this.sweepClaims([...new Set([...gone.map((a) => a.vpnId), ...intent.vrfs.map((v) => v.vpn.id)])]);
    return unwanted;
  }

  private async heldVpnLabels(node: string): Promise<string[]> {
    const out: string[] = [];
    let pageToken = '';
    do {
      const page = await this.labels.listLabels({ node, kind: LabelKind.LABEL_KIND_UNSPECIFIED, state: AllocationState.ALLOCATION_STATE_ALLOCATED, ownerPrefix: '', pageSize: 10_000, pageToken });
      out.push(...page.labels.map((l) => l.owner).filter(isVpnLabelOwner));
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  /** The node is gone from the intent: its SID and every label and RD it held go into hold-down. */
  async releaseNode(node: string): Promise<void> {
    await this.labels.releaseLabel({ node: SR_DOMAIN, owner: owners.sid(node) });
    const held = await this.heldVpnLabels(node);
    if (held.length) await this.labels.releaseLabels({ node, owners: held });
    for (const a of await this.store.vrfAllocations(node)) {
      if (a.rdOwned) await this.labels.releaseRouteDistinguisher({ owner: owners.vrf(a.vpnId, node), administrator: a.rdAdministrator ?? this.administrator });
    }
    await this.store.forgetNode(node);
  }

  /** Releases VPN-wide values (route targets, given RDs) their VPN no longer wants; all VPNs' when none are named. */
  async sweepClaims(vpnIds?: string[]): Promise<number> {
    // A deleted VPN queues no job (it has no VRFs left): the periodic sweep finds its claims.
    const claims = vpnIds ? await this.store.claims(vpnIds) : await this.store.orphanClaims();
    let released = 0;
    for (const c of claims) {
      if (claimWanted(await this.store.vpn(c.vpnId), c)) continue;
      await this.store.transaction(async (unit) => {
        const locked = await unit.lockExistingClaim(c.owner);
        if (!locked || claimWanted(await unit.vpn(locked.vpnId), locked)) return;
        await this.release(locked.kind, locked.owner, locked.administrator);
        await unit.deleteClaim(locked.owner);
        released++;
      });
    }
    return released;
  }
}
