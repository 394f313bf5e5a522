export { startRestServer } from './rest.js';
export { startGrpcServer } from './grpc.js';
export { ApiMetrics } from './metrics.js';
