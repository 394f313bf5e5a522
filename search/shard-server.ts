import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { type Logger, CancelledError, noteContained, processTempDir, redactPaths, SciClusterError, toErrorWire } from '../common/index.js';
import { FaissIndex, setFaissThreads } from '../faiss/index.js';
import { loadBm25, type Bm25Index, type CorpusStats } from '../bm25/index.js';
import { joinKey, linkFiles, type Storage } from '../storage/index.js';
import {
  decodeFrame,
  encodeFrame,
  indexSetId,
  parseRequest,
  PROTOCOL_VERSION,
  servingSubject,
  hedgeSubject,
  SHARD_QUEUE_GROUP,
  SERVERS_SUBJECT,
  viewFloat32,
  viewBigInt64,
  type ServingLayout,
  type ShardServerInfo,
  type Bm25SearchRequest,
  type Bm25StatsRequest,
  type DenseRequest,
  type PassagesRequest,
  type ShardRequest,
} from './protocol.js';
import { openIndexSet, type IndexSet } from './index-set.js';
import { PassageLookup, readIdColumns, readSetManifest, verifiedFile } from '../shards/index.js';
import { SearchRequestError, SearchUnavailableError } from './errors.js';
import { ShardServerMetrics } from './metrics.js';
import type { Registry } from 'prom-client';

/*
 * Serves shards of an index set: loads each shard's Faiss indexes and BM25
 * from storage, and answers search requests on the shard's subject in the
 * shared queue group (start more servers for the same shards to add
 * replicas). Faiss searches run off the event loop; a shard answers several
 * requests at once.
 */

interface LoadedShard {
  id: number;
  dense: Map<string, FaissIndex>;
  bm25: Bm25Index | null;
  /** rowId → externalId, from BM25's stored ids or the index's embedding file. */
  externalIdOf: (rowId: bigint) => string;
  /** A routed partition or graph group: per index, rowId → externalId from its ids file (each index holds other rows). */
  externalIdsByIndex: Map<string, (rowId: bigint) => string> | null;
  /** Title and text by row id, opened on the first `passages` request. */
  passages: Promise<PassageLookup> | null;
}

export interface ShardServerOptions {
  nc: NatsConnection;
  storage: Storage;
  indexSet: string;
  /** Shards to serve (or partitions, groups); default all. */
  shards?: number[];
  /** Serve the set's shards (default), its routed partitions (the index job's `routed`) or its graph groups (`graphGroups`). */
  layout?: ServingLayout;
  /**
   * OpenMP threads per Faiss search (default 1): a server answers many
   * requests at once, one per libuv thread; OpenMP teams on top of that
   * oversubscribe the cores and spin-wait (6 ms per HNSW query measured).
   */
  faissThreads?: number;
  logger: Logger;
  /** Where its Prometheus series go (search/metrics.ts); none when absent. */
  metrics?: Registry;
  /** Requests worked on at once; more are answered RESOURCE_EXHAUSTED. @defaultValue 64 */
  maxInFlight?: number;
}

/** Requests a shard server works on at once by default: a few per libuv thread, enough to keep 2–16 cores busy. */
export const DEFAULT_MAX_IN_FLIGHT = 64;

/** What a server has done with the requests it received (its logs and health report them). */
export interface ShardServerCounters {
  answered: number;
  /** Dropped unanswered: they arrived, or waited, past their expiry. */
  expired: number;
  /** Refused by contract or failed, by error code. */
  refused: Record<string, number>;
}

export class ShardServer {
  private readonly subscriptions: Subscription[] = [];
  private readonly shards = new Map<number, LoadedShard>();
  private readonly workDir = processTempDir('shard-server');
  private set: IndexSet | null = null;
  /** IVF indexes' serving nprobe from the manifest: used when a request names none. */
  private servingNprobe = new Map<string, number>();
  /** A routed partition's or graph group's passage files, by data shard (opened on first use). */
  private readonly dataShardPassages = new Map<number, Promise<PassageLookup>>();
  readonly counters: ShardServerCounters = { answered: 0, expired: 0, refused: {} };
  private lastExpiredLog = 0;
  private readonly metrics: ShardServerMetrics | null;
  private readonly startedAt = new Date().toISOString();
  /** Requests being decoded, searched or answered now (admission: `maxInFlight`). */
  private inFlight = 0;

