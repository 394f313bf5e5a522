import { randomBytes } from 'node:crypto';
import { NAMES } from '../jobs/index.js';
import { HEDGE_SUBJECTS, SERVERS_SUBJECT, SHARD_QUEUE_GROUP } from '../search/index.js';
import { routeCredentials, type NatsPermissions, type NatsUser, type SecurityBundle, type ServerSecurity } from '../messaging/index.js';

/*
 * Who may do what on NATS. Each process connects as its role and gets only
 * the subjects its job needs: a worker cannot submit jobs or serve search
 * subjects, only shard servers may join the shard queue group, only the
 * coordinator (and the operator's admin) may create or change streams.
 * Every role has its own reply prefix, so no role reads another's replies.
 * The pipeline driver submits jobs like the CLI and serves the index set it
 * evaluates (a shard-queue member, as shard servers are).
 */

export const NATS_ROLES = ['admin', 'coordinator', 'worker', 'shard-server', 'api', 'cli', 'pipeline'] as const;
export type NatsRole = (typeof NATS_ROLES)[number];

/** Reply subjects of a role's connection (its `inboxPrefix`). */
export function inboxPrefixOf(role: NatsRole): string {
  return role === 'admin' ? '_INBOX' : `_INBOX_${role.replace(/-/g, '_')}`;
}

/**
 * This process's own reply subjects: its role's prefix and a random token. The role's permission
 * (`<prefix>.>`) covers every instance, so another process of the same role could still listen, but
 * no process reads another's replies by sharing a prefix, and a peer has to guess the token to try.
 */
export function instanceInboxPrefix(role: NatsRole): string {
  return `${inboxPrefixOf(role)}.${randomBytes(8).toString('hex')}`;
}

const API = '$JS.API';
const KV_STREAM = (bucket: string) => `KV_${bucket}`;
const OBJECT_STREAM = `OBJ_${NAMES.objectBucket}`;
const SEARCH_SUBJECTS = 'sci.search.>';

/** Binding to the runtime's streams and buckets (info only; creating them is the coordinator's). */
const bind = [
  `${API}.INFO`,
  `${API}.STREAM.INFO.${NAMES.taskStream}`,
  `${API}.CONSUMER.INFO.${NAMES.taskStream}.${NAMES.workerConsumer}`,
  ...[NAMES.jobsBucket, NAMES.tasksBucket, NAMES.workersBucket].map((b) => `${API}.STREAM.INFO.${KV_STREAM(b)}`),
];

