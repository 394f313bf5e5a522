import { randomUUID } from 'node:crypto';
import { SciClusterError } from '../common/index.js';

/** An API failure with its HTTP status (gRPC maps the same codes). */
export class ApiError extends SciClusterError {
  /** Set on errors the caller cannot act on: the log line with the details carries the same id. */
  readonly requestId: string | null;

  constructor(status: number, code: string, message: string, field?: string, requestId?: string) {
    super(code, message, field ? { field } : {}, { retryable: status >= 500, status });
    this.requestId = requestId ?? null;
  }
}

/** A request body that breaks its schema (400 BAD_REQUEST), in the shape parseContract builds errors with. */
export class BadRequestError extends ApiError {
  constructor(message: string, options: { field?: string } = {}) {
    super(400, 'BAD_REQUEST', message, options.field);
  }
}

/**
 * The API's answer for any error thrown while answering, decided by the
 * error's own `status` and `code`. Errors that are not ours (a bug, a
 * library's failure) answer 500 with a generic message and a request id;
 * `logDetails` gets the original so the log has what the answer hides.
 */
export function toApiError(err: unknown, logDetails: (err: unknown, requestId: string) => void = () => {}): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof SciClusterError && err.status < 500) return new ApiError(err.status, err.code, err.message, err.field ?? undefined);
  const requestId = randomUUID();
  logDetails(err, requestId);
  if (err instanceof SciClusterError)
    return new ApiError(err.status, err.code, `the service could not answer (${err.code}); request id ${requestId}`, undefined, requestId);
  return new ApiError(500, 'INTERNAL', `internal error; request id ${requestId}`, undefined, requestId);
}
