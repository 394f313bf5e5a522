import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CancelledError, type Logger } from '../common/index.js';
import { authorized, cookieAuthorized, SESSION_COOKIE } from './auth.js';
import { dashboardPage, loginPage } from './dashboard-page.js';
import { LiveCluster } from './live-cluster.js';
import { listReports, reportFile } from './reports.js';
import { readFileSync } from 'node:fs';
import { ApiError, toApiError } from './errors.js';
import { indexSetId, SERVERS_SUBJECT, type ShardServerInfo } from '../search/index.js';
import { RequestStrategy } from 'nats';
import { encodeOperation, jobControlOperation, jobLogsOperation, jobOperation, searchOperation, type ApiContext } from './handlers.js';
import { openApiDocument, ROUTES } from './openapi.js';
import type { ApiMetrics } from './metrics.js';

/*
 * The REST/JSON front: POST /v1/search, POST /v1/encode, GET /v1/jobs/{id},
 * GET /v1/health, GET /v1/openapi.json. Bodies above maxRequestBytes are
 * refused with 413 before they are read whole; with a token configured
 * every route but health needs `Authorization: Bearer <token>`.
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

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new ApiError(413, 'TOO_LARGE', `request body of ${declared} bytes exceeds the limit of ${limit} bytes (api.maxRequestBytes)`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        // Answer now; the rest of the body is read and dropped so the 413 reaches the client.
        tooLarge = true;
        chunks.length = 0;
        reject(new ApiError(413, 'TOO_LARGE', `request body exceeds the limit of ${limit} bytes (api.maxRequestBytes)`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(new ApiError(400, 'BAD_REQUEST', `body is not JSON: ${(err as Error).message}`));
      }
    });
    req.on('error', reject);
  });
}

/** Aborts when the client closes the connection before the answer was sent. */
function closedSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new CancelledError('the client closed the connection'));
  });
  return controller.signal;
}

