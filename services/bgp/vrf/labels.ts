// VPN labels for per-prefix and per-CE label modes. The labels service owns
// label spaces; a VRF gets a block from it and hands labels out of that
// block here, synchronously, so the route engine never waits on I/O.
export interface LabelAllocator {
  /** A label for `owner` in the VRF (the same one while it is held), or undefined when none is left. */
  allocate(vrf: string, owner: string): number | undefined;
  release(vrf: string, owner: string): void;
}

/** Labels from a range [first, last], per VRF and owner; released labels are reused last-freed-first. */
export class RangeLabelAllocator implements LabelAllocator {
  private next: number;
  private readonly free: number[] = [];
  private readonly held = new Map<string, number>();

  constructor(
    readonly first: number,
    readonly last: number,
  ) {
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 16 || last > 0xfffff || first > last) {
      throw new RangeError(`label range ${first}-${last} is not within 16-1048575`);
    }
    this.next = first;
  }

  get inUse(): number {
    return this.held.size;
  }

  allocate(vrf: string, owner: string): number | undefined {
    const id = `${vrf}\u0000${owner}`;
    const have = this.held.get(id);
    if (have !== undefined) return have;
    const label = this.free.length ? this.free.pop()! : this.next <= this.last ? this.next++ : undefined;
    if (label !== undefined) this.held.set(id, label);
    return label;
  }

  release(vrf: string, owner: string): void {
    const id = `${vrf}\u0000${owner}`;
    const label = this.held.get(id);
    if (label === undefined) return;
    this.held.delete(id);
    this.free.push(label);
  }
}

/**
 * Labels from each VRF's own block (VrfConfig.labelBlock, given by the
 * labels service). A label goes back to the block it came from, so a VRF
 * whose block changes releases its old labels into the old block, which is
 * forgotten once empty.
 */
export class VrfBlockLabelAllocator implements LabelAllocator {
  private readonly blocks = new Map<string, Map<string, RangeLabelAllocator>>();
  private readonly holders = new Map<string, RangeLabelAllocator>();

  constructor(private readonly blockOf: (vrf: string) => { first: number; last: number } | undefined) {}

  allocate(vrf: string, owner: string): number | undefined {
    const block = this.blockOf(vrf);
    if (!block) return undefined;
    const id = `${vrf}\u0000${owner}`;
    const held = this.holders.get(id);
    if (held && held.first === block.first && held.last === block.last) return held.allocate(vrf, owner);
    if (held) this.release(vrf, owner);
    let byRange = this.blocks.get(vrf);
    if (!byRange) this.blocks.set(vrf, (byRange = new Map()));
    const rk = `${block.first}-${block.last}`;
    let range = byRange.get(rk);
    if (!range) byRange.set(rk, (range = new RangeLabelAllocator(block.first, block.last)));
    const label = range.allocate(vrf, owner);
    if (label !== undefined) this.holders.set(id, range);
    return label;
  }

  release(vrf: string, owner: string): void {
    const id = `${vrf}\u0000${owner}`;
    const range = this.holders.get(id);
    if (!range) return;
    this.holders.delete(id);
    range.release(vrf, owner);
    const block = this.blockOf(vrf);
    if (range.inUse === 0 && !(block && block.first === range.first && block.last === range.last)) {
      const byRange = this.blocks.get(vrf);
      byRange?.delete(`${range.first}-${range.last}`);
      if (byRange?.size === 0) this.blocks.delete(vrf);
    }
  }

  /** Labels held by a VRF (all blocks). */
  inUse(vrf: string): number {
    let n = 0;
    for (const r of this.blocks.get(vrf)?.values() ?? []) n += r.inUse;
    return n;
  }
}
