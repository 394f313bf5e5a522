import type { Registry } from 'prom-client';
import { processRegistry, serveMetrics, type Logger, type MetricsEndpoint } from '../common/index.js';
import type { Config } from '../config/index.js';

/**
 * The Prometheus registry of a long-running process (coordinator, worker, shard server), served at
 * metrics.host:metrics.port/metrics when a port is configured (`sci cluster up` gives each one).
 */
export async function processMetrics(config: Config, role: string, logger: Logger): Promise<{ registry: Registry; endpoint: MetricsEndpoint | null }> {
  const registry = processRegistry(role);
  const endpoint = config.metrics.port === null ? null : await serveMetrics(registry, { host: config.metrics.host, port: config.metrics.port, logger });
  return { registry, endpoint };
}