  get requestsServed(): number {
    return this.counters.answered;
  }

  constructor(private readonly options: ShardServerOptions) {
    this.metrics = options.metrics ? new ShardServerMetrics(options.metrics) : null;
  }

  get layout(): ServingLayout {
    return this.options.layout ?? 'shards';
  }

  get servedShards(): number[] {
    return [...this.shards.keys()];
  }

  async start(): Promise<void> {
    const { storage, indexSet, logger, nc } = this.options;
    setFaissThreads(this.options.faissThreads ?? 1);
    this.set = await openIndexSet(storage, indexSet);
    this.servingNprobe = new Map(this.set.manifest.indexes.flatMap((i) => (i.nprobe ? [[i.name, i.nprobe] as const] : [])));
    const layout = this.layout;
    const entries = servingEntries(this.set, layout);
    const wanted = this.options.shards ?? entries.map((s) => s.id);
    const setId = indexSetId(indexSet);
    for (const id of wanted) {
      const entry = entries.find((s) => s.id === id);
      if (!entry) throw new SearchRequestError(`index set ${indexSet} has no ${PART_NAMES[layout]} ${id}`);
      const shard = layout === 'shards' ? await this.loadShard(entry) : await this.loadPart(entry);
      this.shards.set(id, shard);
      const sub = nc.subscribe(servingSubject(setId, layout, id), { queue: SHARD_QUEUE_GROUP });
      // Hedged requests reach every replica of the shard (search/hedging.ts).
      const hedges = nc.subscribe(hedgeSubject(setId, id, layout));
      this.subscriptions.push(sub, hedges);
      void this.serve(sub, shard);
      void this.serve(hedges, shard);
    }
    const rollCall = nc.subscribe(SERVERS_SUBJECT);
    this.subscriptions.push(rollCall);
    void (async () => {
      for await (const msg of rollCall) msg.respond(new TextEncoder().encode(JSON.stringify(this.info())));
    })();
    await nc.flush();
    logger.info({ indexSet, setId, layout, [layout]: wanted, indexes: this.set.names, nprobe: Object.fromEntries(this.servingNprobe) }, 'serving shards');
  }

  private async loadShard(entry: IndexSet['manifest']['shards'][number]): Promise<LoadedShard> {
    const { storage, indexSet } = this.options;
    const dense = new Map<string, FaissIndex>();
    for (const file of entry.files.filter((f) => f.role.startsWith('faiss:'))) {
      // Checked against the manifest before loading: a swapped or truncated file is refused.
      dense.set(file.role.slice('faiss:'.length), await FaissIndex.load(await verifiedFile(storage, indexSet, file)));
    }
    let bm25: Bm25Index | null = null;
    const bm25Files = entry.files.filter((f) => f.role === 'bm25');
    if (bm25Files.length > 0) {
      const dir = join(this.workDir, `bm25-${entry.id}`);
      for (const file of bm25Files) await verifiedFile(storage, indexSet, file);
      await linkFiles(
        storage,
        bm25Files.map((f) => ({ key: joinKey(indexSet, f.path), name: f.path.split('/').pop()! })),
        dir,
      );
      bm25 = loadBm25(dir);
    }
    const externalIdOf = await this.externalIds(entry.id, bm25);
    return { id: entry.id, dense, bm25, externalIdOf, externalIdsByIndex: null, passages: null };
  }

  /** A routed partition or a graph group: its indexes (lists of a routed IVF, a group's graphs), and the external ids of the rows each holds. */
  private async loadPart(entry: IndexSet['manifest']['shards'][number]): Promise<LoadedShard> {
    const { storage, indexSet } = this.options;
    const dense = new Map<string, FaissIndex>();
    const externalIdsByIndex = new Map<string, (rowId: bigint) => string>();
    for (const file of entry.files) {
      const [role, name] = file.role.split(':') as [string, string];
      if (role === 'faiss') dense.set(name, await FaissIndex.load(await verifiedFile(storage, indexSet, file)));
      if (role === 'ids') externalIdsByIndex.set(name, readPartitionIds(await verifiedFile(storage, indexSet, file)));
    }
    return { id: entry.id, dense, bm25: null, externalIdOf: () => '', externalIdsByIndex, passages: null };
  }

