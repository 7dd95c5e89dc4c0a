// One bad inventory record must not stop every node's computation: the
// topology (topology.ts) refuses an inventory with any invalid node or link,
// so the controller screens what it read first. A node or link that cannot
// be used is left out with the reason, and with it whatever depends on it
// (the links of a node left out); the rest is an inventory buildTopology
// accepts. Pure.
import { compareStrings, parseInterfaceAddress } from './prefix.js';
import { checkInteger, validateNode } from './topology.js';
import { MAX_METRIC, type Inventory, type InventoryLink, type InventoryNode } from './types.js';

export interface RejectedRecord {
  readonly kind: 'node' | 'link';
  /** The node id, or the link's id when the caller gave link ids (else `links[i]`). */
  readonly id: string;
  readonly reason: string;
  /** A link left out only because this node is. */
  readonly becauseOf?: string;
}

export interface ScreenedInventory {
  readonly inventory: Inventory;
  /** In input order, nodes first. */
  readonly rejected: readonly RejectedRecord[];
}

const message = (err: unknown, field: string) => (err as Error).message.replace(`${field}.`, '').replace(`${field}: `, '');

/** Splits the inventory into what the computation can use and what it cannot, with why. `linkIds[i]` names links[i] in reasons. */
export function screenInventory(inventory: Inventory, linkIds: readonly string[] = []): ScreenedInventory {
  const nodeReasons = new Map<number, string>();
  const valid: { i: number; n: InventoryNode; v: ReturnType<typeof validateNode> }[] = [];
  (inventory.nodes ?? []).forEach((n, i) => {
    try {
      valid.push({ i, n, v: validateNode(n, i) });
    } catch (err) {
      nodeReasons.set(i, message(err, `inventory.nodes[${i}]`));
    }
  });
  // Conflicts leave out the later node in id order, so the outcome does not depend on input order.
  valid.sort((x, y) => compareStrings(x.v.id, y.v.id) || x.i - y.i);
  const ids = new Set<string>();
  const addresses = new Map<string, string>();
  const sids = new Map<number, string>();
  const kept: typeof valid = [];
  for (const c of valid) {
    const { id, routerId, loopback, sidIndex, srgbSize, transport } = c.v;
    const reason = ids.has(id)
      ? `node id '${id}' is used twice`
      : [routerId, loopback].map((a) => (addresses.has(a) ? `address ${a} is also node '${addresses.get(a)}''s` : '')).find(Boolean) ||
        (transport === 'sr' && sidIndex !== undefined && sids.has(sidIndex) ? `node SID index ${sidIndex} is also node '${sids.get(sidIndex)}''s` : '') ||
        (transport === 'sr' && sidIndex !== undefined && sidIndex >= srgbSize ? `node SID index ${sidIndex} is outside its own SRGB (size ${srgbSize})` : '');
    if (reason) {
      nodeReasons.set(c.i, reason);
      continue;
    }
    ids.add(id);
    for (const a of [routerId, loopback]) addresses.set(a, id);
    if (transport === 'sr' && sidIndex !== undefined) sids.set(sidIndex, id);
    kept.push(c);
  }
  // Every SR node translates every node SID: an SRGB too small for one of them leaves out the node with that SRGB.
  const usable = kept.filter((c) => {
    if (c.v.transport !== 'sr') return true;
    const outside = [...sids].find(([index]) => index >= c.v.srgbSize);
    if (!outside) return true;
    nodeReasons.set(c.i, `its SRGB (size ${c.v.srgbSize}) cannot hold node SID index ${outside[0]} of '${outside[1]}'`);
    return false;
  });
  const byId = new Map(usable.map((c) => [c.v.id, c.n]));
  const reasonOf = new Map([...nodeReasons].map(([i, r]) => [inventory.nodes[i]!.id, r]));

  const links: InventoryLink[] = [];
  const rejectedLinks: RejectedRecord[] = [];
  const interfaces = new Set<string>();
  (inventory.links ?? []).forEach((link, i) => {
    const id = linkIds[i] ?? `links[${i}]`;
    const gone = [link.a?.node, link.b?.node].find((n) => reasonOf.has(n));
    const reason = gone !== undefined ? `node '${gone}' is left out: ${reasonOf.get(gone)}` : linkProblem(link, byId, interfaces);
    if (reason) rejectedLinks.push({ kind: 'link', id, reason, ...(gone !== undefined ? { becauseOf: gone } : {}) });
    else links.push(link);
  });

  const nodes = (inventory.nodes ?? []).filter((_, i) => !nodeReasons.has(i));
  const rejectedNodes = [...nodeReasons].sort((a, b) => a[0] - b[0]).map(([i, reason]): RejectedRecord => ({ kind: 'node', id: String(inventory.nodes[i]!.id), reason }));
  return { inventory: { nodes, links }, rejected: [...rejectedNodes, ...rejectedLinks] };
}

function linkProblem(link: InventoryLink, nodes: ReadonlyMap<string, InventoryNode>, interfaces: Set<string>): string {
  try {
    checkInteger(link.metric, 1, MAX_METRIC, 'metric');
  } catch (err) {
    return (err as Error).message;
  }
  const ends = [link.a, link.b];
  for (const end of ends) {
    if (!nodes.has(end?.node)) return `unknown node '${end?.node}'`;
    if (typeof end.interface !== 'string' || end.interface === '') return `the interface of '${end.node}' must be a non-empty string`;
    if (end.address !== undefined && end.address !== '') {
      try {
        parseInterfaceAddress(end.address, `address of '${end.node}'`);
      } catch (err) {
        return (err as Error).message;
      }
    }
  }
  if (link.a.node === link.b.node) return 'a link must join two different nodes';
  const keys = ends.map((e) => `${e.node}\u0000${e.interface}`);
  const taken = ends.find((_, k) => interfaces.has(keys[k]!));
  if (taken) return `interface '${taken.interface}' of '${taken.node}' is on another link`;
  for (const k of keys) interfaces.add(k);
  return '';
}
