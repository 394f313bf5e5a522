export { NATS_ROLES, inboxPrefixOf, instanceInboxPrefix, rolePermissions, clusterServerSecurity, canPublish, subjectMatches, type NatsRole } from './roles.js';
