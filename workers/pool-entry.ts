import { runFit } from './tasks/fit-task.js';
import { runEncode } from './tasks/encode-task.js';
import { runIndex } from './tasks/index-task.js';
import type { PoolResult, PoolTask } from './tasks/types.js';

/*
 * The piscina worker-thread entry: CPU work of one task, on local files.
 * Errors cross the thread boundary as plain objects; `code` survives and the
 * worker rebuilds the typed error from it (fromWorkerThread).
 */
export default async function runPoolTask(task: PoolTask): Promise<PoolResult> {
  try {
    switch (task.stage) {
      case 'fit':
        return await runFit(task);
      case 'encode':
        return await runEncode(task);
      case 'index':
        return await runIndex(task);
      default:
        throw new Error(`unknown task stage ${(task as { stage: string }).stage}`);
    }
  } catch (err) {
    // Structured clone keeps only name/message/stack: carry the code in the message.
    const code = (err as { code?: unknown }).code;
    throw new Error(`[${typeof code === 'string' ? code : 'TASK_RETRYABLE'}] ${(err as Error).message}`);
  } finally {
    task.progress?.close();
  }
}
