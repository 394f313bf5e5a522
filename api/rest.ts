import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { RequestStrategy } from 'nats';
import { CancelledError, type Logger } from '../common/index.js';
import { authorized, cookieAuthorized, SESSION_COOKIE, sessionValue } from './auth.js';
import { DASHBOARD_CSP, dashboardPage, loginPage } from './dashboard-page.js';
import { LiveCluster } from './live-cluster.js';
import { listReports, reportFile } from './reports.js';
import { ApiError, toApiError } from './errors.js';
import { RETRY_AFTER_SECONDS } from './admission.js';
import { indexSetId, SERVERS_SUBJECT, type ShardServerInfo } from '../search/index.js';
import { encodeOperation, jobControlOperation, jobLogsOperation, jobOperation, publicMessage, searchOperation, type ApiContext } from './handlers.js';
import { openApiDocument, ROUTES } from './openapi.js';
import type { ApiMetrics } from './metrics.js';

/*
 * The REST/JSON front on fastify: the routes of api/openapi.ts's ROUTES.
 * Bodies above maxRequestBytes are refused with 413 while they stream in
 * (fastify's bodyLimit, declared length or not); with a token configured
 * every route but health and the dashboard's sign-in needs
 * `Authorization: Bearer <token>` or the dashboard's session cookie.
 * Every error answers `{ error: { code, message, field? } }`.
 */

export interface RestOptions {
  host: string;
  port: number;
  token: string | null;
  maxRequestBytes: number;
  logger: Logger;
  /** Request series; its registry is served at GET /metrics (same auth as every route but health). */
  metrics?: ApiMetrics;
  /** Folder of evaluation reports the dashboard links to (api.reports). */
  reports?: string | null;
  /** HTTPS with this certificate and key (PEM). */
  tls?: { cert: Buffer; key: Buffer } | null;
}

type RouteHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** An OpenAPI path template as a fastify route ('/v1/jobs/{id}' → '/v1/jobs/:id'). */
const fastifyPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/** Routes anyone may call (auth: false in ROUTES): health for probes, /ui for its sign-in page. */
const PUBLIC_ROUTES = new Set(ROUTES.filter((r) => r.auth === false).map((r) => fastifyPath(r.path)));

/** Aborts when the client closes the connection before the answer was sent. */
function closedSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new CancelledError('the client closed the connection'));
  });
  return controller.signal;
}

/** The served index set: its indexes and, per shard, rows and the answers this API has had from it. */
function servedIndexSet(ctx: ApiContext) {
  const set = ctx.search.router.indexSet;
  return {
    key: set.key,
    /** What encodes the API's queries (null: no dense indexes, or the hashed baseline). */
    queryEncoder: ctx.search.encoderEngine,
    indexes: [
      ...set.manifest.indexes.map((i) => ({ name: i.name, factory: i.factory, metric: i.metric, ...(i.nprobe ? { nprobe: i.nprobe } : {}) })),
      ...(set.manifest.bm25 ? [{ name: 'bm25', factory: 'BM25', metric: 'ip' }] : []),
    ],
    shards: set.manifest.shards.map((s) => {
      const load = ctx.search.router.shardLoad.get(s.id);
      return { id: s.id, rows: s.rows, answers: load?.answers ?? 0, meanMs: load && load.answers > 0 ? load.totalMs / load.answers : 0 };
    }),
  };
}

/** Every shard server answering a roll call within 500 ms (replicas included), of any index set; none running is an empty list. */
async function shardServers(ctx: ApiContext): Promise<ShardServerInfo[]> {
  const servers: ShardServerInfo[] = [];
  try {
    const replies = await ctx.search.router.nc.requestMany(SERVERS_SUBJECT, new Uint8Array(), { strategy: RequestStrategy.Timer, maxWait: 500 });
    for await (const msg of replies) {
      try {
        servers.push(msg.json<ShardServerInfo>());
      } catch {
        // not a server's answer
      }
    }
  } catch (err) {
    // NATS answers "503" (no responders) when no shard server subscribes; anything else is a failure.
    if ((err as { code?: string }).code !== '503') throw err;
  }
  return servers.sort((a, b) => a.indexSet.localeCompare(b.indexSet) || (a.shards[0] ?? 0) - (b.shards[0] ?? 0) || a.pid - b.pid);
}

/** Fastify's own failures (body limit, unparsable JSON, bad URL) as this API's errors; anything else through toApiError. */
function apiErrorOf(err: FastifyError, limit: number, logDetails: (cause: unknown, requestId: string) => void): ApiError {
  if (err instanceof ApiError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'TOO_LARGE', `request body exceeds the limit of ${limit} bytes (api.maxRequestBytes)`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_BAD_URL':
      return new ApiError(400, 'BAD_REQUEST', err.message);
    default:
      if (err.validation || (err.statusCode === 400 && err.code?.startsWith('FST_'))) return new ApiError(400, 'BAD_REQUEST', err.message);
      return toApiError(err, logDetails);
  }
}

