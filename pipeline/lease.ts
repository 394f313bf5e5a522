import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { processAlive } from '../common/index.js';
import { PipelineError } from './errors.js';

/*
 * One driver per seed: a lease file beside the state (pipeline.lock) with the
 * holder, a random token and a heartbeat. A second driver on the same seed is
 * refused while the heartbeat is fresh; a lease whose holder stopped beating
 * (a killed pod) is taken over after `staleMs`, or at once when the holder was
 * a process on this host that no longer runs. Training blocks the event loop
 * for minutes, so the driver also beats from its step callback.
 *
 * Exclusive by construction: a lease is created whole (written to a temp
 * file, then hard-linked into place, which fails when the name exists), a
 * stale one is taken over only by renaming away exactly the bytes judged
 * stale, and every beat checks that the file still carries this lease's
 * token: a driver whose lease was taken over learns it at its next beat.
 */

interface LeaseRecord {
  pid: number;
  host: string;
  startedAt: string;
  heartbeatAt: string;
  /** This holder's own random token: the only proof of holding the lease. */
  token: string;
}

/** The lease file's bytes, or null when there is none. */
function readRaw(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** A lease record, or null when the bytes are not one (a foreign or damaged file counts as stale). */
function parseLease(raw: string): LeaseRecord | null {
  try {
    const value = JSON.parse(raw) as Partial<LeaseRecord>;
    return typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.heartbeatAt === 'string' && typeof value.token === 'string'
      ? (value as LeaseRecord)
      : null;
  } catch {
    return null;
  }
}

/** Creates `file` holding `text` only if no file has that name: whole or not at all. */
function createExclusive(file: string, text: string, token: string): boolean {
  const temp = `${file}.new-${token}`;
  writeFileSync(temp, text);
  try {
    linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    unlinkSync(temp);
  }
}

/**
 * Removes the lease file only if it still holds `staleRaw`: renamed aside (atomic), compared, and put
 * back when another driver replaced it in between (link: never over a newer lease).
 */
function removeIfUnchanged(file: string, staleRaw: string, token: string): void {
  const aside = `${file}.stale-${token}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (readRaw(aside) !== staleRaw) {
    try {
      linkSync(aside, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  unlinkSync(aside);
}

export class DriverLease {
  private timer: NodeJS.Timeout | null = null;
  private lastBeat = 0;
  private lost: PipelineError | null = null;

  private constructor(
    readonly file: string,
    private readonly record: LeaseRecord,
    private readonly heartbeatMs: number,
  ) {}

  static acquire(file: string, options: { staleMs?: number; heartbeatMs?: number; now?: () => number } = {}): DriverLease {
    const staleMs = options.staleMs ?? 120_000;
    const now = options.now ?? Date.now;
    const token = randomBytes(12).toString('hex');
    const record: LeaseRecord = {
      pid: process.pid,
      host: hostname(),
      startedAt: new Date(now()).toISOString(),
      heartbeatAt: new Date(now()).toISOString(),
      token,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (createExclusive(file, JSON.stringify(record), token)) {
        const lease = new DriverLease(file, record, options.heartbeatMs ?? 10_000);
        lease.lastBeat = now();
        lease.timer = setInterval(() => lease.beatQuietly(), lease.heartbeatMs).unref();
        return lease;
      }
      const raw = readRaw(file);
      if (raw === null) continue; // released meanwhile: try again
      const holder = parseLease(raw);
      const age = holder ? now() - Date.parse(holder.heartbeatAt) : Number.POSITIVE_INFINITY;
      // On this host a dead holder is known at once; elsewhere only by its silence.
      const gone = holder !== null && holder.host === hostname() && !processAlive(holder.pid);
      if (holder && age < staleMs && !gone)
        throw new PipelineError(
          `another driver runs this pipeline seed (pid ${holder.pid} on ${holder.host}, heartbeat ${Math.round(age / 1000)} s ago); stop it first, or wait ${Math.ceil((staleMs - age) / 1000)} s if it is gone`,
          { file },
        );
      removeIfUnchanged(file, raw, token);
    }
    throw new PipelineError('could not take the pipeline lease (another driver took it at the same time)', { file });
  }

  /** Whether the file still carries this lease; once lost, always lost. */
  private checkHeld(): void {
    if (this.lost) throw this.lost;
    const raw = readRaw(this.file);
    const holder = raw === null ? null : parseLease(raw);
    if (holder?.token === this.record.token) return;
    this.lost = new PipelineError(
      holder
        ? `the pipeline lease was taken over by pid ${holder.pid} on ${holder.host}: this driver stops`
        : 'the pipeline lease file is gone or damaged: this driver stops',
      { file: this.file },
    );
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    throw this.lost;
  }

  /** Renews the heartbeat (at most every heartbeatMs unless forced); throws PipelineError once the lease was taken over. */
  beat(force = false): void {
    if (this.lost) throw this.lost;
    if (!force && Date.now() - this.lastBeat < this.heartbeatMs) return;
    this.checkHeld();
    this.lastBeat = Date.now();
    this.record.heartbeatAt = new Date().toISOString();
    const temp = `${this.file}.beat-${this.record.token}`;
    writeFileSync(temp, JSON.stringify(this.record));
    renameSync(temp, this.file);
  }

  /** The timer's beat: a lost lease is remembered (the driver's next beat throws), never thrown from a timer. */
  private beatQuietly(): void {
    try {
      this.beat(true);
    } catch {
      // kept in this.lost
    }
  }

  release(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const raw = readRaw(this.file);
    if (raw !== null && parseLease(raw)?.token === this.record.token) removeIfUnchanged(this.file, raw, this.record.token);
  }
}
