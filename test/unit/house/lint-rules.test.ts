import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { REPO_ROOT } from '../../support/paths.js';

/*
 * The house rule eslint.config.js adds: a folder is imported through its
 * index.js only. Checked on snippets, so the rule itself can fail a test.
 */

const eslint = new ESLint({ cwd: REPO_ROOT });
const restricted = async (file: string, source: string) => {
  const [result] = await eslint.lintText(source, { filePath: join(REPO_ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').length;
};

test("importing another folder's internals is an error at every depth; its index and own-folder files are fine", async () => {
  assert.equal(await restricted('cli/x.ts', "import { Worker } from '../workers/worker.js';\nexport { Worker };\n"), 1);
  assert.equal(await restricted('encoder/model/x.ts', "import { NAMES } from '../../jobs/names.js';\nexport { NAMES };\n"), 1);
  assert.equal(await restricted('cli/x.ts', "import { Worker } from '../workers/index.js';\nexport { Worker };\n"), 0);
  assert.equal(
    await restricted(
      'encoder/model/x.ts',
      "import { train } from '../training/index.js';\nimport { loss } from '../losses/contrastive.js';\nexport { train, loss };\n",
    ),
    0,
  );
  assert.equal(await restricted('workers/x.ts', "import { runTask } from './task-runner.js';\nexport { runTask };\n"), 0);
});
