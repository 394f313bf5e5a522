export { NatsServerProcess, startNatsCluster, freePort, type NatsServerOptions } from './nats-server.js';
export { connectNats, retrying, withTimeout, type ConnectOptions } from './connection.js';
export {
  createSecurityBundle,
  clientSecurityOptions,
  renderServerSecurity,
  renderRouteSecurity,
  renderRoutesConf,
  routeCredentials,
  type RouteCredentials,
  type ClientSecurity,
  type NatsPermissions,
  type NatsUser,
  type SecurityBundle,
  type ServerSecurity,
  type SubjectRules,
} from './security.js';
export { MessagingError } from './errors.js';
