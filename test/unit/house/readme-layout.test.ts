import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../support/paths.js';
import { JOB_KINDS } from '../../../stages/index.js';
import { STAGE_NAMES } from '../../../jobs/index.js';

/*
 * The README's Layout section maps every top-level folder the repository
 * tracks, and every stage has its module under stages/ (a stage is one file).
 */

const layoutOf = (readme: string) => readme.slice(readme.indexOf('## Layout'), readme.indexOf('Tests that use `../shared/data` skip'));

test("the README's Layout names every tracked top-level folder, and no folder that is not there", () => {
  const tracked = new Set(
    execFileSync('git', ['ls-files'], { cwd: REPO_ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((path) => path.includes('/') && !path.startsWith('.'))
      .map((path) => path.split('/')[0]!),
  );
  const layout = layoutOf(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
  const listed = new Set([...layout.matchAll(/^([a-z0-9-]+)\/ /gm)].map((m) => m[1]!));
  // bin/ holds one file and is named in cli/'s line.
  for (const folder of tracked) assert.ok(listed.has(folder) || layout.includes(`${folder}/sci.js`), `the Layout section does not name ${folder}/`);
  for (const folder of listed) assert.ok(tracked.has(folder), `the Layout section names ${folder}/, which the repository does not have`);
});

test('every stage name has one module in the registry, under its job kind', () => {
  const stages = Object.values(JOB_KINDS).flatMap((kind) => kind.stages.map((stage) => ({ kind: kind.kind, stage })));
  assert.deepEqual(stages.map((s) => s.stage.name).sort(), [...STAGE_NAMES].sort());
  for (const { kind, stage } of stages) assert.equal(stage.job, kind, `stage ${stage.name} is listed for ${kind} jobs`);
});