  /** The shard's passage file: the index set's passages (BM25's) or those its embeddings were encoded from. */
  private async openPassages(shardId: number): Promise<PassageLookup> {
    const { storage } = this.options;
    const passagesKey = await this.passageSetKey();
    const passages = await readSetManifest(storage, passagesKey, 'passages');
    const entry = passages.shards.find((s) => s.id === shardId);
    if (!entry) throw new SearchUnavailableError(`passage set ${passagesKey} has no shard ${shardId}`);
    return PassageLookup.open(await verifiedFile(storage, passagesKey, entry), entry.firstRowId);
  }

  /**
   * A routed partition's or graph group's hits come from several data shards: each row is read from the passage shard
   * holding it (found by row range), those files opened on first use.
   */
  private async partitionPassages(shard: LoadedShard, req: PassagesRequest): Promise<Uint8Array> {
    const ranges = await this.passageRanges();
    const out = [];
    for (const rowId of req.rowIds) {
      const entry = ranges.find((r) => rowId >= r.firstRowId && rowId < r.firstRowId + r.rows);
      if (!entry) throw new SearchRequestError(`row ${rowId} is in no shard of the passage set`, { field: 'rowIds' });
      let lookup = this.dataShardPassages.get(entry.id);
      if (!lookup) {
        lookup = this.openPassages(entry.id);
        this.dataShardPassages.set(entry.id, lookup);
        lookup.catch(() => this.dataShardPassages.delete(entry.id));
      }
      out.push(...(await lookup).read([rowId], req.fields));
    }
    return encodeFrame({ v: PROTOCOL_VERSION, shard: shard.id, passages: out });
  }

  /** The passage set's shards by row range. */
  private async passageRanges(): Promise<Array<{ id: number; firstRowId: number; rows: number }>> {
    return (await readSetManifest(this.options.storage, await this.passageSetKey(), 'passages')).shards;
  }

  /** The index set's passages (BM25's), or those its embeddings were encoded from. */
  private async passageSetKey(): Promise<string> {
    const manifest = this.set!.manifest;
    const key = manifest.passages ?? (manifest.embeddings ? (await readSetManifest(this.options.storage, manifest.embeddings, 'embeddings')).passages : null);
    if (!key) throw new SearchUnavailableError(`index set ${this.options.indexSet} names no passage set, so hits have no title or text`);
    return key;
  }

  /** rowId → externalId for the shard: BM25 keeps both; else the embedding shard's columns. */
  private async externalIds(shardId: number, bm25: Bm25Index | null): Promise<(rowId: bigint) => string> {
    let rowIds: ArrayLike<number | bigint>;
    let externalIds: readonly string[];
    if (bm25) {
      rowIds = bm25.parts.rowIds;
      externalIds = bm25.parts.externalIds;
    } else {
      const embeddings = this.set!.manifest.embeddings;
      if (!embeddings) return () => '';
      const { readEmbeddingIds } = await import('./embedding-ids.js');
      ({ rowIds, externalIds } = await readEmbeddingIds(this.options.storage, embeddings, shardId));
    }
    const first = Number(rowIds[0] ?? 0);
    const contiguous =
      Array.from({ length: Math.min(rowIds.length, 64) }, (_, i) => Number(rowIds[i]) === first + i).every(Boolean) &&
      Number(rowIds[rowIds.length - 1] ?? first) === first + rowIds.length - 1;
    if (contiguous) return (rowId) => externalIds[Number(rowId) - first] ?? '';
    const map = new Map<number, string>();
    for (let i = 0; i < rowIds.length; i++) map.set(Number(rowIds[i]), externalIds[i]!);
    return (rowId) => map.get(Number(rowId)) ?? '';
  }

  /** What this server tells a roll call (the dashboard's list of servers). */
  info(): ShardServerInfo {
    return {
      pid: process.pid,
      host: hostname(),
      indexSet: this.options.indexSet,
      shards: this.servedShards,
      indexes: this.set?.names ?? [],
      answered: this.counters.answered,
      expired: this.counters.expired,
      refused: Object.values(this.counters.refused).reduce((sum, n) => sum + n, 0),
      startedAt: this.startedAt,
    };
  }

