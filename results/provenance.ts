import { execFileSync } from 'node:child_process';
import { cpus, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/*
 * Where a figure came from: the code (git commit of this checkout, and whether
 * its tracked files had changes) and the machine. A figure whose tree was
 * dirty is still recorded, but says so; a build without a git checkout (an
 * image) records its commit as unknown rather than guessing.
 */

export const ProvenanceSchema = z.strictObject({
  /** Full commit id of the checkout that ran; null where it is not a git checkout. */
  commit: z.string().nullable(),
  /** Tracked files differed from the commit (untracked files do not count). */
  dirty: z.boolean(),
  /** `git describe --always --dirty`, for people. */
  describe: z.string().nullable(),
  node: z.string(),
  platform: z.string(),
  cpu: z.string(),
  cores: z.number().int().positive(),
  memoryGiB: z.number(),
  recordedAt: z.string(),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

/** The package root: results/ sits one level below it in the sources and two in dist/. */
const packageRoot = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../' : '../', import.meta.url));

function git(args: readonly string[], cwd: string): string | null {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** This process's code and machine, now. `repo` defaults to the package's own checkout. */
export function captureProvenance(repo: string = packageRoot): Provenance {
  const commit = git(['rev-parse', 'HEAD'], repo);
  const changes = commit === null ? null : git(['status', '--porcelain', '--untracked-files=no'], repo);
  const cpuList = cpus();
  return {
    commit,
    dirty: changes !== null && changes.length > 0,
    describe: commit === null ? null : git(['describe', '--always', '--dirty'], repo),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: Math.max(1, cpuList.length),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    recordedAt: new Date().toISOString(),
  };
}

/** The same code and the same dirtiness (machine facts may differ between runs of one record). */
export function sameCode(a: Provenance, b: Provenance): boolean {
  return a.commit === b.commit && a.dirty === b.dirty;
}
