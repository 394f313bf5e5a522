#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to dist/ by `make build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('sci: dist/ is missing; run `make build` (or `make test` / `make demo`, which build first)\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
