import { Counter, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from '../common/index.js';

/** The API's own series: requests by front, route and status (a refused request counts under its 4xx status). */
export class ApiMetrics {
  readonly requests: Counter<'front' | 'route' | 'status'>;
  readonly seconds: Histogram<'front' | 'route'>;

  /** The process's whole registry (search, process and these series): REST serves it at /metrics. */
  constructor(readonly registry: Registry) {
    this.requests = new Counter({
      name: 'sci_api_requests_total',
      help: 'API requests by front (rest, grpc), route and status (HTTP status; gRPC status name)',
      labelNames: ['front', 'route', 'status'],
      registers: [registry],
    });
    this.seconds = new Histogram({
      name: 'sci_api_request_duration_seconds',
      help: 'API request time by front and route',
      labelNames: ['front', 'route'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  observe(front: 'rest' | 'grpc', route: string, status: string | number, startedMs: number): void {
    this.requests.inc({ front, route, status: String(status) });
    this.seconds.observe({ front, route }, (performance.now() - startedMs) / 1000);
  }
}
