export { NATS_ROLES, inboxPrefixOf, rolePermissions, clusterServerSecurity, type NatsRole } from './roles.js';
