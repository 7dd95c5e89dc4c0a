// Migration 20261207173600_site_network_access, through the project's own
// migrate path: a database at the migration before it, holding one-access
// sites in the old "site" columns, is migrated, and each site comes out with
// its one access (id = the site's id) and the old status, and reads through
// the store as before (the flat fields, plus accesses).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { applyMigrations } from '../../services/common/db/migrations.js';
import { poolConfigFromUrl } from '../../services/common/db/pg-config.js';
import { openDatabase } from '../../services/common/db/client.js';
import { projectRoot } from '../../services/common/project-root.js';
import { prismaSiteStore } from '../../services/vpn/store/site-store.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';

const MIGRATION = '20261207173600_site_network_access';

let db: TestDatabase | undefined;
let dir: string | undefined;
let sql: pg.Client | undefined;

before(async () => {
  // The migrations folder as it was before this migration.
  dir = mkdtempSync(join(tmpdir(), 'l3vpn-migration-'));
  cpSync(join(projectRoot(), 'prisma'), dir, { recursive: true, filter: (src) => !src.includes(MIGRATION) });
  db = await createTestDatabase('siteaccess', { prismaDir: dir });
  sql = new pg.Client(poolConfigFromUrl(db.url));
  await sql.connect();
});
after(async () => {
  await sql?.end();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('existing one-access sites are carried over into site_access, status and all', async () => {
  const q = (text: string, values: unknown[] = []) => sql!.query(text, values);
  await q(`INSERT INTO node (id, name, role, router_id, loopback, as_number, transport, updated_at) VALUES ('pe1', 'pe1', 'PE', '10.0.0.1', '10.0.0.1', 65000, 'SR', now())`);
  await q(`INSERT INTO vpn (id, customer, topology, address_families, label_mode, max_routes_per_vrf, updated_at) VALUES ('acme', 'acme', 'ANY_TO_ANY', '{ipv4,ipv6}', 'PER_VRF', 100, now())`);
  await q(
    `INSERT INTO site (id, vpn_id, node_id, interface, vlan, ipv4_pe_address, ipv4_ce_address, ipv6_pe_address, ipv6_ce_address, role, status, status_reason, updated_at)
     VALUES ('s1', 'acme', 'pe1', 'eth1', 100, '10.1.0.1/30', '10.1.0.2', '2001:db8::1/64', '2001:db8::2', 'ANY_TO_ANY', 'DOWN', 'pe1: eth1 is down', now()),
            ('s2', 'acme', 'pe1', 'eth2', 0, '10.2.0.1/30', '10.2.0.2', NULL, NULL, 'ANY_TO_ANY', 'ACTIVE', NULL, now())`,
  );
  assert.deepEqual(await applyMigrations({ databaseUrl: db!.url }), [MIGRATION]);
  const rows = (await q(`SELECT site_id, id, node_id, interface, vlan, ipv4_pe_address, ipv6_ce_address, priority, status, status_reason FROM site_access ORDER BY site_id`)).rows;
  assert.deepEqual(rows, [
    { site_id: 's1', id: 's1', node_id: 'pe1', interface: 'eth1', vlan: 100, ipv4_pe_address: '10.1.0.1/30', ipv6_ce_address: '2001:db8::2', priority: 100, status: 'DOWN', status_reason: 'pe1: eth1 is down' },
    { site_id: 's2', id: 's2', node_id: 'pe1', interface: 'eth2', vlan: 0, ipv4_pe_address: '10.2.0.1/30', ipv6_ce_address: null, priority: 100, status: 'ACTIVE', status_reason: null },
  ]);
  assert.deepEqual((await q(`SELECT multihoming FROM site ORDER BY id`)).rows, [{ multihoming: 'SINGLE_ACTIVE' }, { multihoming: 'SINGLE_ACTIVE' }]);
  // One port and VLAN still takes one access.
  await assert.rejects(q(`INSERT INTO site_access (site_id, id, node_id, interface, vlan) VALUES ('s2', 'x', 'pe1', 'eth1', 100)`), /site_access_node_id_interface_vlan_key/);
  const database = openDatabase(db!.url, 2);
  try {
    const s1 = await prismaSiteStore(database.prisma).read('s1');
    assert.deepEqual(
      [s1?.node, s1?.interface, s1?.vlan, s1?.ipv4, s1?.ipv6, s1?.accesses.map((a) => [a.id, a.node, a.priority, a.status.state])],
      ['pe1', 'eth1', 100, { peAddress: '10.1.0.1/30', ceAddress: '10.1.0.2' }, { peAddress: '2001:db8::1/64', ceAddress: '2001:db8::2' }, [['s1', 'pe1', 100, 'down']]],
    );
  } finally {
    await database.close();
  }
});
