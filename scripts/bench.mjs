// Runs the compiled benchmarks: `npm run bench` runs all, `npm run bench -- labels` the named ones.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const names = readdirSync('dist/bench').filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort();
const wanted = process.argv.slice(2);
const run = wanted.length ? names.filter((n) => wanted.some((w) => n.includes(w))) : names;
if (run.length === 0) {
  console.error(`no benchmark matches ${wanted.join(' ')}; have: ${names.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of run) {
  console.log(`\n== ${name}`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--enable-source-maps', `dist/bench/${name}.js`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
