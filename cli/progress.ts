import cliProgress from 'cli-progress';
import type { Logger } from '../common/index.js';

export interface ProgressReporter {
  update(done: number, total: number, fields?: Record<string, number | string>): void;
  stop(): void;
}

/**
 * A bar on a terminal (stderr), otherwise a structured log line at most every
 * `logEveryMs`, so long runs show progress in both places without flooding.
 */
export function progressReporter(label: string, logger: Logger, options: { logEveryMs?: number; unit?: string } = {}): ProgressReporter {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${label} [{bar}] {percentage}% | {value}/{total} ${options.unit ?? ''} | {detail} | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, fields = {}) {
        const detail = Object.entries(fields)
          .map(([k, v]) => `${k} ${v}`)
          .join(' ');
        if (!started) {
          bar.start(total, done, { detail });
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(done, { detail });
        }
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  const every = options.logEveryMs ?? 5000;
  let last = 0;
  return {
    update(done, total, fields = {}) {
      const now = Date.now();
      if (now - last < every) return;
      last = now;
      logger.info({ progress: label, done, total, ...fields }, `${label} ${total > 0 ? Math.round((100 * done) / total) : 0}%`);
    },
    stop() {},
  };
}
