import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { STDIN_INPUT, contentBytes } from './compressed.js';
import { join, relative, resolve } from 'node:path';
import type { Logger } from 'pino';
import { IdFingerprintSet } from './id-fingerprint-set.js';
import { RejectLog, type RowKind } from './reject-log.js';
import { HashedTextWriter } from './hashed-text-writer.js';
import { ShardSetWriter, type ShardLayout } from './shard-set-writer.js';
import { ID_POLICY, writeManifest, type Manifest } from './manifest.js';
import { PASSAGE_FORMAT } from './passage-schema.js';
import { StrictModeError } from './errors.js';
import { excerpt, type IngestEvent, type Ingester } from './ingest/types.js';

/*
 * Drives one ingester into a shard set and owns the accounting: every row an
 * ingester reports is either written or logged as rejected with a reason, and
 * rowsIn = rowsWritten + rowsRejected holds for passages, queries and
 * judgments alike. Cross-row rules live here: duplicate ids (the first wins),
 * empty passages, judgments naming unknown queries or passages.
 */

export type SourceFormat = Manifest['source']['format'];

export interface IngestProgress {
  bytesDone: number;
  bytesTotal: number;
  rowsWritten: number;
  rowsRejected: number;
}

export interface RunIngestOptions {
  ingester: Ingester;
  format: SourceFormat;
  /** What the user named as input (recorded in the manifest). */
  input: string;
  outDir: string;
  layout: ShardLayout;
  batchRows: number;
  maxLineBytes: number;
  excerptChars: number;
  /** Any rejection fails the run: no manifest is published, the reject log stays. */
  strict: boolean;
  onProgress?: (progress: IngestProgress) => void;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface IngestResult {
  manifest: Manifest;
  manifestPath: string;
}

const pathOrStdin = (path: string) => (path === STDIN_INPUT ? STDIN_INPUT : resolve(path));

export async function runIngest(options: RunIngestOptions): Promise<IngestResult> {
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const files = options.ingester.files();
  // Decompressed sizes: the readers count content bytes.
  const bytesTotal = files.reduce((sum, f) => sum + contentBytes(f), 0);
  const rejects = new RejectLog(join(outDir, 'rejected.jsonl'));
  const shards = new ShardSetWriter({ outDir, layout: options.layout, batchRows: options.batchRows, metadata: { 'sci.source.format': options.format } });
  const state = new IngestState(outDir, rejects, shards);
  let bytesDone = 0;
  try {
    for await (const events of options.ingester.events({
      maxLineBytes: options.maxLineBytes,
      excerptChars: options.excerptChars,
      // Capped at the total where it is known (a gzip's size is an estimate); standard input's is not.
      onBytes: (n) => (bytesDone = bytesTotal > 0 ? Math.min(bytesTotal, bytesDone + n) : bytesDone + n),
      ...(options.signal ? { signal: options.signal } : {}),
    })) {
      for (const event of events) {
        // Passages are handled synchronously; only file writes that hit backpressure return a promise.
        const pending = state.handle(event, options.excerptChars);
        if (pending !== undefined) await pending;
      }
      options.onProgress?.({ bytesDone, bytesTotal, rowsWritten: state.passagesWritten(), rowsRejected: rejects.count('passage') });
    }
  } catch (err) {
    shards.abort();
    await state.abortSide();
    await rejects.close();
    throw err;
  }
  const shardEntries = await shards.finish();
  const side = await state.commitSide();
  await rejects.close();

  const passagesRejected = rejects.count('passage');
  const manifest: Manifest = {
    format: PASSAGE_FORMAT,
    createdAt: new Date().toISOString(),
    // Standard input stays '-': there is no path to resolve.
    source: { format: options.format, input: pathOrStdin(options.input), files: files.map(pathOrStdin) },
    idPolicy: ID_POLICY,
    rowsIn: shards.rowsWritten + passagesRejected,
    rowsWritten: shards.rowsWritten,
    rowsRejected: passagesRejected,
    rejectedPath: relative(outDir, rejects.path),
    rejectReasons: rejects.reasons(),
    linesSkipped: state.skipped,
    passageReferences: state.references,
    shards: shardEntries,
    ...side,
  };
  removeStaleShards(outDir, new Set(shardEntries.map((s) => s.path)));
  const totalRejected = passagesRejected + rejects.count('query') + rejects.count('qrel');
  if (options.strict && totalRejected > 0) {
    for (const shard of shardEntries) rmSync(join(outDir, shard.path), { force: true });
    rmSync(join(outDir, 'manifest.json'), { force: true });
    throw new StrictModeError(totalRejected, rejects.path);
  }
  const manifestPath = writeManifest(outDir, manifest);
  options.logger?.info(
    { outDir, rowsIn: manifest.rowsIn, rowsWritten: manifest.rowsWritten, rowsRejected: manifest.rowsRejected, shards: shardEntries.length },
    'ingest done',
  );
  return { manifest, manifestPath };
}

/** A rerun into the same folder may produce fewer shards; drop the leftovers. */
/** True for '' and whitespace-only text, without trimming long passages. */
function isBlank(text: string): boolean {
  return text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '');
}

