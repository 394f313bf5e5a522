export { NatsServerProcess, startNatsCluster, freePort, type NatsServerOptions } from './nats-server.js';
export { connectNats, retrying, type ConnectOptions } from './connection.js';
export { MessagingError } from './errors.js';
