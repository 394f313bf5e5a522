import type { RejectReason, RowKind } from '../reject-log.js';

/*
 * What every ingester yields: rows in their raw, parsed form plus explicit
 * rejections and skipped non-row lines. The ingest runner owns cross-row rules
 * (duplicate ids, unknown ids in judgments) and the accounting.
 */

export interface Origin {
  source: string;
  /** Physical 1-based line, or the 1-based record index for JSON arrays. */
  line: number;
  position: 'line' | 'record';
}

export type IngestEvent =
  | (Origin & {
      type: 'passage';
      externalId: string;
      title: string;
      text: string;
      /** A repeat of this id is a reference to the first (DPR JSON), not a duplicate row. */
      repeatIsReference?: boolean;
    })
  | (Origin & { type: 'query'; id: string; text: string; split: string | null; extra: Record<string, unknown> })
  | (Origin & { type: 'qrel'; split: string; queryId: string; corpusId: string; score: number })
  | (Origin & { type: 'negative'; split: string; queryId: string; corpusId: string; negativeKind: 'hard' | 'random' })
  | (Origin & { type: 'reject'; kind: RowKind; reason: RejectReason; message: string; excerpt: string })
  | (Origin & { type: 'skip'; what: 'blank' | 'header' | 'license' });

export interface IngestContext {
  maxLineBytes: number;
  excerptChars: number;
  /** Called with bytes consumed since the last call. */
  onBytes: (bytes: number) => void;
  signal?: AbortSignal;
}

export interface Ingester {
  /** Input files in the order they are read (fixes the row id order). */
  files(): string[];
  events(context: IngestContext): AsyncIterable<IngestEvent[]>;
}

export function excerpt(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars)}…` : text;
}
