import { z } from 'zod';
import type { ClusterState, JobControl, JobRecord, TaskRecord } from '../jobs/index.js';
import { controlJob, getRecord, JOB_ID_PATTERN, tasksOfJob, JobRecordSchema } from '../jobs/index.js';
import type { SearchService, SearchResponse } from '../search/index.js';
import { PROTOCOL_LIMITS } from '../search/index.js';
import { PASSAGE_FIELDS } from '../shards/index.js';
import { API_REQUEST_LIMITS, parseContract, redactPaths } from '../common/index.js';
import { ApiError, BadRequestError } from './errors.js';
import { Admission } from './admission.js';

/*
 * The query API's operations, shared by the REST and gRPC fronts: validated
 * input in, plain JSON-able objects out. Limits (k, queries per request)
 * come from config through the SearchService.
 */

/** Longest query text, characters: a query is a question, not a document. */
export const MAX_QUERY_CHARS = API_REQUEST_LIMITS.maxQueryChars;
const L = PROTOCOL_LIMITS;
const queryText = z.string().max(MAX_QUERY_CHARS, { error: `expected a query of at most ${MAX_QUERY_CHARS} characters` });

export const SearchBodySchema = z.strictObject({
  index: z.string().min(1).max(64),
  queries: z.array(queryText).min(1).max(L.maxQueries).optional(),
  query: queryText.optional(),
  vectors: z.array(z.array(z.number()).max(L.maxDim)).min(1).max(L.maxQueries).optional(),
  k: z.number().int().positive().max(L.maxK).default(10),
  nprobe: z
    .number()
    .int()
    .positive()
    .max(L.maxNprobe, { error: `expected nprobe of at most ${L.maxNprobe}` })
    .optional(),
  efSearch: z
    .number()
    .int()
    .positive()
    .max(L.maxEfSearch, { error: `expected efSearch of at most ${L.maxEfSearch}` })
    .optional(),
  deadlineMs: z.number().int().positive().max(60_000).optional(),
  hybrid: z.strictObject({ bm25Weight: z.number().nonnegative().default(1), denseWeight: z.number().nonnegative().default(1) }).optional(),
  /** Passage columns each hit carries: read from the passage shards by row id. */
  fields: z
    .array(z.enum(PASSAGE_FIELDS))
    .max(PASSAGE_FIELDS.length)
    .refine((f) => new Set(f).size === f.length, { message: 'fields must not repeat' })
    .optional(),
});
export type SearchBody = z.input<typeof SearchBodySchema>;

export const EncodeBodySchema = z.strictObject({
  texts: z.array(queryText).min(1).max(L.maxQueries),
  view: z.enum(['query', 'item']).default('query'),
});

export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  return parseContract(schema, body, { emptyField: 'body', error: BadRequestError });
}

export interface SearchResult {
  partial: boolean;
  missingShards: SearchResponse['missingShards'];
  results: Array<{ hits: Array<{ id: string; rowId: number; score: number; shard: number; title?: string; text?: string }> }>;
  counters: SearchResponse['counters'];
  ms: number;
}

export interface ApiContext {
  search: SearchService;
  state: ClusterState | null;
  /** Searches and encodes at once, and waiting (api/admission.ts); the defaults when absent. */
  admission?: Admission;
  /** Local folders (storage root, caches) no answer may name; the index set's folder always counts. */
  privateLocations?: readonly string[];
}

/** An error's message as the caller gets it: without this process's storage locations. */
export function publicMessage(ctx: ApiContext, message: string): string {
  return redactPaths(message, [...(ctx.privateLocations ?? []), ctx.search.router.indexSet.key]);
}

const defaultAdmission = new WeakMap<ApiContext, Admission>();
function admissionOf(ctx: ApiContext): Admission {
  if (ctx.admission) return ctx.admission;
  let admission = defaultAdmission.get(ctx);
  if (!admission) defaultAdmission.set(ctx, (admission = new Admission()));
  return admission;
}

export async function searchOperation(ctx: ApiContext, raw: unknown, signal?: AbortSignal): Promise<SearchResult> {
  const body = parseBody(SearchBodySchema, raw);
  // One way of giving the queries: with two, one would be silently ignored.
  const given = (['query', 'queries', 'vectors'] as const).filter((field) => body[field] !== undefined);
  if (given.length > 1) throw new ApiError(400, 'BAD_REQUEST', `give one of query, queries or vectors, not ${given.join(' and ')}`, given[1]);
  return admissionOf(ctx).run('search', () => search(ctx, body, signal));
}

