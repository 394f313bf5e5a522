import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { countContainedErrors, noteContained } from './crash-policy.js';

/*
 * Prometheus metrics of one process: a registry with the process and Node.js
 * metrics every process exports (CPU, memory, event-loop lag, GC) and a
 * `role` label on everything, and a small HTTP endpoint serving it at
 * /metrics. Each component adds its own series (coordinator/metrics.ts,
 * workers/metrics.ts, search/metrics.ts); names follow Prometheus style
 * (`sci_…_total` counters, `_seconds` histograms).
 */

/** Request latencies, seconds: 0.5 ms to 10 s. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Task durations, seconds: 100 ms to 1 h. */
export const TASK_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export function processRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry });
  countContainedErrors(registry);
  return registry;
}

export interface MetricsEndpoint {
  url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics (Prometheus text format) on host:port (0 = any free port). */
export async function serveMetrics(registry: Registry, options: { host: string; port: number; logger: Logger }): Promise<MetricsEndpoint> {
  const server = createServer((req, res) => {
    // The path as sent, never through `new URL` (which throws on a request target such as `//`).
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        noteContained('metrics-endpoint', err, {}, options.logger);
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics`;
  options.logger.info({ url }, 'metrics endpoint listening');
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
