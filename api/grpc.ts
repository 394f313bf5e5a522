import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CancelledError, type Logger } from '../common/index.js';
import { isJobFinished, JobRecordSchema, parseRecord, type JobRecord } from '../jobs/index.js';
import { authorized } from './auth.js';
import { ApiError, toApiError } from './errors.js';
import type { ApiMetrics } from './metrics.js';
import { indexSetId } from '../search/index.js';
import { encodeOperation, jobControlOperation, jobLogsOperation, jobOperation, publicMessage, searchOperation, type ApiContext } from './handlers.js';
// Generated from proto/sci.proto at build time (npm run gen:grpc): the messages and handlers as the proto defines them.
import type { ProtoGrpcType } from './grpc-types/sci.js';
import type { SearchHandlers } from './grpc-types/sci/v1/Search.js';
import type { EncodeHandlers } from './grpc-types/sci/v1/Encode.js';
import type { JobsHandlers } from './grpc-types/sci/v1/Jobs.js';
import type { HealthHandlers } from './grpc-types/sci/v1/Health.js';
import type { Job } from './grpc-types/sci/v1/Job.js';

/*
 * The gRPC front (proto/sci.proto): Search, Encode, Jobs (GetJob and a
 * WatchJob status stream) and Health, over the same operations as REST.
 * Auth: `authorization: Bearer <token>` metadata; message size limits from
 * api.maxRequestBytes.
 */

export const PROTO_PATH = fileURLToPath(new URL('../../proto/sci.proto', import.meta.url));

const STATUS: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.NOT_FOUND,
  409: grpc.status.FAILED_PRECONDITION,
  413: grpc.status.RESOURCE_EXHAUSTED,
  422: grpc.status.FAILED_PRECONDITION,
  499: grpc.status.CANCELLED,
  503: grpc.status.UNAVAILABLE,
  504: grpc.status.DEADLINE_EXCEEDED,
};

/** The proto's services and messages; the load options are the ones the types are generated with (package.json's gen:grpc). */
export function loadSciProto(): ProtoGrpcType['sci']['v1'] {
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
  return (grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType).sci.v1;
}

/** WatchJob streams open at once (each holds a KV watch). */
export const MAX_JOB_WATCHES = 64;

function grpcError(err: unknown, logger: Logger, ctx: ApiContext): grpc.ServiceError {
  const e = toApiError(err, (cause, requestId) => logger.error({ err: cause, requestId }, 'gRPC call failed'));
  const message = publicMessage(ctx, e.message);
  const metadata = new grpc.Metadata();
  if (e.field) metadata.set('field', e.field);
  // Admission refusals are RESOURCE_EXHAUSTED (retry later), other 503s UNAVAILABLE.
  const code = e.code === 'RESOURCE_EXHAUSTED' ? grpc.status.RESOURCE_EXHAUSTED : (STATUS[e.status] ?? grpc.status.INTERNAL);
  return Object.assign(new Error(message), { code, details: message, metadata }) as grpc.ServiceError;
}

function jobMessage(job: JobRecord): Job {
  return {
    id: job.id,
    state: job.state,
    stage: job.stages[job.stage] ?? '',
    shards: job.shards,
    error: job.error ?? '',
    outputManifest: job.outputManifest ?? '',
    json: JSON.stringify(job),
  };
}

export interface GrpcOptions {
  host: string;
  port: number;
  token: string | null;
  maxRequestBytes: number;
  logger: Logger;
  /** Request series (the REST front serves their registry at /metrics). */
  metrics?: ApiMetrics;
  /** gRPC over TLS with this certificate and key (PEM). */
  tls?: { cert: Buffer; key: Buffer } | null;
}