function removeStaleShards(outDir: string, keep: Set<string>): void {
  for (const name of readdirSync(outDir)) {
    if (/^passages-\d+\.arrow(\.tmp-\d+)?$/.test(name) && !keep.has(name)) rmSync(join(outDir, name), { force: true });
  }
}

class IngestState {
  readonly skipped: Record<string, number> = {};
  references = 0;
  private readonly passageIds = new IdFingerprintSet();
  private readonly queryIds = new IdFingerprintSet();
  private readonly judgedPairs = new IdFingerprintSet();
  private readonly negativePairs = new IdFingerprintSet();
  private queries: HashedTextWriter | null = null;
  private queriesIn = 0;
  private readonly querySplits: Record<string, number> = {};
  private qrelsIn = 0;
  private readonly qrels = new Map<string, HashedTextWriter>();
  private readonly negatives = new Map<string, HashedTextWriter>();

  constructor(
    private readonly outDir: string,
    private readonly rejects: RejectLog,
    private readonly shards: ShardSetWriter,
  ) {}

  passagesWritten(): number {
    return this.shards.rowsWritten;
  }

  handle(event: IngestEvent, excerptChars: number): Promise<void> | undefined {
    switch (event.type) {
      case 'skip':
        this.skipped[event.what] = (this.skipped[event.what] ?? 0) + 1;
        return undefined;
      case 'reject':
        if (event.kind === 'query') this.queriesIn += 1;
        if (event.kind === 'qrel') this.qrelsIn += 1;
        return this.rejects.add({
          kind: event.kind,
          reason: event.reason,
          source: event.source,
          line: event.line,
          position: event.position,
          message: event.message,
          excerpt: event.excerpt,
        });
      case 'passage':
        return this.handlePassage(event, excerptChars);
      default:
        return this.handleSide(event, excerptChars);
    }
  }

  private handlePassage(event: Extract<IngestEvent, { type: 'passage' }>, excerptChars: number): Promise<void> | undefined {
    if (event.repeatIsReference && this.passageIds.has(event.externalId)) {
      this.references += 1;
      return undefined;
    }
    const show = () => excerpt(`${event.externalId}\t${event.title}\t${event.text}`, excerptChars);
    if (isBlank(event.text) && isBlank(event.title)) return this.reject('passage', event, 'empty_text', 'passage has neither text nor title', show());
    if (!this.passageIds.add(event.externalId)) {
      return this.reject('passage', event, 'duplicate_id', `id ${JSON.stringify(event.externalId)} was already ingested; the first one is kept`, show());
    }
    this.shards.add({ externalId: event.externalId, title: event.title, text: event.text });
    return undefined;
  }