  /**
   * Admission: at most `maxInFlight` requests are decoded and worked on at once (over all of this
   * server's shards); one past that is answered RESOURCE_EXHAUSTED at once, before its frame is even
   * decoded, so a burst costs no memory for queued buffers and the asker hears at once to go elsewhere.
   */
  private async serve(sub: Subscription, shard: LoadedShard): Promise<void> {
    const maxInFlight = this.options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    for await (const msg of sub) {
      if (this.inFlight >= maxInFlight) {
        this.refuseBusy(msg, shard, maxInFlight);
        continue;
      }
      this.inFlight += 1;
      void this.handle(shard, msg.data)
        .then((reply) => reply && this.respond(msg, shard, reply))
        .catch((err: unknown) => noteContained('shard-server.reply', err, { shard: shard.id, subject: msg.subject }, this.options.logger))
        .finally(() => (this.inFlight -= 1));
    }
  }

  private refuseBusy(msg: Msg, shard: LoadedShard, maxInFlight: number): void {
    this.counters.refused.RESOURCE_EXHAUSTED = (this.counters.refused.RESOURCE_EXHAUSTED ?? 0) + 1;
    this.metrics?.refused.inc({ code: 'RESOURCE_EXHAUSTED' });
    const message = `shard server busy: ${maxInFlight} requests in flight`;
    try {
      msg.respond(encodeFrame({ v: PROTOCOL_VERSION, shard: shard.id, error: { code: 'RESOURCE_EXHAUSTED', message, retryable: true } }));
    } catch (err) {
      noteContained('shard-server.reply', err, { shard: shard.id, subject: msg.subject }, this.options.logger);
    }
  }

  /**
   * Sends a reply, or, when it is larger than one NATS message may be (the server's max_payload), an
   * error frame that says so: the asker learns its request was too large instead of waiting out its
   * deadline, and a publish that NATS would refuse never throws here.
   */
  private respond(msg: Msg, shard: LoadedShard, reply: Uint8Array): void {
    const maxPayload = this.options.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
    if (reply.byteLength > maxPayload) {
      this.counters.refused.REPLY_TOO_LARGE = (this.counters.refused.REPLY_TOO_LARGE ?? 0) + 1;
      this.metrics?.refused.inc({ code: 'REPLY_TOO_LARGE' });
      const message = `the answer is ${reply.byteLength} bytes, over the ${maxPayload}-byte NATS max_payload: ask for fewer queries, a smaller k or fewer fields`;
      reply = encodeFrame({ v: PROTOCOL_VERSION, shard: shard.id, error: { code: 'REPLY_TOO_LARGE', message, retryable: false } });
    }
    msg.respond(reply);
  }

  /**
   * One request: checked against its contract before any work, dropped
   * unanswered once expired (queued behind other work, or received late
   * after a pause), answered with an error frame carrying a code when it
   * breaks the contract or fails. Never throws: a bad frame cannot stop
   * the subscription loop.
   */
  async handle(shard: LoadedShard, data: Uint8Array): Promise<Uint8Array | null> {
    const started = performance.now();
    let op = 'unknown';
    try {
      const { header, payload } = decodeFrame(data);
      const request = parseRequest(header);
      op = request.op;
      if (Date.now() >= request.expiresAt) {
        this.noteExpired(shard.id, request.op, 'before work');
        return null;
      }
      const reply = await this.answer(shard, request, payload);
      this.counters.answered += 1;
      this.metrics?.requests.inc({ op, outcome: 'answered' });
      this.metrics?.seconds.observe(
        { index: request.op === 'dense' ? request.index : request.op === 'passages' ? '-' : 'bm25', op },
        (performance.now() - started) / 1000,
      );
      return reply;
    } catch (err) {
      if (err instanceof CancelledError && err.code === 'DEADLINE_EXCEEDED') {
        this.noteExpired(shard.id, op, 'during work');
        return null;
      }
      const wire = toErrorWire(err);
      // The asker learns what failed, not where this server keeps its files.
      wire.message = redactPaths(wire.message, [...this.options.storage.localRoots, this.options.indexSet]);
      this.counters.refused[wire.code] = (this.counters.refused[wire.code] ?? 0) + 1;
      this.metrics?.requests.inc({ op, outcome: 'refused' });
      this.metrics?.refused.inc({ code: wire.code });
      if (!(err instanceof SciClusterError)) {
        // Not ours: the details go to the log, the asker gets a generic message.
        this.options.logger.error({ err, shard: shard.id }, 'shard search failed');
        wire.message = 'shard search failed (see the shard server log)';
      } else this.options.logger.debug({ shard: shard.id, code: wire.code, field: wire.field }, 'request refused');
      return encodeFrame({ v: PROTOCOL_VERSION, shard: shard.id, error: { code: wire.code, message: wire.message, retryable: wire.retryable } });
    }
  }

