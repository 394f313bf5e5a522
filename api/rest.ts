import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CancelledError, type Logger } from '../common/index.js';
import { authorized } from './auth.js';
import { ApiError, toApiError } from './errors.js';
import { indexSetId } from '../search/index.js';
import { encodeOperation, jobControlOperation, jobLogsOperation, jobOperation, searchOperation, type ApiContext } from './handlers.js';
import { openApiDocument } from './openapi.js';
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

/** The route a path counts under in metrics (ids folded, unknown paths as one). */
function routeOf(method: string | undefined, path: string): string {
  if (/^\/v1\/jobs\/[^/]+$/.test(path)) return `${method} /v1/jobs/{id}`;
  const action = /^\/v1\/jobs\/[^/]+\/(cancel|retry|logs)$/.exec(path);
  if (action) return `${method} /v1/jobs/{id}/${action[1]}`;
  return ['/v1/search', '/v1/encode', '/v1/health', '/v1/openapi.json', '/metrics'].includes(path) ? `${method} ${path}` : 'other';
}

export async function startRestServer(ctx: ApiContext, options: RestOptions): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const metrics = options.metrics ?? null;
  const server = createServer((req, res) => {
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
  });
  let url = '';
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/v1/health')
      return send(res, 200, {
        ok: true,
        indexSet: indexSetId(ctx.search.router.indexSet.key),
        indexes: ctx.search.router.indexSet.names,
        shards: ctx.search.router.shards.length,
      });
    if (!authorized(options.token, req.headers.authorization))
      throw new ApiError(401, 'UNAUTHENTICATED', 'missing or wrong bearer token (Authorization: Bearer <api.token>)');
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
      const id = decodeURIComponent(job[1]!);
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
  url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  options.logger.info({ url, auth: options.token !== null }, 'REST API listening');
  return {
    server,
    url,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
