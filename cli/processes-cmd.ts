import { Command } from 'commander';
import { Coordinator } from '../coordinator/index.js';
import { Worker, type CrashPoint } from '../workers/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { exitOnConnectionLoss, openCluster, type ClusterHandles } from './cluster-context.js';
import { withTimeout } from '../messaging/index.js';
import { positiveInt } from './parse.js';
import { processMetrics } from './metrics-endpoint.js';

/** Drains the NATS connection, but not forever: with NATS gone a drain never completes. */
export async function closeBounded(cluster: Pick<ClusterHandles, 'nc' | 'close'>): Promise<void> {
  await withTimeout(cluster.close(), 5000, 'draining the NATS connection').catch(() => cluster.nc.close());
}

/** Waits for SIGTERM / SIGINT, then runs `stop` once. */
export function onShutdown(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = () => {
      if (stopping) return;
      stopping = true;
      void stop().finally(resolve);
    };
    process.once('SIGTERM', handler);
    process.once('SIGINT', handler);
  });
}

export function coordinatorCommand(globals: () => GlobalOptions): Command {
  return new Command('coordinator')
    .description('Run the coordinator in the foreground (what a cluster deployment runs)')
    .command('run')
    .description('Plan submitted jobs into tasks, follow them, write output manifests; resumes unfinished jobs')
    .action(async () => {
      const { config, logger } = commandContext(globals());
      const cluster = exitOnConnectionLoss(
        await openCluster(
          config,
          `sci-coordinator-${process.pid}`,
          'coordinator',
          (change) => logger.info({ change }, 'reconciled JetStream settings'),
          logger,
        ),
      );
      const metrics = await processMetrics(config, 'coordinator', logger);
      const coordinator = new Coordinator({
        state: cluster.state,
        storage: cluster.storage,
        logger: logger.child({ component: 'coordinator' }),
        metrics: metrics.registry,
        // Fault injection for the fault tests only (never set in deployments).
        faultAt: process.env.SCI_FAULT_COORDINATOR_AT === 'stage-publish' ? 'stage-publish' : null,
      });
      await coordinator.start();
      logger.info({ pid: process.pid, metrics: metrics.endpoint?.url ?? null }, 'coordinator running');
      await onShutdown(async () => {
        await metrics.endpoint?.close();
        await withTimeout(coordinator.close(), 10_000, 'closing the coordinator').catch(() => undefined);
        await closeBounded(cluster);
      });
      // Everything is closed; a NATS client whose server is already gone can still hold the event loop.
      process.exit(0);
    }).parent!;
}

export function workerCommand(globals: () => GlobalOptions): Command {
  return new Command('worker')
    .description('Run a worker in the foreground (what a cluster deployment runs)')
    .command('run')
    .description('Pull tasks and run them in a thread pool; SIGTERM drains')
    .option('--threads <n>', 'pool threads (tasks at once); default workers.pool.threads', positiveInt('--threads'))
    .option('--grace-ms <ms>', 'time in-flight tasks get to finish on SIGTERM', positiveInt('--grace-ms'), 30_000)
    .action(async (flags: { threads?: number; graceMs: number }) => {
      const { config, logger } = commandContext(globals());
      const cluster = exitOnConnectionLoss(await openCluster(config, `sci-worker-${process.pid}`, 'worker', undefined, logger));
      // Fault injection for the crash tests only (never set in deployments).
      const crashAt = process.env.SCI_FAULT_CRASH_AT as CrashPoint | undefined;
      const metrics = await processMetrics(config, 'worker', logger);
      const worker = new Worker({
        metrics: metrics.registry,
        state: cluster.state,
        storage: cluster.storage,
        logger: logger.child({ component: 'worker' }),
        concurrency: flags.threads ?? config.workers.pool.threads,
        encoder: config.workers.encoder,
        crashAt: crashAt ?? null,
        failRecordUpdates: process.env.SCI_FAULT_RECORD_UPDATES === 'fail',
        slowRunningRecordMs: Number(process.env.SCI_FAULT_SLOW_RUNNING_RECORD_MS ?? 0),
      });
      await worker.start();
      await onShutdown(async () => {
        const { forced } = await worker.stop(flags.graceMs);
        await metrics.endpoint?.close();
        await closeBounded(cluster);
        if (forced) process.exit(0);
      });
      process.exit(0);
    }).parent!;
}