/** Get, list keys and watch a bucket (message gets and stream info; ordered consumers with flow control for watches). Direct gets are still allowed, though our reads no longer make them (jobs/cluster-state.ts). */
function readStream(stream: string): string[] {
  return [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.DIRECT.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}.>`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}.>`,
    `${API}.CONSUMER.INFO.${stream}.>`,
    `${API}.CONSUMER.DELETE.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
}
const readKv = (bucket: string) => readStream(KV_STREAM(bucket));
const writeKv = (bucket: string) => [`$KV.${bucket}.>`];
/** Reading the object store (storage.kind nats-object-store): metadata and chunks by message gets, listings by stream info. */
const readObjects = readStream(OBJECT_STREAM);
/**
 * Writing it as well: chunks and metadata, purges on replace/delete, creating the bucket. Only roles
 * that write sets (coordinator, worker, pipeline driver, the operator's CLI): a leaked API or shard
 * server credential cannot replace the index files that shard servers load.
 */
const writeObjects = [...readObjects, `$O.${NAMES.objectBucket}.>`, `${API}.STREAM.PURGE.${OBJECT_STREAM}`, `${API}.STREAM.CREATE.${OBJECT_STREAM}`];

function inbox(role: NatsRole): string {
  return `${inboxPrefixOf(role)}.>`;
}

export function rolePermissions(role: NatsRole): NatsPermissions {
  const allKv = [NAMES.jobsBucket, NAMES.tasksBucket, NAMES.workersBucket];
  switch (role) {
    case 'admin':
      return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] }, allowResponses: true };
    case 'coordinator':
      return {
        publish: { allow: [`${API}.>`, '$KV.>', '$O.>', `$JS.FC.>`, NAMES.taskSubjects, NAMES.jobCancelledSubject] },
        subscribe: {
          allow: [NAMES.submitSubject, NAMES.controlSubject, NAMES.healthSubject, NAMES.taskFailedSubject, '$JS.EVENT.ADVISORY.>', inbox(role)],
        },
        allowResponses: true,
      };
    case 'worker':
      return {
        publish: {
          allow: [
            ...bind,
            `${API}.CONSUMER.MSG.NEXT.${NAMES.taskStream}.${NAMES.workerConsumer}`,
            `$JS.ACK.${NAMES.taskStream}.${NAMES.workerConsumer}.>`,
            ...readKv(NAMES.jobsBucket),
            ...readKv(NAMES.tasksBucket),
            ...writeKv(NAMES.tasksBucket),
            ...readKv(NAMES.workersBucket),
            ...writeKv(NAMES.workersBucket),
            ...writeObjects,
            NAMES.progressAll,
            NAMES.taskFailedSubject,
          ],
        },
        subscribe: { allow: [NAMES.jobCancelledSubject, inbox(role)] },
      };
    case 'shard-server':
      return {
        publish: { allow: [...bind, ...readObjects] },
        subscribe: { allow: [`${SEARCH_SUBJECTS} ${SHARD_QUEUE_GROUP}`, HEDGE_SUBJECTS, SERVERS_SUBJECT, inbox(role)] },
        allowResponses: true,
      };
    case 'api':
      return {
        publish: { allow: [...bind, ...allKv.flatMap(readKv), ...readObjects, SEARCH_SUBJECTS, SERVERS_SUBJECT, NAMES.controlSubject, NAMES.healthSubject] },
        // Workers' progress messages: the dashboard's live rows per shard.
        subscribe: { allow: [NAMES.progressAll, inbox(role)] },
      };
    case 'cli':
      return {
        publish: {
          allow: [...bind, ...allKv.flatMap(readKv), ...writeObjects, SEARCH_SUBJECTS, NAMES.submitSubject, NAMES.controlSubject, NAMES.healthSubject],
        },
        subscribe: { allow: [NAMES.progressAll, inbox(role)] },
      };
    case 'pipeline':
      return {
        publish: {
          allow: [...bind, ...allKv.flatMap(readKv), ...writeObjects, SEARCH_SUBJECTS, NAMES.submitSubject, NAMES.controlSubject, NAMES.healthSubject],
        },
        subscribe: { allow: [`${SEARCH_SUBJECTS} ${SHARD_QUEUE_GROUP}`, HEDGE_SUBJECTS, SERVERS_SUBJECT, NAMES.progressAll, inbox(role)] },
        allowResponses: true,
      };
  }
}

/** Whether a NATS subject pattern (`*` one token, `>` the rest) matches a subject, as nats-server reads permissions. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/** Whether `role`'s permissions let it publish to `subject`. */
export function canPublish(role: NatsRole, subject: string): boolean {
  return (rolePermissions(role).publish.allow ?? []).some((pattern) => subjectMatches(pattern, subject));
}

/** The server side of a bundle made for every role. */
export function clusterServerSecurity(bundle: SecurityBundle): ServerSecurity {
  const users: NatsUser[] = NATS_ROLES.map((role) => {
    const nkey = bundle.publicKeys[role];
    if (!nkey) throw new Error(`security bundle ${bundle.dir} has no key for role ${role}`);
    return { nkey, permissions: rolePermissions(role) };
  });
  return { tls: { certFile: bundle.certFile, keyFile: bundle.keyFile, caFile: bundle.caFile }, users, routes: routeCredentials(bundle) };
}
