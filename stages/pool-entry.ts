import { workerData } from 'node:worker_threads';
import { createRootLogger, messageWithLocation, toErrorWire } from '../common/index.js';
import { setEncoderSettings } from './encode/encode.js';
import { WIRE_PREFIX } from './thread-errors.js';
import { cancelOfFlag } from './cancel-flag.js';
import { stageNamed } from './registry.js';
import type { PoolResult, PoolTask } from './stage.js';

/*
 * The piscina worker-thread entry: CPU work of one task, on local files, by
 * the stage the task names. Errors cross the thread boundary as their wire
 * form (code, retryable, status) in the message; the worker rebuilds the
 * typed error from it (fromWorkerThread).
 */
// The worker's inference settings (config workers.encoder) and log level, handed to every pool thread as it starts:
// the thread logs which engine and provider each model really opened on (a CUDA fallback says why).
const threadData = workerData as { encoder?: Parameters<typeof setEncoderSettings>[0]; logLevel?: string } | null;
// A worker passes its log level; the in-process runner (benches, tests) passes none and its threads say only warnings.
setEncoderSettings(threadData?.encoder ?? {}, createRootLogger({ level: threadData?.logLevel ?? 'warn', pretty: false }).child({ component: 'pool-thread' }));

export default async function runPoolTask(task: PoolTask): Promise<PoolResult> {
  const cancel = cancelOfFlag(task.cancel);
  try {
    return await stageNamed(task.stage).run(task, cancel);
  } catch (err) {
    // Structured clone keeps only name/message/stack: carry code, retryable and status in the message,
    // and where the fault is (file and line) in its text, for the task record a person reads.
    throw new Error(`${WIRE_PREFIX}${JSON.stringify({ ...toErrorWire(err), message: messageWithLocation(err) })}`);
  } finally {
    cancel.dispose();
    task.progress?.close();
  }
}

/** Where piscina loads this entry from (the worker's pool and the in-process runner's). */
export const POOL_ENTRY = new URL('./pool-entry.js', import.meta.url).href;
