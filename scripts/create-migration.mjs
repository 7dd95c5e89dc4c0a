// Writes prisma/migrations/<timestamp>_<name>/migration.sql for whatever
// prisma/schema.prisma changed, like `prisma migrate dev --create-only`, with
// the WebAssembly schema engine (no download). Needs a PostgreSQL server for
// its shadow database: DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/l3vpn_dev).
//   npm run migration:create -- add_vrf_table
import { createMigration } from '../dist/services/common/db/migrations.js';

const name = process.argv[2];
if (!name) {
  console.error('usage: npm run migration:create -- NAME');
  process.exit(2);
}
const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/l3vpn_dev';
const folder = await createMigration({ databaseUrl, name });
console.log(folder ? `wrote prisma/migrations/${folder}/migration.sql` : 'schema.prisma matches the migrations; nothing to write');
