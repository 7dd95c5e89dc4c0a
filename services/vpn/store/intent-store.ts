// The intent handlers' one way to the database: every lock, read, conflict
// lookup and write they make, in the terms of intent/types.ts. Rules take an
// IntentStore, so tests can give them an in-memory one.
import type { Db } from './db.js';
import { prismaInterfaceStore, type InterfaceStore } from './interface-store.js';
import { prismaLinkStore, type LinkStore } from './link-store.js';
import { prismaNodeStore, type NodeStore } from './node-store.js';
import { prismaSiteStore, type SiteStore } from './site-store.js';
import { prismaVpnStore, type VpnStore } from './vpn-store.js';
import { prismaVrfStore, type VrfStore } from './vrf-store.js';

export interface IntentStore {
  readonly nodes: NodeStore;
  readonly interfaces: InterfaceStore;
  readonly links: LinkStore;
  readonly vpns: VpnStore;
  readonly sites: SiteStore;
  readonly vrfs: VrfStore;
}

/** The store over a transaction (writes) or the client (reads). */
export function prismaIntentStore(db: Db): IntentStore {
  return {
    nodes: prismaNodeStore(db),
    interfaces: prismaInterfaceStore(db),
    links: prismaLinkStore(db),
    vpns: prismaVpnStore(db),
    sites: prismaSiteStore(db),
    vrfs: prismaVrfStore(db),
  };
}
