import { z } from 'zod';
import { API_REQUEST_LIMITS } from '../common/index.js';

/*
 * The one configuration schema. Every section is strict (unknown keys are
 * errors) and carries its own defaults, so `{}` resolves to a working config.
 * Sections for later stages are added here, never parsed ad hoc elsewhere.
 */

const positiveInt = () =>
  z.number({ error: 'expected a positive integer' }).int({ error: 'expected a positive integer' }).positive({ error: 'expected a positive integer' });

const nullableFile = () => z.string().min(1).nullable().default(null);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const LogSchema = z
  .strictObject({
    /** pino level. @defaultValue 'info' */
    level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    /** Pretty output; null = only when stderr is a terminal. @defaultValue null */
    pretty: z.boolean({ error: 'expected true or false' }).nullable().default(null),
  })
  .prefault({});

export const IngestSchema = z
  .strictObject({
    /** Rows per Arrow shard when neither --shards nor --rows-per-shard is given. @defaultValue 100000 */
    rowsPerShard: positiveInt().default(100_000),
    /** Rows per Arrow record batch inside a shard file (bounds memory). @defaultValue 8192 */
    batchRows: positiveInt().default(8192),
    /** Input lines longer than this are rejected unread (bounds memory). @defaultValue 4 MiB */
    maxLineBytes: positiveInt().default(4 * 1024 * 1024),
    /** Characters of a rejected line kept in the reject log. @defaultValue 200 */
    excerptChars: positiveInt().default(200),
    /** Any rejected row fails the ingest. @defaultValue false */
    strict: z.boolean({ error: 'expected true or false' }).default(false),
  })
  .prefault({});

export const WordnetSchema = z
  .strictObject({
    /** Fraction of synsets whose usage examples are training queries. @defaultValue 0.8 */
    trainFraction: z.number().gt(0).lt(1).default(0.8),
    /** Fraction of synsets whose usage examples are dev queries; the rest are test. @defaultValue 0.1 */
    devFraction: z.number().gt(0).lt(1).default(0.1),
  })
  .superRefine((value, ctx) => {
    if (value.trainFraction + value.devFraction >= 1) {
      ctx.addIssue({ code: 'custom', path: ['devFraction'], message: 'trainFraction + devFraction must be below 1 (the rest is test)' });
    }
  })
  .prefault({});

export const WorkersSchema = z
  .strictObject({
    pool: z
      .strictObject({
        /** Worker threads per worker process. @defaultValue 1 */
        threads: positiveInt().default(1),
      })
      .prefault({}),
    /** How model folders are run for inference (encode tasks, the mine job's queries, the API's query encoder). */
    encoder: z
      .strictObject({
        /** auto: ONNX Runtime where it loads and the folder allows (checkpoints, model.onnx), else tfjs. @defaultValue auto */
        engine: z.enum(['auto', 'onnx', 'tfjs']).default('auto'),
        /** ONNX Runtime intra-op threads per pool thread: the cores one model may use. @defaultValue 1 */
        threads: positiveInt().default(1),
        /** auto: CUDA where an NVIDIA device is present and its provider loads, else CPU. @defaultValue auto */
        provider: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
      })
      .prefault({}),
  })
  .prefault({});

export const NatsSchema = z
  .strictObject({
    /** NATS URLs; empty = the local cluster started by `sci cluster up` (its cluster.json). @defaultValue [] */
    servers: z.array(z.string().min(1)).default([]),
    /** Replicas of streams and buckets (3 on a 3-node NATS cluster). @defaultValue 1 */
    replicas: positiveInt().default(1),
    /** A task neither acked nor heartbeating for this long is redelivered. @defaultValue 30000 */
    ackWaitMs: positiveInt().default(30_000),
    /** Deliveries of a task before it fails its job. @defaultValue 5 */
    maxDeliver: positiveInt().default(5),
    /** User name (with `password`); give at most one of user, nkeySeedFile, credsFile. @defaultValue null */
    user: nullableFile(),
    /** Password of `user` (a secret: `sci config print` masks it). @defaultValue null */
    password: z.string().min(1).nullable().default(null),
    /** File holding this process's nkey seed (SU…), mode 0600. @defaultValue null */
    nkeySeedFile: nullableFile(),
    /** A `.creds` file (JWT + seed) for operator-mode NATS deployments. @defaultValue null */
    credsFile: nullableFile(),
    tls: z
      .strictObject({
        /** CA that signed the server's certificate; set = the connection requires TLS. @defaultValue null */
        caFile: nullableFile(),
        /** Client certificate, where the server verifies clients (mutual TLS). @defaultValue null */
        certFile: nullableFile(),
        /** Key of `certFile`. @defaultValue null */
        keyFile: nullableFile(),
      })
      .prefault({}),
  })
  .refine((n) => [n.user, n.nkeySeedFile, n.credsFile].filter((v) => v !== null).length <= 1, {
    message: 'give only one of user, nkeySeedFile, credsFile',
    path: ['user'],
  })
  .refine((n) => (n.user === null) === (n.password === null), { message: 'user and password go together', path: ['password'] })
  .refine((n) => (n.tls.certFile === null) === (n.tls.keyFile === null), { message: 'tls.certFile and tls.keyFile go together', path: ['tls', 'keyFile'] })
  .prefault({});

