import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/...). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The workplace's shared data sets, beside the repository. */
export const SHARED_DATA = process.env.SCI_SHARED_DATA ?? resolve(REPO_ROOT, '..', 'shared', 'data');

/** Skip message (a string for node:test's `skip`) when a shared data set is absent. */
export function needsSharedData(name: string): string | false {
  return existsSync(join(SHARED_DATA, name)) ? false : `shared data set ${name} not found under ${SHARED_DATA}`;
}

/** A fresh temp folder removed when the test (context) ends. */
export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'sci-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => {
    // node:test runs after hooks in the order they were added, so this one runs before the hooks that stop
    // the processes the test started (nats-server, workers), which may still be writing here. A throw here
    // (ENOTEMPTY from that race) would skip those hooks and leave the processes, and the test file, running:
    // retry, and leave what remains to the OS rather than throw.
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch (err) {
      process.stderr.write(`left ${dir}: ${(err as Error).message}\n`);
    }
  });
  return dir;
}

/** A user nkey seed as a whole token ("SU" + 56 base32 characters); a public key ("U…", 56) may contain "SU" inside. */
export const NKEY_USER_SEED = /(?<![A-Z2-7])SU[A-Z2-7]{56}(?![A-Z2-7])/;
