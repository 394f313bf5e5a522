import { join } from 'node:path';
import { concatNegativesFiles, MineAccountSchema, sumAccounts } from '../../mine/index.js';
import { readJsonFile } from '../../storage/index.js';
import { defineStage, type PoolResult, type PoolTask } from '../stage.js';
import { mergeParts, mineKeys, writeAccountResult } from './inputs.js';

/*
 * mine job, its last stage (one task): the merge parts joined in query order
 * into the negatives file (record batches copied, nothing decoded) and their
 * accounts summed into one that adds up: queries in = queries with negatives
 * + queries with none.
 */

export interface ConcatTask extends PoolTask {
  stage: 'concat';
  partFiles: string[];
  accountFiles: string[];
  outFile: string;
  accountFile: string;
}

function runConcat(task: ConcatTask): Promise<PoolResult> {
  const account = sumAccounts(task.accountFiles.map((f) => readJsonFile(f, MineAccountSchema)));
  concatNegativesFiles(task.partFiles, task.outFile);
  return Promise.resolve(writeAccountResult(account, { negatives: task.outFile, account: task.accountFile }, false));
}

export const concatStage = defineStage<'mine', ConcatTask>({
  name: 'concat',
  job: 'mine',
  async shardIds(storage, spec) {
    await mergeParts(storage, spec); // the set's checks, though the concat is one task
    return [0];
  },
  async prepare({ storage, spec, work }) {
    const parts = Array.from({ length: await mergeParts(storage, spec) }, (_, part) => part);
    return {
      poolTask: {
        stage: 'concat',
        partFiles: await Promise.all(parts.map((p) => storage.localPath(mineKeys.mergedPart(spec.output, p)))),
        accountFiles: await Promise.all(parts.map((p) => storage.localPath(mineKeys.mergedAccount(spec.output, p)))),
        outFile: join(work, 'negatives.arrow'),
        accountFile: join(work, 'account.json'),
      },
      publishUnder: spec.output,
    };
  },
  run: runConcat,
});
