// Who uses a node's interface: a link end or a site attachment. Links and
// sites both ask before they claim one.
import { lockInterfaces, type Db, type Tx } from './db.js';

export interface InterfaceRef {
  node: string;
  interface: string;
}

export interface InterfaceStore {
  /** Serialises the writers of these interfaces until the transaction ends. */
  claim(ends: InterfaceRef[]): Promise<void>;
  /** The link, other than `exceptLink`, with an end on the interface. */
  linkOn(end: InterfaceRef, exceptLink?: string): Promise<string | undefined>;
  /** A site attached to the interface (any VLAN). */
  siteOn(end: InterfaceRef): Promise<string | undefined>;
}

export function prismaInterfaceStore(db: Db): InterfaceStore {
  return {
    claim: (ends) => lockInterfaces(db as Tx, ends),
    async linkOn({ node, interface: ifname }, exceptLink) {
      const link = await db.link.findFirst({
        where: { ...(exceptLink ? { id: { not: exceptLink } } : {}), OR: [{ aNodeId: node, aInterface: ifname }, { bNodeId: node, bInterface: ifname }] },
        select: { id: true },
      });
      return link?.id;
    },
    async siteOn({ node, interface: ifname }) {
      return (await db.siteAccess.findFirst({ where: { nodeId: node, interface: ifname }, select: { siteId: true } }))?.siteId;
    },
  };
}
