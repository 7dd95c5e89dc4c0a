// Prisma CLI configuration (used by `prisma generate`; migrations are applied
// by `l3vpn migrate`, see services/common/db/migrate.ts).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/l3vpn' },
});
