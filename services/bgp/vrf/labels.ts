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
