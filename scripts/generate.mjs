// Regenerates services/common/gen/: ts-proto types from proto/ (buf, from npm)
// and the Prisma client from prisma/schema.prisma. Needs no network.
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`generate: ${cmd} ${args.join(' ')} failed`);
    process.exit(r.status ?? 1);
  }
}

rmSync(join(root, 'services/common/gen'), { recursive: true, force: true });
run(bin('buf'), ['lint']);
run(bin('buf'), ['generate']);
// `prisma generate` only needs a schema engine path to exist; it does not run
// it. Pointing it at node keeps the CLI from trying to download one.
run(bin('prisma'), ['generate'], {
  PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
});
