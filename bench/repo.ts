import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (benches run from dist/bench). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_DATA = process.env.SCI_SHARED_DATA ?? resolve(REPO, '..', 'shared', 'data');