/** The OpenAPI template of a fastify route ('/v1/jobs/:id' → '/v1/jobs/{id}'), the label metrics count under. */
function routeLabel(request: FastifyRequest): string {
  const url = request.routeOptions.url;
  if (url === undefined) return 'other';
  return `${request.method} ${url === '/reports/*' ? url : url.replace(/:(\w+)/g, '{$1}')}`;
}

/** Dashboard event streams open at once (each is a connection and a listener on the live cluster view). */
export const MAX_EVENT_STREAMS = 64;

export async function startRestServer(ctx: ApiContext, options: RestOptions): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const metrics = options.metrics ?? null;
  const app = Fastify({
    // The server is ours so that HTTP and HTTPS give the same type; fastify attaches its handler to it.
    serverFactory: (handler) => (options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createServer(handler)),
    loggerInstance: options.logger,
    // A line per request would drown the log under search load; failures are logged with their request id.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxRequestBytes,
    keepAliveTimeout: 30_000,
    // close() ends keep-alive connections and open event streams at once.
    forceCloseConnections: true,
    return503OnClosing: true,
  });

  // Bodies are JSON whatever their content-type says (curl -d sends form-urlencoded); the body limit applies to all.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    // The dashboard's sign-in form posts `token=…` (form-encoded): its handler reads the raw body.
    if (request.method === 'POST' && request.url === '/ui') return done(null, body);
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(new ApiError(400, 'BAD_REQUEST', `body is not JSON: ${(err as Error).message}`), undefined);
    }
  });

  app.addHook('onRequest', async (request) => {
    if (PUBLIC_ROUTES.has(request.routeOptions.url ?? '')) return;
    if (!authorized(options.token, request.headers.authorization) && !cookieAuthorized(options.token, request.headers.cookie))
      throw new ApiError(401, 'UNAUTHENTICATED', 'missing or wrong bearer token (Authorization: Bearer <api.token>)');
  });
  // What a browser needs told: no sniffing, no framing, no referrer; the dashboard runs only its own script.
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-content-type-options', 'nosniff').header('x-frame-options', 'DENY').header('referrer-policy', 'no-referrer');
    if ((request.routeOptions.url ?? '') === '/ui') void reply.header('content-security-policy', DASHBOARD_CSP);
  });
  if (metrics)
    app.addHook('onResponse', async (request, reply) => {
      metrics.observe('rest', routeLabel(request), reply.statusCode, performance.now() - reply.elapsedTime);
    });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = apiErrorOf(err, options.maxRequestBytes, (cause, requestId) => request.log.error({ err: cause, requestId, path: request.url }, 'request failed'));
    if (e.status === 401) void reply.header('www-authenticate', 'Bearer');
    if (e.code === 'RESOURCE_EXHAUSTED') void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    return reply.code(e.status).send({ error: { code: e.code, message: publicMessage(ctx, e.message), ...(e.field ? { field: e.field } : {}) } });
  });
  app.setNotFoundHandler((request) => {
    throw new ApiError(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
  });

  let url = '';
  let eventStreams = 0;
  let live: Promise<LiveCluster> | null = null;
  const liveCluster = (): Promise<LiveCluster> => {
    if (!ctx.state) throw new ApiError(503, 'UNAVAILABLE', 'this API is not connected to the cluster state');
    if (!live) {
      live = LiveCluster.start(ctx.state, options.logger);
      live.catch(() => (live = null));
    }
    return live;
  };

  const page = (reply: FastifyReply, status: number, html: string) =>
    reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html);
  /** The dashboard, or the sign-in page without a session (a token in the URL is never read: it would end up in logs and history). */
  const dashboard = async (request: FastifyRequest, reply: FastifyReply) => {
    const ok = authorized(options.token, request.headers.authorization) || cookieAuthorized(options.token, request.headers.cookie);
    return page(reply, 200, ok ? dashboardPage() : loginPage(false));
  };
  /** The sign-in form's post: the right token sets the session cookie (derived from it) and goes to the dashboard. */
  const signIn = async (request: FastifyRequest, reply: FastifyReply) => {
    const given = typeof request.body === 'string' ? new URLSearchParams(request.body).get('token') : null;
    if (given === null || options.token === null || !authorized(options.token, `Bearer ${given}`))
      return page(reply, options.token === null ? 200 : 401, options.token === null ? dashboardPage() : loginPage(true));
    return reply
      .code(303)
      .header('location', '/ui')
      .header('set-cookie', `${SESSION_COOKIE}=${sessionValue(given)}; HttpOnly; SameSite=Strict; Path=/`)
      .send();
  };

  /** Server-sent events: a snapshot of jobs and workers, then the jobs that changed (at most every 250 ms) and the worker list. */
  const events = async (request: FastifyRequest, reply: FastifyReply) => {
    if (eventStreams >= MAX_EVENT_STREAMS) throw new ApiError(503, 'RESOURCE_EXHAUSTED', `${MAX_EVENT_STREAMS} event streams are open; retry later`);
    const cluster = await liveCluster();
    reply.hijack();
    const res = reply.raw;
    eventStreams += 1;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    // Backpressure: a reader that has not taken what was sent (its socket buffer is full) is dropped, not buffered for.
    const emit = (event: string, data: unknown) => {
      if (res.writableNeedDrain) {
        res.destroy();
        return;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    emit('snapshot', cluster.snapshot());
    const changed = new Set<string>();
    let workersChanged = false;
    let timer: NodeJS.Timeout | null = null;
    const flush = () => {
      timer = null;
      const jobs = [...changed].map((id) => cluster.job(id)).filter((j) => j !== null);
      changed.clear();
      if (jobs.length > 0) emit('jobs', jobs);
      if (workersChanged) emit('workers', cluster.workers());
      workersChanged = false;
    };
    const unsubscribe = cluster.subscribe((jobIds, workers) => {
      for (const id of jobIds) changed.add(id);
      workersChanged ||= workers;
      timer ??= setTimeout(flush, 250);
    });
    const keepAlive = setInterval(() => (res.writableNeedDrain ? res.destroy() : res.write(': keep-alive\n\n')), 15_000);
    request.raw.once('close', () => {
      eventStreams -= 1;
      unsubscribe();
      clearInterval(keepAlive);
      if (timer) clearTimeout(timer);
    });
  };

  const jobId = (request: FastifyRequest) => (request.params as { id: string }).id;
  /** One handler per route of ROUTES, keyed as "METHOD /openapi/path". */
  const handlers: Record<string, RouteHandler> = {
    'POST /v1/search': async (request, reply) => searchOperation(ctx, request.body, closedSignal(reply)),
    'POST /v1/encode': async (request) => encodeOperation(ctx, request.body),
    'GET /v1/jobs': async () => (await liveCluster()).snapshot().jobs,
    'GET /v1/jobs/{id}': async (request) => jobOperation(ctx, jobId(request)),
    'POST /v1/jobs/{id}/cancel': async (request) => jobControlOperation(ctx, 'cancel', jobId(request)),
    'POST /v1/jobs/{id}/retry': async (request) => jobControlOperation(ctx, 'retry', jobId(request)),
    'GET /v1/jobs/{id}/logs': async (request) => jobLogsOperation(ctx, jobId(request)),
    'GET /v1/workers': async () => (await liveCluster()).workers(),
    'GET /v1/servers': async () => shardServers(ctx),
    'GET /v1/index-set': async () => servedIndexSet(ctx),
    'GET /v1/reports': async () => (options.reports ? listReports(options.reports) : []),
    'GET /v1/events': events,
    'GET /v1/health': async () => ({
      ok: true,
      indexSet: indexSetId(ctx.search.router.indexSet.key),
      indexes: ctx.search.router.indexSet.names,
      shards: ctx.search.router.shards.length,
    }),
    'GET /v1/openapi.json': async () => openApiDocument(url),
    'GET /metrics': async (request, reply) => {
      if (!metrics) throw new ApiError(404, 'NOT_FOUND', 'this API keeps no metrics');
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
    'GET /ui': dashboard,
    'POST /ui': signIn,
  };
  for (const route of ROUTES) {
    const key = `${route.method} ${route.path}`;
    const handler = handlers[key];
    if (!handler) throw new Error(`the REST front has no handler for ${key} (api/openapi.ts ROUTES)`);
    app.route({ method: route.method, url: fastifyPath(route.path), handler });
  }
  const undocumented = Object.keys(handlers).filter((key) => !ROUTES.some((r) => `${r.method} ${r.path}` === key));
  if (undocumented.length > 0) throw new Error(`handlers without an OpenAPI route: ${undocumented.join(', ')}`);
  // The reports' own files (HTML, JSON, plots), linked from /v1/reports; not API operations, so not in the document.
  app.get('/reports/*', async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const file = options.reports ? reportFile(options.reports, name) : null;
    if (!file) throw new ApiError(404, 'NOT_FOUND', `no report file /reports/${name}`);
    return reply.type(file.type).send(readFileSync(file.path));
  });

  await app.listen({ port: options.port, host: options.host });
  const address = app.server.address() as AddressInfo;
  url = `${options.tls ? 'https' : 'http'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  options.logger.info({ url, auth: options.token !== null }, 'REST API listening');
  return {
    server: app.server,
    url,
    close: async () => {
      void live?.then((l) => l.stop()).catch(() => undefined);
      await app.close();
    },
  };
}
