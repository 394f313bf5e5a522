import { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const DEMO_SCRIPT = fileURLToPath(new URL('../../scripts/demo.sh', import.meta.url));

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'The main job on the built-in WordNet corpus: local cluster, ingest, train, encode, index, scatter-gather evaluation, report (what `make demo` runs)',
    )
    .action(() => {
      const result = spawnSync('bash', [DEMO_SCRIPT], { stdio: 'inherit' });
      if (result.status !== 0) process.exitCode = result.status ?? 1;
    });
}
