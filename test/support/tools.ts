// What a test needs from the machine (a binary, root, a kernel, a view of a
// service). Locally a missing piece skips the test with the reason; in CI
// (CI=true) it fails it, naming what to install: a CI run that skips proves
// nothing, and must never pass for lack of a tool.
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

/** True in CI, where nothing may skip. */
export function inCi(): boolean {
  const ci = (process.env.CI ?? '').toLowerCase();
  return ci !== '' && ci !== 'false' && ci !== '0';
}

/** Thrown in CI in place of a skip. */
export class MissingInCi extends Error {
  override name = 'MissingInCi';
}

/**
 * `reason` is why the test cannot run here (undefined or false: it can).
 * Returns false when it can run, the reason to skip with otherwise; in CI
 * throws instead, so the test (or the file, at load time) fails.
 */
export function skipOrFail(reason: string | undefined | false): string | false {
  if (!reason) return false;
  if (inCi()) throw new MissingInCi(`CI=true and ${reason}: install it (the .ci/install-* scripts do), a test never skips in CI`);
  return reason;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The path of an executable: `bin` itself when it is a path, else where PATH (and the sbin folders, where daemons live) has it; undefined when missing. */
export function onPath(bin: string): string | undefined {
  if (bin.includes('/')) return executable(bin) ? bin : undefined;
  const dirs = new Set([...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  for (const dir of dirs) {
    if (dir && executable(join(dir, bin))) return join(dir, bin);
  }
  return undefined;
}

/** Why a binary is missing (naming the apt package that has it), or undefined when it is on PATH. */
export function toolMissing(bin: string, aptPackage: string): string | undefined {
  return onPath(bin) ? undefined : `${bin} is not installed (apt-get install -y ${aptPackage})`;
}

/**
 * A skip reason when any of these binaries (name -> apt package) is missing,
 * false when all are there; in CI a missing one throws (see skipOrFail).
 */
export function requireTools(tools: Record<string, string>): string | false {
  const missing = Object.entries(tools).flatMap(([bin, pkg]) => toolMissing(bin, pkg) ?? []);
  return skipOrFail(missing.length ? missing.join('; ') : undefined);
}

/** One binary; see requireTools. */
export function requireTool(bin: string, aptPackage: string): string | false {
  return requireTools({ [bin]: aptPackage });
}
