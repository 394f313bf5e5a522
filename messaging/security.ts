import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credsAuthenticator, nkeyAuthenticator, nkeys, type ConnectionOptions } from 'nats';
import { MessagingError } from './errors.js';

/*
 * NATS security material: a private CA and a server certificate made with
 * Debian's `openssl`, one nkey per user (the server's config holds only
 * public keys; each process holds its own seed, mode 0600), the server's
 * `tls` and `authorization` blocks, and the client side of the same.
 */

/** One subject list per direction; `deny` wins over `allow`, as in nats-server. */
export interface SubjectRules {
  allow?: string[];
  deny?: string[];
}

export interface NatsPermissions {
  publish: SubjectRules;
  subscribe: SubjectRules;
  /** May publish to the reply subject of a request it received (a responder). */
  allowResponses?: boolean;
}

export interface NatsUser {
  /** Public nkey (U…). */
  nkey: string;
  permissions: NatsPermissions;
}

/** Server side: TLS on the client port and the users allowed in. Anyone else is refused. */
export interface ServerSecurity {
  tls: { certFile: string; keyFile: string; caFile: string };
  users: NatsUser[];
  /**
   * Cluster routes: the credentials a route must present (and this server presents to its peers).
   * Routes also use mutual TLS with `tls` (the same CA): a server without the password, or with a
   * certificate from another CA, cannot join and bypass the users' permissions.
   */
  routes?: RouteCredentials;
}

export interface RouteCredentials {
  user: string;
  password: string;
}

/** Client side, from config: at most one of user/password, nkey seed or creds file, and TLS. */
export interface ClientSecurity {
  user?: string | null;
  password?: string | null;
  nkeySeedFile?: string | null;
  credsFile?: string | null;
  tls?: { caFile?: string | null; certFile?: string | null; keyFile?: string | null } | null;
  /** Reply subjects of this client (its permissions allow only these). @defaultValue '_INBOX' */
  inboxPrefix?: string | null;
}

/** What `createSecurityBundle` writes into its folder. */
export interface SecurityBundle {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Seed file of each user, by name. */
  seedFiles: Record<string, string>;
  /** Public nkey of each user, by name. */
  publicKeys: Record<string, string>;
  /** The cluster routes' password (mode 0600); the route user is `route`. */
  routeSecretFile: string;
}

/** The route credentials of a bundle. */
export function routeCredentials(bundle: SecurityBundle): RouteCredentials {
  return { user: 'route', password: readFileSync(bundle.routeSecretFile, 'utf8').trim() };
}

const SECRET_MODE = 0o600;

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new MessagingError(`openssl ${args[0]} failed: ${stderr || (err as Error).message} (install the Debian package openssl)`, { cause: err });
  }
}

/** Whether a certificate may also authenticate a client (extendedKeyUsage clientAuth), as a route's must. */
function isClientCertificate(certFile: string, cwd: string): boolean {
  try {
    const text = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-ext', 'extendedKeyUsage'], {
      cwd,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    return text.includes('TLS Web Client Authentication');
  } catch {
    return false;
  }
}

function writeSecret(path: string, data: string | Uint8Array): void {
  writeFileSync(path, data, { mode: SECRET_MODE });
  chmodSync(path, SECRET_MODE);
}

/**
 * Creates (or completes) a bundle in `dir`: CA, a server certificate for
 * `hosts` (IPs and DNS names), and one nkey per user name. Existing files are
 * kept, so a cluster restarted on the same folder keeps its identities; the
 * server certificate is remade (under the same CA) when `hosts` changed.
 */