async function search(ctx: ApiContext, body: z.infer<typeof SearchBodySchema>, signal?: AbortSignal): Promise<SearchResult> {
  const queries = body.queries ?? (body.query !== undefined ? [body.query] : undefined);
  let vectors: Float32Array | undefined;
  if (body.vectors) {
    const dim = ctx.search.dim;
    if (dim === null) throw new ApiError(400, 'BAD_REQUEST', 'this index set has no dense index to search with vectors', 'vectors');
    const bad = body.vectors.findIndex((v) => v.length !== dim);
    if (bad >= 0)
      throw new ApiError(400, 'BAD_REQUEST', `vectors.${bad} has ${body.vectors[bad]!.length} numbers, the index dimension is ${dim}`, `vectors.${bad}`);
    if (body.vectors.length > ctx.search.limits.maxQueries)
      throw new ApiError(400, 'BAD_REQUEST', `at most ${ctx.search.limits.maxQueries} queries per request, got ${body.vectors.length}`, 'vectors');
    vectors = Float32Array.from(body.vectors.flat());
  }
  if (!queries && !vectors) throw new ApiError(400, 'BAD_REQUEST', 'give query, queries or vectors', 'queries');
  const response = await ctx.search.search({
    index: body.index,
    k: body.k,
    ...(queries ? { queries } : {}),
    ...(vectors ? { vectors } : {}),
    ...(body.nprobe ? { nprobe: body.nprobe } : {}),
    ...(body.efSearch ? { efSearch: body.efSearch } : {}),
    ...(body.deadlineMs ? { deadlineMs: body.deadlineMs } : {}),
    ...(body.hybrid ? { hybrid: { bm25Weight: body.hybrid.bm25Weight, denseWeight: body.hybrid.denseWeight } } : {}),
    ...(body.fields && body.fields.length > 0 ? { fields: body.fields } : {}),
    ...(signal ? { signal } : {}),
  });
  return {
    partial: response.partial,
    missingShards: response.missingShards.map((m) => ({ shard: m.shard, reason: publicMessage(ctx, m.reason) })),
    results: response.hits.map((hits) => ({
      hits: hits.map((h) => ({
        id: h.externalId,
        rowId: h.rowId,
        score: h.score,
        shard: h.shard,
        ...(h.title !== undefined ? { title: h.title } : {}),
        ...(h.text !== undefined ? { text: h.text } : {}),
      })),
    })),
    counters: response.counters,
    ms: response.ms,
  };
}

export async function encodeOperation(ctx: ApiContext, raw: unknown): Promise<{ dim: number; view: string; vectors: number[][] }> {
  const body = parseBody(EncodeBodySchema, raw);
  return admissionOf(ctx).run('encode', async () => {
    const flat = await ctx.search.encode(body.texts, body.view);
    const dim = flat.length / body.texts.length;
    return { dim, view: body.view, vectors: body.texts.map((_, i) => Array.from(flat.subarray(i * dim, (i + 1) * dim))) };
  });
}

function clusterState(ctx: ApiContext, id: string): ClusterState {
  if (!ctx.state) throw new ApiError(503, 'UNAVAILABLE', 'this API is not connected to the cluster state');
  if (!JOB_ID_PATTERN.test(id)) throw new ApiError(400, 'BAD_REQUEST', `not a job id: ${JSON.stringify(id)}`, 'id');
  return ctx.state;
}

/** Cancel or retry, through the coordinator (`sci job cancel` / `retry`). */
export async function jobControlOperation(ctx: ApiContext, op: JobControl, id: string): Promise<JobRecord> {
  return controlJob(clusterState(ctx, id).nc, op, id);
}

/** The job and its tasks, with each task's state, worker and error (`sci job logs`). */
export async function jobLogsOperation(ctx: ApiContext, id: string): Promise<{ job: JobRecord; tasks: TaskRecord[] }> {
  const job = await jobOperation(ctx, id);
  const tasks = (await tasksOfJob(clusterState(ctx, id).tasks, id)).sort(
    (a, b) => job.stages.indexOf(a.stage) - job.stages.indexOf(b.stage) || a.shardId - b.shardId,
  );
  return { job, tasks };
}

export async function jobOperation(ctx: ApiContext, id: string): Promise<JobRecord> {
  const job = await getRecord(clusterState(ctx, id).jobs, id, JobRecordSchema);
  if (!job) throw new ApiError(404, 'NOT_FOUND', `no job ${id}`, 'id');
  return job.value;
}
