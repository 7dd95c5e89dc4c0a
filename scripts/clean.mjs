// Removes dist/ so a build never leaves compiled files (or tests) of deleted sources behind.
import { rmSync } from 'node:fs';
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
