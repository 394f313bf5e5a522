import { z } from 'zod';
import { JOB_ID_PATTERN } from '../jobs/index.js';
import { EncodeBodySchema, SearchBodySchema } from './handlers.js';

/*
 * The REST front's OpenAPI 3.1 document, generated from the same zod schemas
 * that validate the requests (z.toJSONSchema), and from response schemas
 * the integration test checks real answers against: the document cannot
 * drift from what the server takes and gives. Every route the REST front
 * answers is in ROUTES (the test calls each one).
 */

const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }) });
const HitSchema = z.object({
  id: z.string(),
  rowId: z.number().int(),
  score: z.number(),
  shard: z.number().int(),
  title: z.string().optional().describe('when asked for in fields'),
  text: z.string().optional().describe('when asked for in fields'),
});
const MissingShardSchema = z.object({ shard: z.number().int(), reason: z.string() });
const CountersSchema = z.object({ ndis: z.number(), nhops: z.number(), nlist: z.number(), quantizerDis: z.number() });
export const SearchResponseSchema = z.object({
  partial: z.boolean().describe('true when a shard did not answer (named in missingShards)'),
  missingShards: z.array(MissingShardSchema),
  results: z.array(z.object({ hits: z.array(HitSchema) })),
  counters: CountersSchema,
  ms: z.number(),
});
export const EncodeResponseSchema = z.object({ dim: z.number().int(), view: z.string(), vectors: z.array(z.array(z.number())) });
const JobSchema = z.looseObject({ id: z.string(), state: z.enum(['planning', 'running', 'done', 'failed', 'cancelled']), stages: z.array(z.string()) });
const TaskSchema = z.looseObject({ stage: z.string(), shardId: z.number().int(), state: z.string(), error: z.string().nullable() });
export const JobLogsSchema = z.object({ job: JobSchema, tasks: z.array(TaskSchema) });
const HealthSchema = z.object({ ok: z.boolean(), indexSet: z.string(), indexes: z.array(z.string()), shards: z.number().int() });
export const IndexSetSchema = z.object({
  key: z.string(),
  queryEncoder: z.object({ name: z.string(), provider: z.string().nullable() }).nullable(),
  indexes: z.array(z.object({ name: z.string(), factory: z.string(), metric: z.string(), nprobe: z.number().int().optional() })),
  shards: z.array(z.object({ id: z.number().int(), rows: z.number().int(), answers: z.number().int(), meanMs: z.number() })),
});
const DashboardJobSchema = z.looseObject({
  id: z.string(),
  kind: z.string(),
  state: z.string(),
  shards: z.array(z.looseObject({ shard: z.number().int(), state: z.string() })),
});
const WorkerSchema = z.looseObject({ id: z.string(), status: z.string(), threads: z.number().int(), busyThreads: z.number().int() });
const ShardServerSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  indexSet: z.string(),
  shards: z.array(z.number().int()),
  indexes: z.array(z.string()),
  answered: z.number().int(),
  expired: z.number().int(),
  refused: z.number().int(),
  startedAt: z.string(),
});
const ReportSchema = z.object({ name: z.string(), url: z.string(), modifiedAt: z.string() });

type Body = 'json' | 'text' | 'html' | 'events';

export interface Route {
  method: 'GET' | 'POST';
  /** OpenAPI path template. */
  path: string;
  summary: string;
  request?: z.ZodType;
  response?: z.ZodType;
  /** What a 200 carries when not JSON. */
  produces?: Exclude<Body, 'json'>;
  /** Needs the bearer token (or the dashboard cookie) when api.token is set. @defaultValue true */
  auth?: boolean;
  errors: number[];
  id?: true;
}

