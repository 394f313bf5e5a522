import { readLines, type LineEvent } from '../line-source.js';
import type { IngestContext, IngestEvent, Origin } from './types.js';
import type { RowKind } from '../reject-log.js';

/**
 * Reads `path` line by line, turning byte-level problems into rejections of
 * `kind` rows and handing every good line to `parse`.
 */
export async function* mapLines(
  path: string,
  kind: RowKind,
  context: IngestContext,
  parse: (text: string, origin: Origin, out: IngestEvent[]) => void,
): AsyncGenerator<IngestEvent[]> {
  for await (const lines of readLines(path, {
    maxLineBytes: context.maxLineBytes,
    excerptChars: context.excerptChars,
    ...(context.signal ? { signal: context.signal } : {}),
  })) {
    const out: IngestEvent[] = [];
    let bytes = 0;
    for (const event of lines) {
      const origin: Origin = { source: path, line: event.line, position: 'line' };
      bytes += approximateBytes(event);
      if (event.kind === 'invalid_utf8') {
        out.push({ ...origin, type: 'reject', kind, reason: 'invalid_utf8', message: 'line is not valid UTF-8', excerpt: event.excerpt });
      } else if (event.kind === 'line_too_long') {
        out.push({
          ...origin,
          type: 'reject',
          kind,
          reason: 'line_too_long',
          message: `line is ${event.bytes} bytes, over maxLineBytes ${context.maxLineBytes}`,
          excerpt: event.excerpt,
        });
      } else if (event.text.trim() === '') {
        out.push({ ...origin, type: 'skip', what: 'blank' });
      } else {
        parse(event.text, origin, out);
      }
    }
    context.onBytes(bytes);
    yield out;
  }
}

function approximateBytes(event: LineEvent): number {
  if (event.kind === 'line') return event.text.length + 1;
  if (event.kind === 'line_too_long') return event.bytes + 1;
  return event.excerpt.length + 1;
}
