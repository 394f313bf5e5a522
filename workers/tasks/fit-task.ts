import { DfCounter, writeDf } from '../../encoder/index.js';
import type { PoolResult, PoolTask } from './types.js';
import type { TaskCancel } from '../cancel-flag.js';
import { passageText, passagesOf } from './passages.js';

/** Encoder fit, per shard: document frequencies of hashed terms. */
export async function runFit(task: Extract<PoolTask, { stage: 'fit' }>, cancel?: TaskCancel): Promise<PoolResult> {
  const counter = new DfCounter(task.buckets);
  for await (const p of passagesOf(task.passageFile)) {
    counter.add(passageText(p));
    if (counter.docs % 5000 === 0) {
      cancel?.throwIfCancelled();
      task.progress?.postMessage({ rows: counter.docs, total: 0 });
    }
  }
  writeDf(task.outFile, counter);
  return { rowsIn: counter.docs, rowsWritten: counter.docs, rowsRejected: 0, files: [{ path: task.outFile, role: 'df', name: '' }] };
}