  /** Counts an expired request; logs at most once a second (a paused server wakes to many). */
  private noteExpired(shard: number, op: string, when: string): void {
    this.counters.expired += 1;
    this.metrics?.requests.inc({ op, outcome: 'expired' });
    const now = Date.now();
    if (now - this.lastExpiredLog < 1000) return;
    this.lastExpiredLog = now;
    this.options.logger.warn({ shard, op, when, expired: this.counters.expired }, 'dropped expired search requests');
  }

  async answer(shard: LoadedShard, request: ShardRequest, payload: ArrayBuffer): Promise<Uint8Array> {
    const started = performance.now();
    if (request.op === 'dense') return this.dense(shard, request, payload, started);
    if (request.op === 'bm25-stats') return this.bm25Stats(shard, request);
    if (request.op === 'passages') return this.passages(shard, request);
    return this.bm25Search(shard, request, started);
  }

  private async passages(shard: LoadedShard, req: PassagesRequest): Promise<Uint8Array> {
    if (shard.externalIdsByIndex) return this.partitionPassages(shard, req);
    if (!shard.passages) {
      shard.passages = this.openPassages(shard.id);
      // A failed open is retried by the next request (the storage may come back).
      shard.passages.catch(() => (shard.passages = null));
    }
    const lookup = await shard.passages;
    const rows = this.set!.manifest.shards.find((s) => s.id === shard.id)!.rows;
    const first = lookup.firstRowId;
    const outside = req.rowIds.find((id) => id < first || id >= first + Math.min(rows, lookup.rows));
    if (outside !== undefined)
      throw new SearchRequestError(`row ${outside} is not in shard ${shard.id} (rows ${first}..${first + lookup.rows - 1})`, { field: 'rowIds' });
    return encodeFrame({ v: PROTOCOL_VERSION, shard: shard.id, passages: lookup.read(req.rowIds, req.fields) });
  }

  private async dense(shard: LoadedShard, req: DenseRequest, payload: ArrayBuffer, started: number): Promise<Uint8Array> {
    const index = shard.dense.get(req.index);
    if (!index)
      throw new SearchRequestError(
        `shard ${shard.id} has no index "${req.index}" (it has: ${[...shard.dense.keys(), ...(shard.bm25 ? ['bm25'] : [])].join(', ')})`,
        { field: 'index' },
      );
    if (req.dim !== index.dim) throw new SearchRequestError(`queries have dimension ${req.dim}, index "${req.index}" has ${index.dim}`, { field: 'dim' });
    const queries = viewFloat32(payload, 0, req.nq * req.dim, 'query vectors');
    const timeoutMs = Math.max(1, req.expiresAt - Date.now());
    let result;
    if (req.lists !== undefined) {
      // Routed IVF: the router assigned the queries; scan exactly those lists.
      if (this.layout !== 'routed')
        throw new SearchRequestError(`${PART_NAMES[this.layout]} ${shard.id} is not a routed partition: send it no lists`, { field: 'lists' });
      const entries = req.nq * req.lists;
      const listsAt = Math.ceil((req.nq * req.dim * 4) / 8) * 8;
      const lists = viewBigInt64(payload, listsAt, entries, 'lists');
      const coarse = viewFloat32(payload, listsAt + entries * 8, entries, 'coarse distances');
      result = await index.searchLists(queries, req.k, { lists, coarse }, { timeoutMs });
    } else {
      if (this.layout === 'routed') throw new SearchRequestError(`routed partition ${shard.id} searches only the lists a router assigns`, { field: 'lists' });
      const nprobe = req.nprobe ?? this.servingNprobe.get(req.index);
      result = await index.search(queries, req.k, { ...(nprobe ? { nprobe } : {}), ...(req.efSearch ? { efSearch: req.efSearch } : {}) }, { timeoutMs });
    }
    const idOf = shard.externalIdsByIndex?.get(req.index) ?? shard.externalIdOf;
    const externalIds = Array.from(result.labels, (l) => (l < 0n ? '' : idOf(l)));
    return encodeFrame(
      {
        v: PROTOCOL_VERSION,
        shard: shard.id,
        nq: req.nq,
        k: req.k,
        higherIsBetter: result.higherIsBetter,
        counters: result.counters,
        externalIds,
        ms: performance.now() - started,
        workMs: result.workMs,
      },
      result.labels,
      result.distances,
    );
  }