export function createSecurityBundle(dir: string, options: { hosts: string[]; users: readonly string[] }): SecurityBundle {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca-key.pem');
  const certFile = join(dir, 'server-cert.pem');
  const keyFile = join(dir, 'server-key.pem');
  if (!existsSync(caFile) || !existsSync(caKey)) {
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        caKey,
        '-out',
        caFile,
        '-days',
        '3650',
        '-subj',
        '/CN=sci-cluster CA',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    chmodSync(caKey, SECRET_MODE);
    rmSync(certFile, { force: true });
  }
  // The certificate is remade when the host list changed (CA and nkeys stay): clients keep trusting it.
  const hostsFile = join(dir, 'server-hosts.json');
  const hosts = JSON.stringify([...options.hosts].sort());
  if (existsSync(hostsFile) && readFileSync(hostsFile, 'utf8') !== hosts) rmSync(certFile, { force: true });
  // Certificates made before routes used mutual TLS are server-only: a route presenting one is refused, so they are remade.
  if (existsSync(certFile) && !isClientCertificate(certFile, dir)) rmSync(certFile, { force: true });
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    const san = options.hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
    const csr = join(dir, 'server.csr');
    const ext = join(dir, 'server.ext');
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', '/CN=sci-nats'], dir);
    chmodSync(keyFile, SECRET_MODE);
    writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n`);
    openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '825', '-extfile', ext], dir);
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
    writeFileSync(hostsFile, hosts);
  }
  const seedFiles: Record<string, string> = {};
  const publicKeys: Record<string, string> = {};
  for (const user of options.users) {
    const seedFile = join(dir, `${user}.nk`);
    if (!existsSync(seedFile)) writeSecret(seedFile, `${new TextDecoder().decode(nkeys.createUser().getSeed())}\n`);
    seedFiles[user] = seedFile;
    publicKeys[user] = nkeys.fromSeed(new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim())).getPublicKey();
  }
  const routeSecretFile = join(dir, 'route.secret');
  if (!existsSync(routeSecretFile)) writeSecret(routeSecretFile, `${randomBytes(24).toString('hex')}\n`);
  return { dir, caFile, certFile, keyFile, seedFiles, publicKeys, routeSecretFile };
}

function renderRules(rules: SubjectRules): string {
  const parts: string[] = [];
  if (rules.allow) parts.push(`allow: ${JSON.stringify(rules.allow)}`);
  if (rules.deny) parts.push(`deny: ${JSON.stringify(rules.deny)}`);
  return `{ ${parts.join(', ')} }`;
}

/**
 * The `cluster` block's TLS and authorization: mutual TLS under the clients' CA (`verify`: a route
 * must present a certificate that CA signed) and the route user's password.
 */
export function renderRouteSecurity(tls: ServerSecurity['tls'], routes: RouteCredentials): string {
  return [
    `tls { cert_file: ${JSON.stringify(tls.certFile)}, key_file: ${JSON.stringify(tls.keyFile)}, ca_file: ${JSON.stringify(tls.caFile)}, verify: true, timeout: 2 }`,
    `authorization { user: ${JSON.stringify(routes.user)}, password: ${JSON.stringify(routes.password)}, timeout: 2 }`,
  ].join('\n');
}

/** A `cluster` block's `routes` line: each peer (`host:port`) as a route URL, with the route credentials when there are any. */
export function renderRoutes(peers: readonly string[], credentials?: RouteCredentials): string {
  const userInfo = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@` : '';
  return `routes: [${peers.map((peer) => JSON.stringify(`nats-route://${userInfo}${peer}`)).join(', ')}]`;
}

/** A `cluster` block's routes (with the route password) and its route security: what `sci cluster secrets` puts in routes.conf. */
export function renderRoutesConf(tls: ServerSecurity['tls'], routes: RouteCredentials, peers: readonly string[]): string {
  return [renderRoutes(peers, routes), renderRouteSecurity(tls, routes)].join('\n');
}

/** The `tls` and `authorization` blocks of a nats-server config. */
export function renderServerSecurity(security: ServerSecurity): string {
  const users = security.users.map((u) => {
    const p = u.permissions;
    const perms = [`publish: ${renderRules(p.publish)}`, `subscribe: ${renderRules(p.subscribe)}`, ...(p.allowResponses ? ['allow_responses: true'] : [])];
    return `    { nkey: ${JSON.stringify(u.nkey)}, permissions: { ${perms.join(', ')} } }`;
  });
  const t = security.tls;
  return [
    `tls { cert_file: ${JSON.stringify(t.certFile)}, key_file: ${JSON.stringify(t.keyFile)}, ca_file: ${JSON.stringify(t.caFile)}, timeout: 2 }`,
    'authorization {',
    '  timeout: 2',
    '  users = [',
    users.join(',\n'),
    '  ]',
    '}',
  ].join('\n');
}

function readSecretFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new MessagingError(`cannot read the NATS ${what} ${path}: ${(err as Error).message}`, { file: path, cause: err, retryable: false });
  }
}

/** nats.js connection options for a client's credentials and TLS. */
export function clientSecurityOptions(security: ClientSecurity | undefined): Partial<ConnectionOptions> {
  if (!security) return {};
  const out: Partial<ConnectionOptions> = {};
  const ways = [security.user ? 'user' : null, security.nkeySeedFile ? 'nkeySeedFile' : null, security.credsFile ? 'credsFile' : null].filter(Boolean);
  if (ways.length > 1)
    throw new MessagingError(`NATS credentials: give only one of user/password, nkeySeedFile, credsFile (got ${ways.join(', ')})`, {
      field: 'nats',
      retryable: false,
    });
  if (security.user) {
    out.user = security.user;
    out.pass = security.password ?? '';
  } else if (security.nkeySeedFile) {
    const seed = new TextDecoder().decode(readSecretFile(security.nkeySeedFile, 'nkey seed file')).trim();
    out.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  } else if (security.credsFile) {
    out.authenticator = credsAuthenticator(readSecretFile(security.credsFile, 'creds file'));
  }
  const tls = security.tls;
  if (tls && (tls.caFile || tls.certFile || tls.keyFile)) {
    out.tls = {
      ...(tls.caFile ? { caFile: tls.caFile } : {}),
      ...(tls.certFile ? { certFile: tls.certFile } : {}),
      ...(tls.keyFile ? { keyFile: tls.keyFile } : {}),
    };
  }
  if (security.inboxPrefix) out.inboxPrefix = security.inboxPrefix;
  return out;
}
