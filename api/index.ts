export { startRestServer } from './rest.js';
export { startGrpcServer } from './grpc.js';
export { ApiMetrics } from './metrics.js';
export { Admission, DEFAULT_ADMISSION, type AdmissionLimits } from './admission.js';