  private bm25Stats(shard: LoadedShard, req: Bm25StatsRequest): Uint8Array {
    if (!shard.bm25) throw new SearchRequestError(`shard ${shard.id} has no BM25 index`);
    return encodeFrame({
      v: PROTOCOL_VERSION,
      shard: shard.id,
      docCount: shard.bm25.docCount,
      sumTotalTermFreq: shard.bm25.parts.sumTotalTermFreq,
      df: req.terms.map((t) => shard.bm25!.df(t)),
    });
  }

  private bm25Search(shard: LoadedShard, req: Bm25SearchRequest, started: number): Uint8Array {
    const bm25 = shard.bm25;
    if (!bm25) throw new SearchRequestError(`shard ${shard.id} has no BM25 index`);
    let stats: CorpusStats = bm25.localStats();
    if (req.stats) {
      const df = new Map(req.stats.terms.map((t, i) => [t, req.stats!.df[i]!]));
      stats = { docCount: req.stats.docCount, sumTotalTermFreq: req.stats.sumTotalTermFreq, df: (t) => df.get(t) ?? 0 };
    }
    const nq = req.queries.length;
    const labels = new BigInt64Array(nq * req.k).fill(-1n);
    const scores = new Float32Array(nq * req.k).fill(-Infinity);
    const externalIds = new Array<string>(nq * req.k).fill('');
    const workStarted = performance.now();
    req.queries.forEach((terms, q) => {
      if (Date.now() >= req.expiresAt) throw new CancelledError('BM25 search stopped at its deadline', { expired: true });
      bm25.searchTerms(terms, req.k, stats).forEach((hit, r) => {
        labels[q * req.k + r] = BigInt(hit.rowId);
        scores[q * req.k + r] = hit.score;
        externalIds[q * req.k + r] = hit.externalId;
      });
    });
    const counters = { ndis: 0, nhops: 0, nlist: 0, quantizerDis: 0 };
    return encodeFrame(
      {
        v: PROTOCOL_VERSION,
        shard: shard.id,
        nq,
        k: req.k,
        higherIsBetter: true,
        counters,
        externalIds,
        ms: performance.now() - started,
        workMs: performance.now() - workStarted,
      },
      labels,
      scores,
    );
  }

  async stop(): Promise<void> {
    for (const sub of this.subscriptions) sub.unsubscribe();
    this.subscriptions.length = 0;
    for (const shard of this.shards.values()) void shard.passages?.then((p) => p.close()).catch(() => {});
    for (const lookup of this.dataShardPassages.values()) void lookup.then((p) => p.close()).catch(() => {});
    this.dataShardPassages.clear();
    this.shards.clear();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

const PART_NAMES: Record<ServingLayout, string> = { shards: 'shard', routed: 'routed partition', groups: 'graph group' };

/** The parts of a set a layout serves: its shards, routed partitions or graph groups. */
function servingEntries(set: IndexSet, layout: ServingLayout): IndexSet['manifest']['shards'] {
  if (layout === 'shards') return set.manifest.shards;
  const parts = layout === 'routed' ? set.manifest.routed : set.manifest.groups;
  if (!parts)
    throw new SearchUnavailableError(
      `index set ${set.key} has no ${PART_NAMES[layout]}s (build it with the index job's ${layout === 'routed' ? 'routed' : 'graphGroups'} option)`,
    );
  return parts.parts;
}

/** A routed partition's ids file (sorted by row id): rowId → externalId by binary search, no per-row Map (2^24 cap). */
function readPartitionIds(path: string): (rowId: bigint) => string {
  const { rowIds, externalIds } = readIdColumns(path);
  return (rowId) => {
    let lo = 0;
    let hi = rowIds.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = rowIds[mid]!;
      if (at === rowId) return externalIds[mid]!;
      if (at < rowId) lo = mid + 1;
      else hi = mid - 1;
    }
    return '';
  };
}
