import { connect, type NatsConnection } from 'nats';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessagingError } from './errors.js';
import { clientSecurityOptions, type ClientSecurity } from './security.js';

export interface ConnectOptions {
  servers: string[];
  /** Shown in the server's connection list. */
  name: string;
  /** Give up connecting after this long. @defaultValue 15000 */
  timeoutMs?: number;
  /** Credentials and TLS; none = a plain, anonymous connection. */
  security?: ClientSecurity;
}

/** Errors no retry can mend: wrong or missing credentials, an untrusted or missing certificate. */
function isRefusal(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    e?.code === 'AUTHORIZATION_VIOLATION' ||
    e?.code === 'AUTHENTICATION_EXPIRED' ||
    /authorization violation|certificate|tls required|server does not support tls|secure connection/i.test(e?.message ?? '')
  );
}

/**
 * A connection that reconnects forever: workers and the coordinator outlive
 * nats-server restarts and node failures (the client buffers while away).
 */
export const PING_INTERVAL_MS = 5000;
export const MAX_PINGS_OUT = 3;

export async function connectNats(options: ConnectOptions): Promise<NatsConnection> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const security = clientSecurityOptions(options.security);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await connect({
        servers: options.servers,
        name: options.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        waitOnFirstConnect: false,
        timeout: 2000,
        // A server on a host that dropped off the network sends no RST: the connection looks alive until
        // pings go unanswered. nats.js's default (every 2 min, 2 missed) leaves a process talking to the
        // void for 4+ minutes; every 5 s with 3 missed finds it within ~20 s and reconnects elsewhere.
        pingInterval: PING_INTERVAL_MS,
        maxPingOut: MAX_PINGS_OUT,
        ...security,
      });
    } catch (err) {
      if (isRefusal(err)) {
        throw new MessagingError(`NATS at ${options.servers.join(', ')} refused the connection: ${(err as Error).message}`, { cause: err, retryable: false });
      }
      last = err;
      await sleep(200);
    }
  }
  throw new MessagingError(`cannot connect to NATS at ${options.servers.join(', ')}: ${(last as Error)?.message}`, { cause: last });
}

/** Retries a JetStream call that fails while a cluster elects leaders or a server restarts. */
export async function retrying<T>(what: string, call: () => Promise<T>, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last: unknown;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await call();
    } catch (err) {
      // Ours and marked final (a missing stream, refused credentials): waiting will not mend it.
      if ((err as { retryable?: unknown })?.retryable === false) throw err;
      last = err;
      await sleep(Math.min(1000, 100 * 2 ** Math.min(attempt, 4)));
    }
  }
  throw new MessagingError(`${what} failed: ${(last as Error)?.message}`, { cause: last });
}

/** Rejects when `promise` has not settled within `ms`: no wait on the network may hang a process. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MessagingError(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