export const ClusterSchema = z
  .strictObject({
    /** Folder of the local cluster (`sci cluster up`): NATS store, logs, cluster.json. @defaultValue '.sci/cluster' */
    dir: z.string().min(1).default('.sci/cluster'),
    /** Worker processes `sci cluster up` starts. @defaultValue 2 */
    workers: positiveInt().default(2),
    /** `sci cluster up` makes a CA, a server certificate and one nkey per role, and starts nats-server with TLS and per-role permissions; false = plain and open (debugging only). @defaultValue true */
    secure: z.boolean({ error: 'expected true or false' }).default(true),
    /** Names and addresses the server certificate is valid for. @defaultValue ['127.0.0.1', 'localhost'] */
    hosts: z.array(z.string().min(1)).min(1).default(['127.0.0.1', 'localhost']),
  })
  .prefault({});

export const StorageSchema = z
  .strictObject({
    /** Where shard and index files live. @defaultValue 'fs' */
    kind: z.enum(['fs', 'nats-object-store'], { error: "expected 'fs' or 'nats-object-store'" }).default('fs'),
    /** fs storage: every key resolves inside this folder (relative keys under it; absolute keys only when they lie in it; never through '..' or a symlink out). @defaultValue '.' */
    root: z.string().min(1).default('.'),
    /** nats-object-store: this host's copies of the objects its processes read (keyed by digest, checked on download). */
    cache: z
      .strictObject({
        /** Cache folder, one per host (not shared); null = `<tmpdir>/sci-object-cache`. @defaultValue null */
        dir: z.string().min(1).nullable().default(null),
        /** Size cap in bytes: after each download the least recently used copies go (those used in the last 5 minutes stay). @defaultValue 10 GiB */
        maxBytes: positiveInt().default(10 * 2 ** 30),
      })
      .prefault({}),
  })
  .prefault({});

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const ApiSchema = z
  .strictObject({
    /** Address the REST and gRPC fronts bind; anything but loopback requires a token. @defaultValue '127.0.0.1' */
    host: z.string().min(1).default('127.0.0.1'),
    /** REST/JSON port (0 = any free port). @defaultValue 8080 */
    port: z.number().int().min(0).max(65535).default(8080),
    /** gRPC port (0 = any free port). @defaultValue 50051 */
    grpcPort: z.number().int().min(0).max(65535).default(50051),
    /** Bearer token every call must carry; null = no auth (loopback only). @defaultValue null */
    token: z.string().min(16, { error: 'expected a token of at least 16 characters' }).nullable().default(null),
    /** Largest request body / gRPC message in bytes. @defaultValue 1 MiB */
    maxRequestBytes: positiveInt().default(1 << 20),
    /** Largest k a search may ask for, at most the shard servers' 10,000 (common/limits.ts). @defaultValue 1000 */
    maxK: positiveInt().max(API_REQUEST_LIMITS.maxK).default(1000),
    /** Most queries (or texts) in one request, at most the shard servers' 4,096 (common/limits.ts). @defaultValue 256 */
    maxQueries: positiveInt().max(API_REQUEST_LIMITS.maxQueries).default(256),
    /** Scatter-gather deadline when a request names none, ms. @defaultValue 2000 */
    deadlineMs: positiveInt().default(2000),
    /**
     * Admission control of searches and encodes: at most `running` at once and `waiting` queued; one more is
     * answered 503 RESOURCE_EXHAUSTED with Retry-After (gRPC RESOURCE_EXHAUSTED). @defaultValue { running: 32, waiting: 64 }
     */
    admission: z.strictObject({ running: positiveInt().default(32), waiting: z.number().int().min(0).default(64) }).prefault({}),
    /**
     * Hedged requests: a shard that has not answered after this percentile of its recent answer times gets the
     * request again on every replica, and the first answer wins (for shards served by more than one process).
     * null = off. @defaultValue null
     */
    hedge: z
      .strictObject({
        /** @defaultValue 95 */
        percentile: z.number().gt(0).max(100).default(95),
        /** Answers seen from a shard before it is hedged. @defaultValue 20 */
        minSamples: positiveInt().default(20),
        /** Answer times kept per shard. @defaultValue 256 */
        window: positiveInt().default(256),
      })
      .nullable()
      .default(null),
    /** TLS for both fronts (HTTPS and gRPC over TLS): PEM certificate (chain) and key files; null = plain. @defaultValue null */
    tls: z
      .strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) })
      .nullable()
      .default(null),
    /** A folder whose evaluation reports (every report.html below it) the dashboard links to and the API serves; null = none. @defaultValue null */
    reports: z.string().min(1).nullable().default(null),
  })
  .refine((api) => api.token !== null || LOOPBACK.has(api.host), { message: 'binding a non-loopback address needs api.token (bearer auth)', path: ['token'] })
  .prefault({});

export const MetricsSchema = z
  .strictObject({
    /** Address of the /metrics endpoint of the coordinator, a worker or a shard server (the API serves /metrics on its REST port). @defaultValue '127.0.0.1' */
    host: z.string().min(1).default('127.0.0.1'),
    /** Port of this process's /metrics endpoint (0 = any free port, logged); null = no endpoint. `sci cluster up` gives each process one. @defaultValue null */
    port: z.number().int().min(0).max(65535).nullable().default(null),
  })
  .prefault({});

export const ConfigSchema = z.strictObject({
  log: LogSchema,
  ingest: IngestSchema,
  wordnet: WordnetSchema,
  workers: WorkersSchema,
  nats: NatsSchema,
  cluster: ClusterSchema,
  storage: StorageSchema,
  api: ApiSchema,
  metrics: MetricsSchema,
});

export type Config = z.infer<typeof ConfigSchema>;
export type IngestConfig = Config['ingest'];
