import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { IngestError } from './errors.js';

/*
 * Corpus files as people have them: plain, or gzip-compressed (recognised by
 * its magic bytes, whatever the name), decompressed as a stream so memory
 * does not grow with the file.
 */

const GZIP_MAGIC = [0x1f, 0x8b];

export function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    closeSync(fd);
  }
}

export interface CorpusFile {
  /** The content: the file's bytes, or their decompression. */
  stream: Readable;
  /** Bytes read from the file itself so far (compressed bytes for gzip). */
  bytesRead(): number;
  gzip: boolean;
  close(): void;
}

/** The input name that means standard input (`sci ingest --input -`): read as a stream, plain text only, size unknown. */
export const STDIN_INPUT = '-';

/** Opens a corpus file for streaming, decompressing gzip on the way; `-` is standard input. */
export function openCorpusFile(path: string, options: { highWaterMark?: number } = {}): CorpusFile {
  if (path === STDIN_INPUT) {
    const stdin = process.stdin;
    return { stream: stdin, gzip: false, bytesRead: () => stdin.bytesRead ?? 0, close: () => stdin.destroy() };
  }
  const file = createReadStream(path, options.highWaterMark ? { highWaterMark: options.highWaterMark } : {});
  const gzip = isGzip(path);
  const stream = gzip ? file.pipe(createGunzip({ chunkSize: options.highWaterMark ?? 64 * 1024 })) : file;
  if (gzip) file.on('error', (err) => stream.destroy(err));
  return {
    stream,
    gzip,
    bytesRead: () => file.bytesRead,
    close: () => {
      stream.destroy();
      file.destroy();
    },
  };
}

/** A zlib error (it does not say which file) as an IngestError naming the file; any other error as it is. */
export function namingGzipFile(path: string, err: unknown): unknown {
  if (!(err as { code?: string } | null)?.code?.startsWith('Z_')) return err;
  return new IngestError(`cannot decompress gzip: ${(err as Error).message}`, { file: path, cause: err });
}

/**
 * Bytes the file holds once decompressed (for progress): gzip keeps the size mod 2^32 in its last
 * four bytes; a larger file is counted in whole multiples of 2^32 above its compressed size.
 */
export function contentBytes(path: string): number {
  if (path === STDIN_INPUT) return 0; // a stream's size is unknown until it ends
  const size = statSync(path).size;
  if (size < 18 || !isGzip(path)) return size;
  const fd = openSync(path, 'r');
  try {
    const tail = Buffer.alloc(4);
    readSync(fd, tail, 0, 4, size - 4);
    let bytes = tail.readUInt32LE(0);
    while (bytes < size) bytes += 2 ** 32;
    return bytes;
  } finally {
    closeSync(fd);
  }
}
