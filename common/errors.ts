/**
 * Base of every error sci-cluster throws on purpose. Each area has its own
 * `errors.ts` with subclasses; callers branch on `code`, `retryable` and
 * `status`, never on message text.
 */
export interface SciClusterErrorOptions extends ErrorOptions {
  /** File the problem was found in, when there is one. */
  file?: string;
  /** 1-based line (or record index for non-line formats) inside `file`. */
  line?: number;
  /** Dotted path of the offending field (`workers.pool.threads`, `_id`). */
  field?: string;
  /** Overrides the class's own: may the same work succeed when tried again? */
  retryable?: boolean;
  /** Overrides the class's own HTTP status (gRPC maps the same). */
  status?: number;
}

/** What a subclass says about all its errors unless one says otherwise. */
export interface ErrorTraits {
  /** Trying the same work again may succeed (I/O, a lost connection, a busy server). */
  retryable: boolean;
  /** The HTTP status an API answers with: 4xx the caller's fault, 5xx ours. */
  status: number;
}

export class SciClusterError extends Error {
  readonly code: string;
  readonly file: string | null;
  readonly line: number | null;
  readonly field: string | null;
  readonly retryable: boolean;
  readonly status: number;

  constructor(code: string, message: string, options: SciClusterErrorOptions = {}, traits: ErrorTraits = { retryable: false, status: 500 }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.file = options.file ?? null;
    this.line = options.line ?? null;
    this.field = options.field ?? null;
    this.retryable = options.retryable ?? traits.retryable;
    this.status = options.status ?? traits.status;
  }
}

/** An argument a person typed is wrong; the CLI prints it without a stack. */
export class UsageError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('USAGE', message, options, { retryable: false, status: 400 });
  }
}

/** Work stopped because its deadline passed or its caller cancelled it. */
export class CancelledError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions & { expired?: boolean } = {}) {
    super(options.expired ? 'DEADLINE_EXCEEDED' : 'CANCELLED', message, options, { retryable: false, status: options.expired ? 504 : 499 });
  }
}

/**
 * Whether `err` is a cancellation: a CancelledError here, or one that crossed a boundary and was
 * wrapped on the way (a pool thread's comes back as a task error with a CANCELLED cause). The whole
 * cause chain is read: one wrapper more must not turn a stop into a task failure.
 */
export function isCancellation(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof CancelledError || (e instanceof SciClusterError && e.code === 'CANCELLED')) return true;
  }
  return false;
}

/** A value crossed a boundary (NATS message, manifest, model card, request) without matching its contract. */
export class ContractError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('CONTRACT_VIOLATION', message, options, { retryable: false, status: 400 });
  }
}

/** The portable shape of an error that crosses a thread or process boundary. */
export interface ErrorWire {
  code: string;
  message: string;
  retryable: boolean;
  status: number;
  field?: string;
}

export function toErrorWire(err: unknown): ErrorWire {
  if (err instanceof SciClusterError)
    return { code: err.code, message: err.message, retryable: err.retryable, status: err.status, ...(err.field ? { field: err.field } : {}) };
  // Not ours: an unexpected failure. Retryable, since nothing says the input is at fault.
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err), retryable: true, status: 500 };
}

/** Rebuilds a typed error on the receiving side of a boundary (class identity does not cross it). */
export function fromErrorWire(wire: ErrorWire, options: ErrorOptions = {}): SciClusterError {
  return new SciClusterError(wire.code, wire.message, {
    ...options,
    retryable: wire.retryable,
    status: wire.status,
    ...(wire.field ? { field: wire.field } : {}),
  });
}

/**
 * An error's message with where it was found (`file:line: `) in front, unless the message names the
 * file already: for the records a person reads (a failed task's error), where the fields do not travel.
 */
export function messageWithLocation(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof SciClusterError) || !err.file || message.includes(err.file)) return message;
  return `${err.file}${err.line ? `:${err.line}` : ''}: ${message}`;
}