export const ROUTES: Route[] = [
  {
    method: 'POST',
    path: '/v1/search',
    summary: 'Search every shard and merge the global top-k',
    request: SearchBodySchema,
    response: SearchResponseSchema,
    errors: [400, 401, 413, 503],
  },
  {
    method: 'POST',
    path: '/v1/encode',
    summary: "Encode texts with the index set's encoder (query or item tower)",
    request: EncodeBodySchema,
    response: EncodeResponseSchema,
    errors: [400, 401, 413],
  },
  {
    method: 'GET',
    path: '/v1/jobs',
    summary: 'The newest jobs as the dashboard shows them (each shard of the current stage)',
    response: z.array(DashboardJobSchema),
    errors: [401, 503],
  },
  { method: 'GET', path: '/v1/jobs/{id}', summary: 'A job record', response: JobSchema, errors: [400, 401, 404, 503], id: true },
  {
    method: 'POST',
    path: '/v1/jobs/{id}/cancel',
    summary: 'Cancel a job: running tasks stop between batches, queued ones never run',
    response: JobSchema,
    errors: [401, 404, 409, 503],
    id: true,
  },
  {
    method: 'POST',
    path: '/v1/jobs/{id}/retry',
    summary: 'Retry a failed or cancelled job: only the shards that did not finish run again',
    response: JobSchema,
    errors: [401, 404, 409, 503],
    id: true,
  },
  {
    method: 'GET',
    path: '/v1/jobs/{id}/logs',
    summary: "The job and its tasks: state, worker, deliveries and each task's error",
    response: JobLogsSchema,
    errors: [401, 404, 503],
    id: true,
  },
  {
    method: 'GET',
    path: '/v1/workers',
    summary: 'Live workers with their threads, busy threads, tasks and rows',
    response: z.array(WorkerSchema),
    errors: [401, 503],
  },
  {
    method: 'GET',
    path: '/v1/servers',
    summary: 'Every shard server answering a roll call within 500 ms (replicas and other index sets included)',
    response: z.array(ShardServerSchema),
    errors: [401],
  },
  {
    method: 'GET',
    path: '/v1/index-set',
    summary: "The served index set: its query encoder's engine, indexes, and per shard its rows and the answers this API had",
    response: IndexSetSchema,
    errors: [401],
  },
  { method: 'GET', path: '/v1/reports', summary: 'Evaluation reports under api.reports', response: z.array(ReportSchema), errors: [401] },
  {
    method: 'GET',
    path: '/v1/events',
    summary: 'Server-sent events: a snapshot of jobs and workers, then changed jobs and the worker list',
    produces: 'events',
    errors: [401, 503],
  },
  { method: 'GET', path: '/v1/health', summary: 'Liveness and the served index set', response: HealthSchema, auth: false, errors: [] },
  {
    method: 'GET',
    path: '/v1/openapi.json',
    summary: 'This document',
    response: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }),
    errors: [401],
  },
  { method: 'GET', path: '/metrics', summary: 'Prometheus metrics of this API process', produces: 'text', errors: [401] },
  {
    method: 'GET',
    path: '/ui',
    summary: 'The dashboard; the sign-in form when api.token is set and the request carries no session',
    produces: 'html',
    auth: false,
    errors: [],
  },
  {
    method: 'POST',
    path: '/ui',
    summary: 'Sign in to the dashboard: the form field token=<api.token> (never a URL parameter) sets the session cookie, 303 to /ui',
    produces: 'html',
    auth: false,
    errors: [401],
  },
];

/** JSON Schema of a zod schema as the request validates it (defaults make fields optional) or as a response gives it. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const MEDIA: Record<Body, string> = { json: 'application/json', text: 'text/plain', html: 'text/html', events: 'text/event-stream' };

export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const error = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const media = MEDIA[route.produces ?? 'json'];
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      summary: route.summary,
      ...(route.auth === false ? { security: [] } : {}),
      ...(route.id ? { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: JOB_ID_PATTERN.source } }] } : {}),
      ...(route.request ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.request, 'input') } } } } : {}),
      responses: {
        200: { description: 'ok', content: { [media]: { schema: route.response ? jsonSchema(route.response, 'output') : { type: 'string' } } } },
        ...Object.fromEntries(route.errors.map((status) => [status, error])),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'sci-cluster query API',
      version: '1.1.0',
      description: 'Scatter-gather search over a sharded index set, query encoding, jobs and the dashboard.',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: jsonSchema(ErrorSchema, 'output') },
    },
  };
}
