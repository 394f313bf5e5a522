export { startRestServer } from './rest.js';
export { startGrpcServer } from './grpc.js';