export async function startGrpcServer(ctx: ApiContext, options: GrpcOptions): Promise<{ server: grpc.Server; address: string; close: () => Promise<void> }> {
  const proto = loadSciProto();
  const server = new grpc.Server({ 'grpc.max_receive_message_length': options.maxRequestBytes });
  const guard = (call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>) => {
    if (!authorized(options.token, call.metadata.get('authorization')[0] as string | undefined))
      throw new ApiError(401, 'UNAUTHENTICATED', 'missing or wrong bearer token (metadata authorization: Bearer <api.token>)');
  };
  const metrics = options.metrics ?? null;
  let watching = 0;
  const unary =
    <Req, Res>(body: (request: Req, signal: AbortSignal) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      const started = performance.now();
      const route = (call as unknown as { getPath(): string }).getPath();
      // A client that cancels (or whose deadline passes) stops the work it asked for.
      const cancelled = new AbortController();
      call.once('cancelled', () => cancelled.abort(new CancelledError('the client cancelled the call')));
      Promise.resolve()
        .then(() => {
          guard(call as grpc.ServerUnaryCall<unknown, unknown>);
          return body(call.request, cancelled.signal);
        })
        .then(
          (value) => {
            metrics?.observe('grpc', route, 'OK', started);
            callback(null, value);
          },
          (err: unknown) => {
            const error = grpcError(err, options.logger, ctx);
            metrics?.observe('grpc', route, grpc.status[error.code] ?? String(error.code), started);
            callback(error);
          },
        );
    };
  const search: SearchHandlers = {
    Search: unary(async (r, signal) => {
      const result = await searchOperation(
        ctx,
        {
          index: r.index,
          ...(r.queries.length > 0 ? { queries: r.queries } : {}),
          ...(r.vectors.length > 0 ? { vectors: r.vectors.map((v) => v.values) } : {}),
          // Unset means the default, as an absent REST field does; an explicit 0 is refused like REST's k: 0.
          ...(r.k !== undefined && r.k !== null ? { k: r.k } : {}),
          ...(r.nprobe ? { nprobe: r.nprobe } : {}),
          ...(r.efSearch ? { efSearch: r.efSearch } : {}),
          ...(r.deadlineMs ? { deadlineMs: r.deadlineMs } : {}),
          ...(r.hybrid ? { hybrid: r.hybrid } : {}),
          ...(r.fields.length > 0 ? { fields: r.fields } : {}),
        },
        signal,
      );
      return { ...result, results: result.results.map((q) => ({ hits: q.hits })) };
    }),
  };
  const encode: EncodeHandlers = {
    Encode: unary(async (r) => {
      const out = await encodeOperation(ctx, { texts: r.texts, view: r.view || 'query' });
      return { dim: out.dim, view: out.view, vectors: out.vectors.map((values) => ({ values })) };
    }),
  };
  const jobs: JobsHandlers = {
    GetJob: unary(async (r) => jobMessage(await jobOperation(ctx, r.id))),
    CancelJob: unary(async (r) => jobMessage(await jobControlOperation(ctx, 'cancel', r.id))),
    RetryJob: unary(async (r) => jobMessage(await jobControlOperation(ctx, 'retry', r.id))),
    GetJobLogs: unary(async (r) => {
      const { job, tasks } = await jobLogsOperation(ctx, r.id);
      return {
        job: jobMessage(job),
        tasks: tasks.map((t) => ({
          stage: t.stage,
          shard: t.shardId,
          state: t.state,
          worker: t.worker ?? '',
          deliveries: t.deliveries,
          error: t.error ?? '',
          rowsIn: t.rowsIn,
        })),
      };
    }),
    WatchJob: (call) => {
      void (async () => {
        // Each watch holds a KV watch on the cluster: a bounded number at once.
        if (watching >= MAX_JOB_WATCHES) {
          call.destroy(grpcError(new ApiError(503, 'RESOURCE_EXHAUSTED', `${MAX_JOB_WATCHES} job watches are open; retry later`), options.logger, ctx));
          return;
        }
        watching += 1;
        try {
          guard(call);
          let job = await jobOperation(ctx, call.request.id);
          let last = JSON.stringify(job);
          call.write(jobMessage(job));
          if (!isJobFinished(job.state)) {
            // The watch starts with the current value: only changes after what was sent go out.
            const watch = await ctx.state!.jobs.watch({ key: job.id });
            call.on('cancelled', () => watch.stop());
            for await (const entry of watch) {
              if (entry.operation !== 'PUT') continue;
              const text = new TextDecoder().decode(entry.value);
              if (text === last) continue;
              last = text;
              job = parseRecord(JobRecordSchema, entry.key, entry.value);
              call.write(jobMessage(job));
              if (isJobFinished(job.state)) break;
            }
            watch.stop();
          }
          call.end();
        } catch (err) {
          call.destroy(grpcError(err, options.logger, ctx));
        } finally {
          watching -= 1;
        }
      })();
    },
  };
  const health: HealthHandlers = {
    Check: (_call, callback) =>
      callback(null, {
        ok: true,
        indexSet: indexSetId(ctx.search.router.indexSet.key),
        indexes: ctx.search.router.indexSet.names,
        shards: ctx.search.router.shards.length,
      }),
  };
  server.addService(proto.Search.service, search);
  server.addService(proto.Encode.service, encode);
  server.addService(proto.Jobs.service, jobs);
  server.addService(proto.Health.service, health);
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`, credentials, (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const address = `${options.host}:${port}`;
  options.logger.info({ address, auth: options.token !== null }, 'gRPC API listening');
  return { server, address, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}