/** The served index set: its indexes and, per shard, rows and the answers this API has had from it. */
function servedIndexSet(ctx: ApiContext) {
  const set = ctx.search.router.indexSet;
  return {
    key: set.key,
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

/** Every shard server answering a roll call within 500 ms (replicas included), of any index set. */
async function shardServers(ctx: ApiContext): Promise<ShardServerInfo[]> {
  const replies = await ctx.search.router.nc.requestMany(SERVERS_SUBJECT, new Uint8Array(), { strategy: RequestStrategy.Timer, maxWait: 500 }).catch(() => []);
  const servers: ShardServerInfo[] = [];
  for await (const msg of replies) {
    try {
      servers.push(msg.json<ShardServerInfo>());
    } catch {
      // not a server's answer
    }
  }
  return servers.sort((a, b) => a.indexSet.localeCompare(b.indexSet) || (a.shards[0] ?? 0) - (b.shards[0] ?? 0) || a.pid - b.pid);
}

/** The route a path counts under in metrics: its OpenAPI template (ids folded), or 'other'. */
function routeOf(method: string | undefined, path: string): string {
  if (path.startsWith('/reports/')) return `${method} /reports/*`;
  const route = ROUTES.find((r) => r.method === method && new RegExp(`^${r.path.replace('{id}', '[^/]+')}$`).test(path));
  return route ? `${method} ${route.path}` : 'other';
}

export async function startRestServer(ctx: ApiContext, options: RestOptions): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const metrics = options.metrics ?? null;
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    if (metrics)
      res.once('finish', () => metrics.observe('rest', routeOf(req.method, new URL(req.url ?? '/', 'http://localhost').pathname), res.statusCode, started));
    void handle(req, res).catch((err: unknown) => {
      const e = toApiError(err, (cause, requestId) => options.logger.error({ err: cause, requestId, path: req.url }, 'request failed'));
      if (!res.headersSent)
        send(
          res,
          e.status,
          { error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } },
          e.status === 401 ? { 'www-authenticate': 'Bearer' } : {},
        );
      else res.destroy();
    });
  };
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createServer(listener);
  let url = '';
  let live: Promise<LiveCluster> | null = null;
  const liveCluster = (): Promise<LiveCluster> => {
    if (!ctx.state) throw new ApiError(503, 'UNAVAILABLE', 'this API is not connected to the cluster state');
    if (!live) {
      live = LiveCluster.start(ctx.state, options.logger);
      live.catch(() => (live = null));
    }
    return live;
  };
  /** The dashboard; with a token configured, a valid ?token= sets the session cookie, anything else gets the sign-in page. */
  const dashboard = (req: IncomingMessage, res: ServerResponse) => {
    const given = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
    if (given !== null && authorized(options.token, `Bearer ${given}`)) {
      res.writeHead(303, { location: '/ui', 'set-cookie': `${SESSION_COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/` }).end();
      return;
    }
    const ok = authorized(options.token, req.headers.authorization) || cookieAuthorized(options.token, req.headers.cookie);
    const html = ok ? dashboardPage() : loginPage(given !== null);
    res.writeHead(ok || given === null ? 200 : 401, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(html),
      'cache-control': 'no-store',
    });
    res.end(html);
  };
  /** Server-sent events: a snapshot of jobs and workers, then the jobs that changed (at most every 250 ms) and the worker list. */
  const events = async (req: IncomingMessage, res: ServerResponse) => {
    const cluster = await liveCluster();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const emit = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
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
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.once('close', () => {
      unsubscribe();
      clearInterval(keepAlive);
      if (timer) clearTimeout(timer);
    });
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/v1/health')
      return send(res, 200, {
        ok: true,
        indexSet: indexSetId(ctx.search.router.indexSet.key),
        indexes: ctx.search.router.indexSet.names,
        shards: ctx.search.router.shards.length,
      });
    if (req.method === 'GET' && path === '/ui') return dashboard(req, res);
    if (!authorized(options.token, req.headers.authorization) && !cookieAuthorized(options.token, req.headers.cookie))
      throw new ApiError(401, 'UNAUTHENTICATED', 'missing or wrong bearer token (Authorization: Bearer <api.token>)');
    if (req.method === 'GET' && path === '/v1/events') return events(req, res);
    if (req.method === 'GET' && path === '/v1/jobs') return send(res, 200, (await liveCluster()).snapshot().jobs);
    if (req.method === 'GET' && path === '/v1/workers') return send(res, 200, (await liveCluster()).workers());
    if (req.method === 'GET' && path === '/v1/index-set') return send(res, 200, servedIndexSet(ctx));
    if (req.method === 'GET' && path === '/v1/servers') return send(res, 200, await shardServers(ctx));
    if (req.method === 'GET' && path === '/v1/reports') return send(res, 200, options.reports ? listReports(options.reports) : []);
    if (req.method === 'GET' && path.startsWith('/reports/') && options.reports) {
      const file = reportFile(options.reports, path.slice('/reports/'.length));
      if (!file) throw new ApiError(404, 'NOT_FOUND', `no report file ${path}`);
      const body = readFileSync(file.path);
      res.writeHead(200, { 'content-type': file.type, 'content-length': body.length });
      return res.end(body);
    }
    if (req.method === 'GET' && path === '/v1/openapi.json') return send(res, 200, openApiDocument(url));
    if (req.method === 'GET' && path === '/metrics' && metrics) {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': Buffer.byteLength(text) });
      return res.end(text);
    }
    if (req.method === 'POST' && path === '/v1/search') {
      const body = await readJson(req, options.maxRequestBytes);
      return send(res, 200, await searchOperation(ctx, body, closedSignal(res)));
    }
    if (req.method === 'POST' && path === '/v1/encode') return send(res, 200, encodeOperation(ctx, await readJson(req, options.maxRequestBytes)));
    const job = /^\/v1\/jobs\/([^/]+)(?:\/(cancel|retry|logs))?$/.exec(path);
    if (job) {
      let id: string;
      try {
        id = decodeURIComponent(job[1]!);
      } catch {
        throw new ApiError(400, 'BAD_REQUEST', `not a job id: ${JSON.stringify(job[1])}`, 'id');
      }
      const action = job[2];
      if (req.method === 'GET' && !action) return send(res, 200, await jobOperation(ctx, id));
      if (req.method === 'GET' && action === 'logs') return send(res, 200, await jobLogsOperation(ctx, id));
      if (req.method === 'POST' && (action === 'cancel' || action === 'retry')) return send(res, 200, await jobControlOperation(ctx, action, id));
    }
    throw new ApiError(404, 'NOT_FOUND', `no route ${req.method} ${path}`);
  };
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  url = `${options.tls ? 'https' : 'http'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  options.logger.info({ url, auth: options.token !== null }, 'REST API listening');
  return {
    server,
    url,
    close: () =>
      new Promise((resolve) => {
        void live?.then((l) => l.stop()).catch(() => undefined);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
