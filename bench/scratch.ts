import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A bench's scratch folder: removed when the bench ends (a bench deletes its outputs), or kept and
 * named on stderr with `--keep`, for looking at what it built.
 */
export function benchScratch(prefix: string, keep: boolean): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    done: () => {
      if (keep) process.stderr.write(`kept ${dir}\n`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}
