import { STDIN_INPUT, namingGzipFile, openCorpusFile } from './compressed.js';
import { IngestError } from './errors.js';

/*
 * Streaming, byte-level line reader for corpus files of any size.
 *
 * Works on raw bytes so that a line with invalid UTF-8 is rejected on its own
 * (instead of silently becoming U+FFFD), an over-long line is skipped without
 * ever being held in memory, CRLF endings and a leading BOM are accepted, and
 * every event carries its physical 1-based line number. Gzip files are
 * decompressed on the way (shards/compressed.ts). Events come in arrays
 * (one per read chunk) because a per-line async yield costs more than parsing.
 */

export type LineEvent =
  | { kind: 'line'; line: number; text: string }
  | { kind: 'invalid_utf8'; line: number; excerpt: string }
  | { kind: 'line_too_long'; line: number; bytes: number; excerpt: string };

export interface ReadLinesOptions {
  /** Lines longer than this (in bytes, without the newline) become `line_too_long`. */
  maxLineBytes: number;
  /** Characters kept as excerpt of a bad line. @defaultValue 200 */
  excerptChars?: number;
  /** Read size. @defaultValue 1 MiB */
  chunkBytes?: number;
  signal?: AbortSignal;
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export async function* readLines(path: string, options: ReadLinesOptions): AsyncGenerator<LineEvent[]> {
  const { maxLineBytes } = options;
  const excerptChars = options.excerptChars ?? 200;
  const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const lenientDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  const excerptOf = (bytes: Uint8Array) => lenientDecoder.decode(bytes.subarray(0, excerptChars * 4)).slice(0, excerptChars);

  let lineNo = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overflowHead: Buffer | null = null; // first bytes of a line being skipped
  let overflowBytes = 0;

  const finishLine = (piece: Buffer, out: LineEvent[]): void => {
    lineNo += 1;
    if (overflowHead !== null || pendingBytes + piece.length > maxLineBytes) {
      const head = overflowHead ?? Buffer.concat([...pending, piece.subarray(0, excerptChars * 4)]);
      out.push({ kind: 'line_too_long', line: lineNo, bytes: overflowBytes + pendingBytes + piece.length, excerpt: excerptOf(head) });
    } else {
      let bytes = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
      if (lineNo === 1 && bytes.subarray(0, 3).equals(BOM)) bytes = bytes.subarray(3);
      if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
      try {
        out.push({ kind: 'line', line: lineNo, text: strictDecoder.decode(bytes) });
      } catch {
        out.push({ kind: 'invalid_utf8', line: lineNo, excerpt: excerptOf(bytes) });
      }
    }
    pending = [];
    pendingBytes = 0;
    overflowHead = null;
    overflowBytes = 0;
  };

  const keepPartial = (piece: Buffer): void => {
    if (piece.length === 0) return;
    if (overflowHead !== null) {
      overflowBytes += piece.length;
    } else if (pendingBytes + piece.length > maxLineBytes) {
      overflowHead = Buffer.concat([...pending, piece]).subarray(0, excerptChars * 4);
      overflowBytes = pendingBytes + piece.length;
      pending = [];
      pendingBytes = 0;
    } else {
      // Copy: the read stream may reuse its chunk memory.
      pending.push(Buffer.from(piece));
      pendingBytes += piece.length;
    }
  };

  const file = openCorpusFile(path, { highWaterMark: options.chunkBytes ?? 1 << 20 });
  let first = true;
  try {
    for await (const chunk of chunksOf(file.stream, file.gzip ? path : null)) {
      options.signal?.throwIfAborted();
      if (first && path === STDIN_INPUT && chunk[0] === 0x1f && chunk[1] === 0x8b)
        throw new IngestError('standard input is gzip-compressed: decompress it on the way (zcat FILE.gz | sci ingest … --input -)', { file: path });
      first = false;
      const out: LineEvent[] = [];
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(NEWLINE, start);
        if (nl === -1) {
          keepPartial(chunk.subarray(start));
          break;
        }
        finishLine(chunk.subarray(start, nl), out);
        start = nl + 1;
      }
      if (out.length > 0) yield out;
    }
    if (pendingBytes > 0 || overflowHead !== null) {
      const out: LineEvent[] = [];
      finishLine(Buffer.alloc(0), out);
      yield out;
    }
  } finally {
    file.close();
  }
}

/** The stream's chunks; a gzip stream's errors name the file. */
async function* chunksOf(stream: AsyncIterable<Buffer>, gzipPath: string | null): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk;
  } catch (err) {
    throw gzipPath === null ? err : namingGzipFile(gzipPath, err);
  }
}
