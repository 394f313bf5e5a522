import { existsSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { PipelineError } from './errors.js';

/*
 * One driver per seed: a lease file beside the state (pipeline.lock) with the
 * holder and a heartbeat. A second driver on the same seed is refused while
 * the heartbeat is fresh; a lease whose holder stopped beating (a killed
 * pod) is taken over after `staleMs`, or at once when the holder was a
 * process on this host that no longer runs. Training blocks the
 * event loop for minutes, so the driver also beats from its step callback.
 */

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LeaseRecord {
  pid: number;
  host: string;
  startedAt: string;
  heartbeatAt: string;
}

export class DriverLease {
  private timer: NodeJS.Timeout | null = null;
  private lastBeat = 0;

  private constructor(
    readonly file: string,
    private readonly record: LeaseRecord,
    private readonly heartbeatMs: number,
  ) {}

  static acquire(file: string, options: { staleMs?: number; heartbeatMs?: number; now?: () => number } = {}): DriverLease {
    const staleMs = options.staleMs ?? 120_000;
    const now = options.now ?? Date.now;
    const record: LeaseRecord = { pid: process.pid, host: hostname(), startedAt: new Date(now()).toISOString(), heartbeatAt: new Date(now()).toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeFileSync(fd, JSON.stringify(record));
        closeSync(fd);
        const lease = new DriverLease(file, record, options.heartbeatMs ?? 10_000);
        lease.lastBeat = now();
        lease.timer = setInterval(() => lease.beat(true), lease.heartbeatMs).unref();
        return lease;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let holder: LeaseRecord | null = null;
      try {
        holder = JSON.parse(readFileSync(file, 'utf8')) as LeaseRecord;
      } catch {
        holder = null; // half-written by a holder that died: stale
      }
      const age = holder ? now() - Date.parse(holder.heartbeatAt) : Number.POSITIVE_INFINITY;
      // On this host a dead holder is known at once; elsewhere only by its silence.
      const gone = holder !== null && holder.host === hostname() && !alive(holder.pid);
      if (holder && age < staleMs && !gone)
        throw new PipelineError(
          `another driver runs this pipeline seed (pid ${holder.pid} on ${holder.host}, heartbeat ${Math.round(age / 1000)} s ago); stop it first, or wait ${Math.ceil((staleMs - age) / 1000)} s if it is gone`,
          { file },
        );
      unlinkSync(file);
    }
    throw new PipelineError('could not take the pipeline lease (another driver took it at the same time)', { file });
  }

  /** Renews the heartbeat (at most every heartbeatMs unless forced). */
  beat(force = false): void {
    if (!force && Date.now() - this.lastBeat < this.heartbeatMs) return;
    this.lastBeat = Date.now();
    this.record.heartbeatAt = new Date().toISOString();
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.record));
    renameSync(`${this.file}.tmp`, this.file);
  }

  release(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      const holder = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as LeaseRecord) : null;
      if (holder && holder.pid === this.record.pid && holder.host === this.record.host && holder.startedAt === this.record.startedAt) unlinkSync(this.file);
    } catch {
      // already gone
    }
  }
}
