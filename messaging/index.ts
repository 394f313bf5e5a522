export { NatsServerProcess, startNatsCluster, freePort, type NatsServerOptions } from './nats-server.js';
export { connectNats, retrying, withTimeout, type ConnectOptions } from './connection.js';
export { MessagingError } from './errors.js';
