import { createHash } from 'node:crypto';
import { createWriteStream, renameSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { tempPathFor } from '../common/index.js';

/** A text file written line by line to a temp name, hashed, then renamed into place. */
export class HashedTextWriter {
  readonly path: string;
  private readonly tempPath: string;
  private readonly out: WriteStream;
  private readonly hash = createHash('sha256');
  rows = 0;

  constructor(path: string, header: string | null = null) {
    this.path = path;
    this.tempPath = tempPathFor(path);
    this.out = createWriteStream(this.tempPath);
    if (header !== null) this.put(`${header}\n`);
  }

  async writeRow(line: string): Promise<void> {
    this.rows += 1;
    if (!this.put(`${line}\n`)) await once(this.out, 'drain');
  }

  async commit(): Promise<{ path: string; rows: number; sha256: string }> {
    this.out.end();
    await once(this.out, 'close');
    renameSync(this.tempPath, this.path);
    return { path: this.path, rows: this.rows, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    this.out.destroy();
    rmSync(this.tempPath, { force: true });
  }

  private put(text: string): boolean {
    this.hash.update(text);
    return this.out.write(text);
  }
}