  private async handleSide(event: Exclude<IngestEvent, { type: 'passage' | 'skip' | 'reject' }>, excerptChars: number): Promise<void> {
    switch (event.type) {
      case 'query': {
        this.queriesIn += 1;
        if (!this.queryIds.add(event.id)) {
          await this.reject(
            'query',
            event,
            'duplicate_id',
            `query id ${JSON.stringify(event.id)} was already ingested; the first one is kept`,
            excerpt(event.text, excerptChars),
          );
          return;
        }
        this.queries ??= new HashedTextWriter(join(this.outDir, 'queries.jsonl'));
        const split = event.split ?? 'unsplit';
        this.querySplits[split] = (this.querySplits[split] ?? 0) + 1;
        await this.queries.writeRow(JSON.stringify({ _id: event.id, text: event.text, ...(event.split ? { split: event.split } : {}), ...event.extra }));
        return;
      }
      case 'qrel': {
        this.qrelsIn += 1;
        const show = `${event.queryId}\t${event.corpusId}\t${event.score}`;
        if (!this.queryIds.has(event.queryId)) {
          await this.reject('qrel', event, 'unknown_query_id', `query ${JSON.stringify(event.queryId)} is not among the ingested queries`, show);
        } else if (!this.passageIds.has(event.corpusId)) {
          await this.reject('qrel', event, 'unknown_corpus_id', `passage ${JSON.stringify(event.corpusId)} is not among the ingested passages`, show);
        } else if (!this.judgedPairs.add(`${event.split}\t${event.queryId}\t${event.corpusId}`)) {
          await this.reject('qrel', event, 'duplicate_id', `judgment ${event.queryId} → ${event.corpusId} repeated in split ${event.split}`, show);
        } else {
          await this.splitWriter(this.qrels, 'qrels', event.split, 'query-id\tcorpus-id\tscore').writeRow(show);
        }
        return;
      }
      case 'negative': {
        // Negatives are training hints derived from a query record, not rows of their own.
        if (!this.passageIds.has(event.corpusId) || !this.queryIds.has(event.queryId)) return;
        if (!this.negativePairs.add(`${event.split}\t${event.queryId}\t${event.corpusId}`)) return;
        await this.splitWriter(this.negatives, 'negatives', event.split, 'query-id\tcorpus-id\tkind').writeRow(
          `${event.queryId}\t${event.corpusId}\t${event.negativeKind}`,
        );
        return;
      }
    }
  }

  async commitSide(): Promise<Pick<Manifest, 'queries' | 'qrels' | 'negatives'>> {
    let queries: Manifest['queries'] = null;
    if (this.queries) {
      const done = await this.queries.commit();
      queries = {
        path: relative(this.outDir, done.path),
        sha256: done.sha256,
        rowsIn: this.queriesIn,
        rowsWritten: done.rows,
        rowsRejected: this.rejects.count('query'),
        splits: this.querySplits,
      };
    } else if (this.queriesIn > 0) {
      queries = { path: '', sha256: '', rowsIn: this.queriesIn, rowsWritten: 0, rowsRejected: this.rejects.count('query'), splits: {} };
    }
    const commitAll = async (writers: Map<string, HashedTextWriter>) => {
      const splits: Record<string, { path: string; rows: number; sha256: string }> = {};
      for (const [split, writer] of [...writers.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        const done = await writer.commit();
        splits[split] = { path: relative(this.outDir, done.path), rows: done.rows, sha256: done.sha256 };
      }
      return splits;
    };
    const qrelSplits = await commitAll(this.qrels);
    const written = Object.values(qrelSplits).reduce((sum, s) => sum + s.rows, 0);
    const qrels = this.qrelsIn > 0 ? { rowsIn: this.qrelsIn, rowsWritten: written, rowsRejected: this.rejects.count('qrel'), splits: qrelSplits } : null;
    const negativeSplits = await commitAll(this.negatives);
    const negatives = Object.keys(negativeSplits).length > 0 ? { splits: negativeSplits } : null;
    return { queries, qrels, negatives };
  }

  async abortSide(): Promise<void> {
    await this.queries?.abort();
    for (const writer of [...this.qrels.values(), ...this.negatives.values()]) await writer.abort();
  }

  private async reject(kind: RowKind, event: IngestEvent, reason: Parameters<RejectLog['add']>[0]['reason'], message: string, shown: string): Promise<void> {
    await this.rejects.add({ kind, reason, source: event.source, line: event.line, position: event.position, message, excerpt: shown });
  }

  private splitWriter(writers: Map<string, HashedTextWriter>, folder: string, split: string, header: string): HashedTextWriter {
    let writer = writers.get(split);
    if (!writer) {
      if (!/^[A-Za-z0-9._-]+$/.test(split)) throw new Error(`split name ${JSON.stringify(split)} is not a safe file name`);
      mkdirSync(join(this.outDir, folder), { recursive: true });
      writer = new HashedTextWriter(join(this.outDir, folder, `${split}.tsv`), header);
      writers.set(split, writer);
    }
    return writer;
  }
}
