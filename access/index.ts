export { NATS_ROLES, inboxPrefixOf, rolePermissions, clusterServerSecurity, canPublish, subjectMatches, type NatsRole } from './roles.js';
