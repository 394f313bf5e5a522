import type { Provenance } from '../../results/index.js';

/** A record's provenance for table tests: a clean commit on a 2-core machine. */
export function fixtureProvenance(memoryGiB = 24): Provenance {
  return {
    commit: 'a'.repeat(40),
    dirty: false,
    describe: 'aaaaaaa',
    node: 'v20',
    platform: 'linux',
    cpu: 'x',
    cores: 2,
    memoryGiB,
    recordedAt: '2026-12-05T00:00:00Z',
  };
}
