import { runFit } from './tasks/fit-task.js';
import { runEncode } from './tasks/encode-task.js';
import { runIndex } from './tasks/index-task.js';
import { runSample, runTrain } from './tasks/quantizer-task.js';
import { runRoute } from './tasks/route-task.js';
import { runGroup } from './tasks/group-task.js';
import { runMerge, runMine, runQueries, runStats } from './tasks/mine-task.js';
import type { PoolResult, PoolTask } from './tasks/types.js';
import { toErrorWire } from '../common/index.js';
import { WIRE_PREFIX } from './errors.js';
import { cancelOfFlag } from './cancel-flag.js';

/*
 * The piscina worker-thread entry: CPU work of one task, on local files.
 * Errors cross the thread boundary as their wire form (code, retryable,
 * status) in the message; the worker rebuilds the typed error from it
 * (fromWorkerThread).
 */
export default async function runPoolTask(task: PoolTask): Promise<PoolResult> {
  const cancel = cancelOfFlag(task.cancel);
  try {
    switch (task.stage) {
      case 'fit':
        return await runFit(task, cancel);
      case 'encode':
        return await runEncode(task, cancel);
      case 'sample':
        return await runSample(task, cancel);
      case 'train':
        return await runTrain(task, cancel);
      case 'index':
        return await runIndex(task, cancel);
      case 'route':
        return await runRoute(task, cancel);
      case 'group':
        return await runGroup(task, cancel);
      case 'stats':
        return await runStats(task, cancel);
      case 'queries':
        return await runQueries(task, cancel);
      case 'mine':
        return await runMine(task, cancel);
      case 'merge':
        return await runMerge(task, cancel);
      default:
        throw new Error(`unknown task stage ${(task as { stage: string }).stage}`);
    }
  } catch (err) {
    // Structured clone keeps only name/message/stack: carry code, retryable and status in the message.
    throw new Error(`${WIRE_PREFIX}${JSON.stringify(toErrorWire(err))}`);
  } finally {
    cancel.dispose();
    task.progress?.close();
  }
}
